// SPDX-License-Identifier: Apache-2.0
// FedAuthUnauthenticated 401 | pass | auto (t/spec/issue6.md) for requests
// without a session, next to the default redirect; and FedAuthTokenLogin
// Off (the default): /fedauth/authenticate is not the module's (404).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, errorCodes, protectedLocation, assertToIdp, STATE_COOKIE_RE,
} from '../lib/index.mjs';
import { apiLocation } from '../lib/tokens.mjs';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('FedAuthUnauthenticated 401 / pass / auto', () => {
  let site;
  let base;
  let signedIn; // a Browser with a session

  before(async () => {
    site = await startSite({
      idps: [{ name: 'default', providers: [{ id: 'test' }] }],
      locationsConf: [
        protectedLocation(),
        apiLocation('u401', { bearer: false, unauth: 401 }),
        apiLocation('pass', { bearer: false, unauth: 'pass', require: 'Require all granted' }),
        apiLocation('passany', {
          bearer: false, unauth: 'pass', require: '<RequireAny>\n        Require valid-user\n        Require all granted\n    </RequireAny>',
        }),
        apiLocation('passvalid', { bearer: false, unauth: 'pass' }),
        apiLocation('auto', { bearer: false, unauth: 'auto' }),
        apiLocation('redirect', { bearer: false }),
      ].join('\n'),
    });
    base = site.base;
    signedIn = new Browser();
    const r = await signedIn.login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const noStateCookie = (r, msg = '') => assert.deepEqual(
    r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name) || c.name === 'fedauth_session').map((c) => c.name), [], `${msg} no state or session cookie`,
  );

  it('401: no session -> 401 with WWW-Authenticate, no redirect, no state cookie (for browsers too)', async () => {
    for (const headers of [{}, { Accept: BROWSER_ACCEPT }, { 'X-Requested-With': 'XMLHttpRequest' }]) {
      const r = await new Browser().getOnce(`${base}/p/u401/env.cgi`, { headers });
      assert.equal(r.status, 401, `${JSON.stringify(headers)}\n${dump(r)}`);
      assert.equal(r.location, undefined);
      assert.ok(r.headers.get('www-authenticate'), 'a WWW-Authenticate challenge');
      assert.ok(errorCodes(r.body).includes('no_session'), r.body.slice(0, 400));
      assert.doesNotMatch(r.body, /REMOTE_USER=/);
      noStateCookie(r);
    }
  });

  it('401: a session passes', async () => {
    const r = await signedIn.getOnce(`${base}/p/u401/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
  });

  it('pass with Require all granted: served with no user, no FEDAUTH_* and no client-sent X-FedAuth-*', async () => {
    const spoof = { 'X-FedAuth-User': 'mallory', 'X-FedAuth-Roles': 'admin', 'X-FedAuth-Sub': 'x', 'X-FedAuth-IdP': 'test' };
    for (const headers of [spoof, { ...spoof, Accept: BROWSER_ACCEPT }]) {
      const r = await new Browser().getOnce(`${base}/p/pass/env.cgi`, { headers });
      assert.equal(r.status, 200, dump(r));
      const env = parseEnv(r.body);
      assert.equal(env.REMOTE_USER, undefined, r.body);
      assert.deepEqual(Object.keys(env).filter((k) => k.startsWith('FEDAUTH_') || k.startsWith('HTTP_X_FEDAUTH_')), [], r.body);
      noStateCookie(r);
    }
  });

  it('pass with Require all granted and a session: the signed-in user is there, the spoofed header is not', async () => {
    const r = await signedIn.getOnce(`${base}/p/pass/env.cgi`, { headers: { 'X-FedAuth-User': 'mallory' } });
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'alice', r.body);
    assert.equal(env.FEDAUTH_USER, 'alice', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_USER, 'alice', r.body);
    assert.equal(env.AUTH_TYPE, 'FedAuth', r.body);
  });

  it('pass with <RequireAny> valid-user / all granted: served anonymously, no FEDAUTH_*', async () => {
    const r = await new Browser().getOnce(`${base}/p/passany/env.cgi`, { headers: { 'X-FedAuth-User': 'mallory', Accept: BROWSER_ACCEPT } });
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, undefined, r.body);
    assert.deepEqual(Object.keys(env).filter((k) => k.startsWith('FEDAUTH_') || k.startsWith('HTTP_X_FEDAUTH_')), [], r.body);
    noStateCookie(r);
  });

  it('pass with Require valid-user and no session: 401 no_session (no redirect, no state cookie)', async () => {
    const r = await new Browser().getOnce(`${base}/p/passvalid/env.cgi`, { headers: { Accept: BROWSER_ACCEPT, 'X-FedAuth-User': 'mallory' } });
    const logged = site.errorLog().split('\n').filter((l) => l.includes('/p/passvalid/') || /AH01796|AH00027/.test(l)).slice(-3).join('\n');
    assert.equal(r.status, 401, `${dump(r, 200)}\nerror log:\n${logged}`);
    assert.equal(r.location, undefined);
    assert.doesNotMatch(r.body, /REMOTE_USER=|mallory/);
    noStateCookie(r);
  });

  it('pass with Require valid-user and a session: the user is there', async () => {
    const r = await signedIn.getOnce(`${base}/p/passvalid/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    assert.equal(parseEnv(r.body).FEDAUTH_USER, 'alice');
  });

  it('auto: X-Requested-With: XMLHttpRequest -> 401, no redirect', async () => {
    for (const xrw of ['XMLHttpRequest', 'xmlhttprequest']) {
      const r = await new Browser().getOnce(`${base}/p/auto/env.cgi`, { headers: { 'X-Requested-With': xrw, Accept: '*/*' } });
      assert.equal(r.status, 401, `${xrw}\n${dump(r)}`);
      assert.equal(r.location, undefined);
      assert.ok(r.headers.get('www-authenticate'));
      assert.ok(errorCodes(r.body).includes('no_session'), r.body.slice(0, 400));
      noStateCookie(r);
    }
  });

  it('auto: Accept with application/json and not text/html -> 401', async () => {
    for (const accept of ['application/json', 'application/json, text/plain, */*', 'application/problem+json, application/json;q=0.9']) {
      const r = await new Browser().getOnce(`${base}/p/auto/env.cgi`, { headers: { Accept: accept } });
      assert.equal(r.status, 401, `Accept: ${accept}\n${dump(r)}`);
      assert.equal(r.location, undefined);
      noStateCookie(r);
    }
  });

  it('auto: a normal browser GET (and Accept naming both JSON and HTML) -> 302 to the IdP', async () => {
    for (const accept of [BROWSER_ACCEPT, 'application/json, text/html', undefined]) {
      const r = await new Browser().getOnce(`${base}/p/auto/env.cgi`, { headers: accept ? { Accept: accept } : {} });
      await assertToIdp(r, site, 'test', `Accept: ${accept}: `);
      assert.equal(r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name)).length, 1, 'a state cookie for the sign-in');
    }
  });

  it('auto: a POST without a session -> 401 (never a redirect)', async () => {
    const r = await new Browser().request(`${base}/p/auto/env.cgi`, {
      method: 'POST', headers: { Accept: BROWSER_ACCEPT, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1',
    });
    assert.equal(r.status, 401, dump(r));
    assert.equal(r.location, undefined);
  });

  it('auto: a session passes, also for XHR', async () => {
    const r = await signedIn.getOnce(`${base}/p/auto/env.cgi`, { headers: { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json' } });
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
  });

  it('redirect (default), for contrast: XHR and JSON requests are sent to the IdP too', async () => {
    const r = await new Browser().getOnce(`${base}/p/redirect/env.cgi`, { headers: { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json' } });
    await assertToIdp(r, site, 'test');
  });

  it('FedAuthTokenLogin Off (default): /fedauth/authenticate is 404 (GET and POST)', async () => {
    const g = await new Browser().getOnce(`${base}/fedauth/authenticate?code=abc&return_to=/protected/env.cgi`);
    assert.equal(g.status, 404, dump(g));
    assert.equal(g.setCookies.length, 0);
    const p = await new Browser().request(`${base}/fedauth/authenticate`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'id_token=a.b.c',
    });
    assert.equal(p.status, 404, dump(p));
    assert.equal(p.setCookies.length, 0);
    assert.doesNotMatch(p.body, /"error"/);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog().slice(-4000)}`);
  });
});
