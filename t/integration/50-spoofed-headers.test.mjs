// SPDX-License-Identifier: Apache-2.0
// 6. A client-sent X-FedAuth-* header never reaches a CGI, on protected
// and unprotected URLs alike.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSite, Browser, parseEnv, dump } from '../lib/index.mjs';

const SPOOF = {
  'X-FedAuth-User': 'mallory',
  'X-FedAuth-Sub': 'mallory-sub',
  'X-FedAuth-IdP': 'evil',
  'X-FedAuth-Email': 'mallory@evil.example',
  'X-FedAuth-Roles': 'admin',
  'X-FedAuth-Made-Up': 'x',
  'x-fedauth-lowercase': 'y',
  'X-FEDAUTH-UPPER': 'z',
};

const fedauthHeaderVars = (env) => Object.keys(env).filter((k) => k.startsWith('HTTP_X_FEDAUTH_'));

describe('spoofed X-FedAuth-* request headers', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({ providers: [{ id: 'test' }] });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('unprotected CGI: none of the spoofed headers arrive', async () => {
    const r = await new Browser().getOnce(`${base}/cgi-bin/env.cgi`, { headers: SPOOF });
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.deepEqual(fedauthHeaderVars(env), [], r.body);
    assert.equal(env.REMOTE_USER, undefined, r.body);
  });

  it('unprotected static file request with spoofed headers is fine', async () => {
    const r = await new Browser().getOnce(`${base}/somewhere.html`, { headers: SPOOF });
    assert.equal(r.status, 200);
  });

  it('protected URL without a session and a spoofed user: still a redirect to the IdP', async () => {
    const r = await new Browser().getOnce(`${base}/protected/env.cgi`, { headers: SPOOF });
    assert.equal(r.status, 302, dump(r));
    assert.ok(r.location.startsWith(site.idp.issuer), r.location);
  });

  it('protected CGI after login: only the module\'s own values arrive', async () => {
    const b = new Browser();
    const l = await b.login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(l.status, 200, dump(l));
    const r = await b.getOnce(`${base}/protected/env.cgi`, { headers: SPOOF });
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'alice', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_USER, 'alice', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_SUB, 'alice-sub-0001', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_IDP, 'test', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_EMAIL, 'alice@example.org', r.body);
    assert.notEqual(env.HTTP_X_FEDAUTH_ROLES, 'admin', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_MADE_UP, undefined, r.body);
    assert.equal(env.HTTP_X_FEDAUTH_LOWERCASE, undefined, r.body);
    assert.equal(env.HTTP_X_FEDAUTH_UPPER, undefined, r.body);
    assert.ok(!r.body.includes('mallory'), r.body);
    assert.ok(!r.body.includes('evil'), r.body);
  });

  it('unprotected CGI with a session cookie and spoofed headers: nothing arrives', async () => {
    const b = new Browser();
    const l = await b.login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(l.status, 200, dump(l));
    const r = await b.getOnce(`${base}/cgi-bin/env.cgi`, { headers: SPOOF });
    const env = parseEnv(r.body);
    assert.ok(!r.body.includes('mallory'), r.body);
    assert.ok(fedauthHeaderVars(env).every((k) => !['mallory', 'mallory-sub', 'evil', 'admin', 'x', 'y', 'z'].includes(env[k])), r.body);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
