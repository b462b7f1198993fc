// SPDX-License-Identifier: Apache-2.0
// issue3.md: Prompt and AcrValues of a provider, and login_hint /
// domain_hint given to /fedauth/login, appear in the authorization request
// the browser takes to the IdP; the IdP acts on prompt=login.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, errorCodes, assertToIdp, locationFor, USERS_A, ANNA, signOut,
} from '../lib/index.mjs';

describe('Prompt, AcrValues, login_hint, domain_hint', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({
      idps: [{
        name: 'A',
        users: USERS_A,
        providers: [
          { id: 'p', extra: 'Prompt login\nAcrValues "phr mfa"\n' },
          { id: 'q' },
          { id: 'r', extra: 'Prompt "login consent"\n' },
          { id: 'n', extra: 'Prompt none\n' },
        ],
      }],
      locationsConf: ['p', 'q', 'r', 'n'].map((id) => locationFor(`/p/${id}/`, [id])).join('\n'),
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const once = (q, k) => {
    assert.ok(q.getAll(k).length <= 1, `${k} at most once: ${q.getAll(k)}`);
    return q.get(k);
  };

  it('Prompt login + AcrValues "phr mfa": prompt=login and acr_values=phr mfa in the authorization request', async () => {
    for (const url of [`${base}/p/p/env.cgi`, `${base}/fedauth/login?idp=p&return_to=%2F`]) {
      const q = await assertToIdp(await new Browser().getOnce(url), site, 'p');
      assert.equal(once(q, 'prompt'), 'login', url);
      assert.equal(once(q, 'acr_values'), 'phr mfa', url);
    }
  });

  it('Prompt "login consent": prompt=login consent', async () => {
    const q = await assertToIdp(await new Browser().getOnce(`${base}/p/r/env.cgi`), site, 'r');
    assert.equal(once(q, 'prompt'), 'login consent');
    assert.equal(q.get('acr_values'), null);
  });

  it('without Prompt and AcrValues: neither parameter is sent', async () => {
    const q = await assertToIdp(await new Browser().getOnce(`${base}/p/q/env.cgi`), site, 'q');
    assert.equal(q.get('prompt'), null);
    assert.equal(q.get('acr_values'), null);
  });

  it('prompt=login makes the IdP ask again although the browser has an IdP session', async () => {
    const b = new Browser();
    const first = await b.login(`${base}/p/q/env.cgi`, ANNA.username, ANNA.password);
    assert.equal(first.status, 200, dump(first));
    assert.equal(first.loginFormSeen, true);
    // control: q again, the IdP session signs in without the form
    await signOut(b, `${base}/fedauth/logout`);
    const again = await b.login(`${base}/p/q/env.cgi`, ANNA.username, ANNA.password);
    assert.equal(again.status, 200, dump(again));
    assert.equal(again.loginFormSeen, false, 'IdP session reused without prompt');
    // p sends prompt=login: the form again, and the sign-in (with acr_values) works
    const p = await b.login(`${base}/p/p/env.cgi`, ANNA.username, ANNA.password);
    assert.equal(p.loginFormSeen, true, `prompt=login: the IdP showed its login form\n${dump(p)}`);
    assert.equal(p.status, 200, dump(p));
    assert.equal(p.url, `${base}/p/p/env.cgi`);
    const env = parseEnv(p.body);
    assert.equal(env.FEDAUTH_IDP, 'p');
    assert.equal(env.REMOTE_USER, 'anna');
  });

  it('Prompt none without an IdP session: the IdP answers login_required, httpd 401 idp_error', async () => {
    const r = await new Browser().get(`${base}/p/n/env.cgi`);
    const cb = r.hops.find((h) => h.url.startsWith(`${base}/signin-n?`));
    assert.ok(cb, dump(r));
    assert.equal(new URL(cb.url).searchParams.get('error'), 'login_required', cb.url);
    assert.equal(r.status, 401, dump(r));
    assert.ok(errorCodes(r.body).includes('idp_error'), dump(r));
  });

  it('login_hint and domain_hint from /fedauth/login are passed on', async () => {
    const hint = 'anna@A.example';
    const r = await new Browser().getOnce(`${base}/fedauth/login?idp=q&return_to=%2F&login_hint=${encodeURIComponent(hint)}&domain_hint=A.example`);
    const q = await assertToIdp(r, site, 'q');
    assert.equal(once(q, 'login_hint'), hint);
    assert.equal(once(q, 'domain_hint'), 'A.example');
  });

  it('a login_hint with spaces, <, > and + (printable ASCII) is passed on exactly', async () => {
    const hint = 'Anna Alpha <anna+x@A.example>';
    const r = await new Browser().getOnce(`${base}/fedauth/login?idp=p&return_to=%2F&login_hint=${encodeURIComponent(hint)}`);
    const q = await assertToIdp(r, site, 'p');
    assert.equal(once(q, 'login_hint'), hint);
    assert.equal(once(q, 'prompt'), 'login', 'the provider parameters are still there');
  });

  it('a login_hint of exactly 256 bytes is passed on', async () => {
    const hint = `${'x'.repeat(256 - '@A.example'.length)}@A.example`;
    assert.equal(Buffer.byteLength(hint), 256);
    const q = await assertToIdp(await new Browser().getOnce(`${base}/fedauth/login?idp=q&return_to=%2F&login_hint=${encodeURIComponent(hint)}`), site, 'q');
    assert.equal(q.get('login_hint'), hint);
  });

  for (const [what, value] of [
    ['257 bytes', 'y'.repeat(257)],
    ['a newline', 'anna\n@A.example'],
    ['a carriage return and a header', 'anna\r\nSet-Cookie: x=1'],
    ['a NUL', 'anna\u0000x'],
    ['a tab', 'anna\tx'],
  ]) {
    it(`login_hint / domain_hint with ${what}: not passed on`, async () => {
      for (const name of ['login_hint', 'domain_hint']) {
        const r = await new Browser().getOnce(`${base}/fedauth/login?idp=q&return_to=%2F&${name}=${encodeURIComponent(value)}`);
        assert.ok(r.status === 302 || (r.status >= 400 && r.status < 500), `${name}: ${dump(r)}`);
        if (r.status === 302) {
          const q = await assertToIdp(r, site, 'q');
          assert.notEqual(q.get(name), value, `${name} with ${what} must not reach the IdP: ${r.location}`);
          assert.ok(!q.get(name) || !/[\u0000-\u001f\u007f]/.test(q.get(name)), `${name}: no control characters`);
        }
        for (const h of r.setCookies) assert.doesNotMatch(h.header, /x=1/, 'no header injection');
      }
    });
  }

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
