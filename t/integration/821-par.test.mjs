// SPDX-License-Identifier: Apache-2.0
// Pushed authorization requests (RFC 9126, issue 22): PushedAuthorization
// On|Off|Auto against oidc-provider's PAR endpoint (/request). On: the
// sign-in's parameters are POSTed to the IdP with the client's
// authentication and the browser carries only client_id and request_uri;
// Auto (the default) pushes only when discovery says
// require_pushed_authorization_requests (a second IdP with that policy,
// t/idp/par.mjs), where Off fails at the IdP; the IdP refusing the push
// (400 with an OAuth error): 401 idp_error; answering 500: 502
// idp_bad_response; On without a PAR endpoint in discovery: 502
// invalid_discovery; each with a log line and no session; metrics count
// the pushes; apache2 -t refuses a bad value naming the directive.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, errorCodes, perProviderLocations, writeHttpdConfig, configTest,
  removeDir, SESSION_COOKIE,
} from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { idpOverride, idpHits } from '../lib/hostile.mjs';

const IDS = ['on', 'auto', 'req', 'off', 'nopar'];

describe('pushed authorization requests (PushedAuthorization)', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({
      idps: [
        { name: 'a', providers: [{ id: 'on', extra: 'PushedAuthorization On\n' }, { id: 'auto' }] },
        { name: 'r', idpConfig: { par: { require: true } }, providers: [{ id: 'req' }, { id: 'off', extra: 'PushedAuthorization Off\n' }] },
        {
          name: 'n',
          providers: [{ id: 'nopar', extra: 'PushedAuthorization On\n' }],
          setup: (idp) => idp.admin('/_admin/discovery', { method: 'POST', body: { overrides: { pushed_authorization_request_endpoint: null } } }),
        },
      ],
      serverConf: `FedAuthMetrics On
<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
`,
      locationsConf: `${perProviderLocations(IDS)}<Location /fedauth/metrics>\n    Require ip 127.0.0.1\n</Location>\n`,
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const pushes = async (name) => (await idpHits(site.idps[name]))['/request'] || 0;
  const signIn = (id) => new Browser().login(`${base}/p/${id}/env.cgi`, 'alice', 'alice-pass-1');
  const toIdp = (res) => new URL(res.hops[0].location);

  it('the test IdPs: PAR offered by both, required by r only', async () => {
    const a = await (await fetch(`${site.idps.a.issuer}/.well-known/openid-configuration`)).json();
    const r = await (await fetch(`${site.idps.r.issuer}/.well-known/openid-configuration`)).json();
    assert.ok(a.pushed_authorization_request_endpoint);
    assert.notEqual(a.require_pushed_authorization_requests, true);
    assert.equal(r.require_pushed_authorization_requests, true);
  });

  it('On: the browser carries only client_id and request_uri; one push; signed in', async () => {
    const before = await pushes('a');
    const res = await signIn('on');
    assert.equal(res.status, 200, `${dump(res)}\n${site.errorLog().split('\n').filter((l) => /FA00201/.test(l)).join('\n')}`);
    assert.equal(parseEnv(res.body).REMOTE_USER, 'alice');
    const u = toIdp(res);
    assert.deepEqual([...u.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.equal(u.searchParams.get('client_id'), site.clients.on.client_id);
    assert.match(u.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:/);
    assert.equal(await pushes('a') - before, 1);
  });

  it('Auto (default) at an IdP that does not require PAR: the request in the URL, no push', async () => {
    const before = await pushes('a');
    const res = await signIn('auto');
    assert.equal(res.status, 200, dump(res));
    const u = toIdp(res);
    for (const k of ['scope', 'state', 'nonce', 'code_challenge', 'redirect_uri']) assert.ok(u.searchParams.get(k), k);
    assert.equal(await pushes('a') - before, 0);
  });

  it('Auto at an IdP that requires PAR: pushed, signed in', async () => {
    const res = await signIn('req');
    assert.equal(res.status, 200, dump(res));
    assert.equal(parseEnv(res.body).REMOTE_USER, 'alice');
    assert.deepEqual([...toIdp(res).searchParams.keys()].sort(), ['client_id', 'request_uri']);
  });

  it('Off at an IdP that requires PAR: the IdP refuses the sign-in (why Auto is the default)', async () => {
    const b = new Browser();
    const res = await b.get(`${base}/p/off/env.cgi`);
    assert.ok(res.hops.some((h) => h.url.startsWith(`${site.idps.r.issuer}/auth`)), 'went to the IdP');
    assert.ok(res.url.startsWith(`${base}/signin-off?error=invalid_request`), res.url);
    assert.equal(res.status, 401, dump(res));
    assert.deepEqual(errorCodes(res.body), ['idp_error']);
    assert.match(site.errorLog(), /Pushed Authorization Request must be used/);
    assert.equal(b.jar.get(SESSION_COOKIE), undefined);
  });

  it('the IdP refuses the push (400 invalid_request): 401 idp_error page, log line, no session, nothing sent to the browser', async () => {
    const idp = site.idps.a;
    await idpOverride(idp, '/request', {
      status: 400, body: JSON.stringify({ error: 'invalid_request', error_description: 'nope\r\nX-Injected: 1' }),
    });
    try {
      const b = new Browser();
      const res = await b.getOnce(`${base}/p/on/env.cgi`);
      assert.equal(res.status, 401, dump(res));
      assert.deepEqual(errorCodes(res.body), ['idp_error']);
      assert.equal(res.headers.get('location'), null);
      assert.match(site.errorLog(), /FA00201: sign-in through on refused: idp_error: pushed authorization request answered 400 error=invalid_request \(nope\?\?X-Injected: 1\)/);
      await idpOverride(idp, '/request', { status: 500, contentType: 'text/html', body: '<h1>down</h1>' });
      const r2 = await b.getOnce(`${base}/p/on/env.cgi`);
      assert.equal(r2.status, 502, dump(r2));
      assert.deepEqual(errorCodes(r2.body), ['idp_bad_response']);
      await idpOverride(idp, '/request', { status: 201, body: '{"request_uri":"javascript:alert(1) x"}' });
      const r3 = await b.getOnce(`${base}/p/on/env.cgi`);
      assert.equal(r3.status, 502, dump(r3));
      assert.equal(b.jar.get(SESSION_COOKIE), undefined);
    } finally {
      await idpOverride(idp, '/request', { body: null });
    }
    const res = await signIn('on');
    assert.equal(res.status, 200, 'back to normal');
  });

  it('On at a provider whose discovery names no PAR endpoint: 502 invalid_discovery', async () => {
    const res = await new Browser().getOnce(`${base}/p/nopar/env.cgi`);
    assert.equal(res.status, 502, dump(res));
    assert.deepEqual(errorCodes(res.body), ['invalid_discovery']);
    assert.match(site.errorLog(), /FA00201: sign-in through nopar refused: invalid_discovery: the provider's discovery names no usable pushed_authorization_request_endpoint/);
  });

  it('metrics: fedauth_par_requests_total by outcome', async () => {
    const r = await new Browser().getOnce(`${base}/fedauth/metrics`);
    assert.equal(r.status, 200, dump(r));
    const n = (o) => Number(new RegExp(`^fedauth_par_requests_total\\{outcome="${o}"\\} (\\d+)$`, 'm').exec(r.body)?.[1]);
    assert.ok(n('ok') >= 3, r.body);
    assert.ok(n('error') >= 4, r.body);
  });

  it('httpd stops cleanly', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, JSON.stringify(info));
    assert.deepEqual(site.troubles(), [], site.troubles().join('\n'));
  });
});

describe('PushedAuthorization: apache2 -t refuses bad values, naming the directive', () => {
  const dirs = [];
  after(() => { for (const d of dirs) removeDir(d); });
  for (const v of ['Maybe', 'yes', '1']) {
    it(`PushedAuthorization ${v}`, async () => {
      const { dir, confFile } = await writeHttpdConfig({
        providersConf: `FedAuthSecret "a long enough test passphrase for config tests"
<FedAuthProvider t>
    Issuer        https://idp.example
    ClientID      client-test
    ClientSecret  secret-test
    PushedAuthorization ${v}
</FedAuthProvider>`,
        locationsConf: '<Location /protected>\n    AuthType FedAuth\n    Require valid-user\n</Location>',
      });
      dirs.push(dir);
      const res = await configTest(confFile);
      const out = `${res.stdout}${res.stderr}`;
      assert.notEqual(res.code, 0, out);
      assert.match(out, /PushedAuthorization expects On, Off or Auto/, out);
      assert.match(out, /httpd\.conf/, out);
    });
  }
});
