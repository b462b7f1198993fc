// SPDX-License-Identifier: Apache-2.0
// Token login (t/spec/issue6.md, FedAuthTokenLogin On): a single-page or
// native app that ran the code flow itself (a node relying party with the
// provider's ClientID and its own redirect URI) POSTs the real ID token to
// /fedauth/authenticate: a session (JSON + cookie), or with want=code a
// one-time code that GET /fedauth/authenticate?code=... turns into the
// cookie. Refused: a missing or wrong nonce, a replayed ID token, a used or
// unknown code, garbage, an ID token of another client or another issuer,
// an expired or tampered ID token. Errors are JSON with Cache-Control:
// no-store.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, startIdp, Browser, parseEnv, dump, defaultUsers, protectedLocation, SESSION_COOKIE, sessionCookiesSet,
} from '../lib/index.mjs';
import {
  apiClient, clientCredentialsToken, codeFlow, decodeJwt, withSpaCallback, spaCallback, jsonOf,
} from '../lib/tokens.mjs';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('token login at /fedauth/authenticate (FedAuthTokenLogin On)', () => {
  let site;
  let base;
  let idp;
  let otherApp;
  let svc;

  before(async () => {
    otherApp = apiClient('other-app', { redirectUri: 'http://127.0.0.1:9/other-app/callback' });
    svc = apiClient('svc');
    site = await startSite({
      idps: [{
        name: 'default',
        users: defaultUsers(),
        clients: [otherApp, svc],
        idpConfig: { resourceServers: { 'api://orders': { scope: 'orders:read' } } },
        providers: [{ id: 'test', clientExtra: withSpaCallback, extra: 'GroupsClaim groups\nGroupMap staff staff-role\n' }],
      }],
      serverConf: 'FedAuthTokenLogin On\n',
      locationsConf: protectedLocation(),
    });
    base = site.base;
    idp = site.idps.default;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  /** A fresh ID token of provider test's client (the app's own code flow). */
  const idToken = async (opts = {}) => codeFlow(idp, site.clients.test, { redirectUri: spaCallback(site.clients.test), ...opts });
  const post = (browser, form, headers = {}) => browser.request(`${base}/fedauth/authenticate`, {
    method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams(form).toString(),
  });

  /** A JSON error: status, {error, error_description}, no-store, no session cookie. */
  function assertJsonError(r, status, codes, msg = '') {
    assert.equal(r.status, status, `${msg}\n${dump(r)}`);
    assert.match(r.headers.get('content-type') || '', /^application\/json/, msg);
    assert.match(r.headers.get('cache-control') || '', /no-store/, `${msg} Cache-Control: ${r.headers.get('cache-control')}`);
    const j = jsonOf(r);
    const list = Array.isArray(codes) ? codes : [codes];
    assert.ok(list.includes(j.error), `${msg} error ${JSON.stringify(j)} not one of ${list.join(', ')}`);
    assert.equal(typeof j.error_description, 'string', `${msg} error_description in ${r.body}`);
    assert.deepEqual(sessionCookiesSet(r.setCookies), [], `${msg} no session cookie`);
    return j;
  }

  let first; // { id_token, nonce } used once

  it('POST id_token + nonce: 200 JSON session and a session cookie that works on a protected page', async () => {
    first = await idToken();
    assert.ok(decodeJwt(first.id_token).payload.nonce, 'the ID token has a nonce');
    const b = new Browser();
    const r = await post(b, { id_token: first.id_token, nonce: first.nonce });
    assert.equal(r.status, 200, dump(r));
    assert.match(r.headers.get('content-type') || '', /^application\/json/);
    const j = jsonOf(r);
    assert.equal(j.user, 'alice');
    assert.equal(j.sub, 'alice-sub-0001');
    assert.equal(j.idp, 'test');
    assert.deepEqual(j.roles, ['staff-role']);
    assert.ok(j.attributes && typeof j.attributes === 'object' && !Array.isArray(j.attributes), r.body);
    assert.ok(Object.values(j.attributes).every((v) => typeof v === 'string'), r.body);
    const now = Date.now() / 1000;
    assert.ok(Number.isInteger(j.expires_at) && j.expires_at > now && j.expires_at <= now + 28800 + 60, `expires_at ${j.expires_at}`);
    const set = sessionCookiesSet(r.setCookies);
    assert.equal(set.length, 1, `one Set-Cookie ${SESSION_COOKIE}: ${r.headers.get('set-cookie')}`);
    assert.equal(set[0].attrs.httponly, true, 'HttpOnly');
    const p = await b.getOnce(`${base}/protected/env.cgi`);
    assert.equal(p.status, 200, dump(p));
    const env = parseEnv(p.body);
    assert.equal(env.REMOTE_USER, 'alice');
    assert.equal(env.FEDAUTH_IDP, 'test');
    assert.equal(env.FEDAUTH_ROLES, 'staff-role');
    const s = await b.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 200, dump(s));
    assert.equal(jsonOf(s).user, 'alice');
  });

  it('the same ID token again -> 401 token_replayed, no cookie', async () => {
    assert.ok(first, 'first sign-in ran');
    assertJsonError(await post(new Browser(), { id_token: first.id_token, nonce: first.nonce }), 401, 'token_replayed');
  });

  it('without the nonce, or with another nonce, when the token has one -> 401 wrong_nonce', async () => {
    const t = await idToken();
    assertJsonError(await post(new Browser(), { id_token: t.id_token }), 401, 'wrong_nonce', 'no nonce');
    assertJsonError(await post(new Browser(), { id_token: t.id_token, nonce: `${t.nonce}x` }), 401, 'wrong_nonce', 'other nonce');
    assertJsonError(await post(new Browser(), { id_token: t.id_token, nonce: '' }), 401, 'wrong_nonce', 'empty nonce');
  });

  let code;
  let codeBrowser;
  it('want=code: 200 {code, expires_in: 60}, no session cookie, a binding cookie fedauth_session_code (HttpOnly, 60 s)', async () => {
    const t = await idToken();
    const b = new Browser();
    codeBrowser = b;
    const r = await post(b, { id_token: t.id_token, nonce: t.nonce, want: 'code' });
    assert.equal(r.status, 200, dump(r));
    const j = jsonOf(r);
    assert.deepEqual(Object.keys(j).sort(), ['code', 'expires_in'], r.body);
    assert.equal(typeof j.code, 'string');
    assert.ok(j.code.length >= 16, `code ${j.code}`);
    assert.equal(j.expires_in, 60);
    assert.deepEqual(sessionCookiesSet(r.setCookies), [], 'no session cookie with want=code');
    const bind = r.setCookies.filter((c) => c.name === `${SESSION_COOKIE}_code`);
    assert.equal(bind.length, 1, `one binding cookie: ${r.headers.get('set-cookie')}`);
    assert.ok(bind[0].value.length >= 32, 'a random binding value');
    assert.equal(bind[0].attrs.httponly, true, 'HttpOnly');
    assert.equal(bind[0].attrs['max-age'], '60');
    assert.equal(bind[0].attrs.samesite, 'Lax', 'same origin: SameSite=Lax');
    const s = await b.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 401, 'no session in that client');
    code = j.code;
  });

  it('GET ?code=...&return_to=/protected/env.cgi in the browser that asked: 302 there with a session cookie that works', async () => {
    assert.ok(code, 'have a code');
    const b = codeBrowser;
    const r = await b.getOnce(`${base}/fedauth/authenticate?code=${encodeURIComponent(code)}&return_to=${encodeURIComponent('/protected/env.cgi')}`);
    assert.equal(r.status, 302, dump(r));
    const loc = new URL(r.location, base);
    assert.equal(loc.href, `${base}/protected/env.cgi`);
    assert.equal(sessionCookiesSet(r.setCookies).length, 1, `session cookie: ${r.headers.get('set-cookie')}`);
    const p = await b.get(loc.href);
    assert.equal(p.status, 200, dump(p));
    assert.equal(parseEnv(p.body).REMOTE_USER, 'alice');
  });

  it('the code a second time -> 400 invalid_code, no cookie', async () => {
    assert.ok(code);
    assertJsonError(await codeBrowser.getOnce(`${base}/fedauth/authenticate?code=${encodeURIComponent(code)}&return_to=/protected/env.cgi`), 400, 'invalid_code');
  });

  it('an unknown code -> 400 invalid_code', async () => {
    for (const c of ['not-a-code', 'A'.repeat(43), '']) {
      const r = await new Browser().getOnce(`${base}/fedauth/authenticate?code=${encodeURIComponent(c)}`);
      if (c === '') {
        assert.ok(r.status === 400, `empty code: ${r.status}`);
        continue;
      }
      assertJsonError(r, 400, 'invalid_code', `code ${c}`);
    }
  });

  it('the code flow without return_to goes to /, and a return_to to another site is refused (to /)', async () => {
    for (const [rt, want] of [[null, '/'], ['https://evil.example/x', '/'], ['//evil.example/x', '/']]) {
      const t = await idToken();
      const b = new Browser();
      const j = jsonOf(await post(b, { id_token: t.id_token, nonce: t.nonce, want: 'code' }));
      assert.ok(j.code, JSON.stringify(j));
      const url = `${base}/fedauth/authenticate?code=${encodeURIComponent(j.code)}${rt ? `&return_to=${encodeURIComponent(rt)}` : ''}`;
      const r = await b.getOnce(url);
      assert.equal(r.status, 302, dump(r));
      const loc = new URL(r.location, base);
      assert.equal(loc.origin, base, `return_to ${rt}: ${r.location}`);
      assert.equal(loc.pathname, want, `return_to ${rt}: ${r.location}`);
      assert.equal(sessionCookiesSet(r.setCookies).length, 1);
    }
  });

  it('garbage id_token -> 401 JSON error, no cookie', async () => {
    for (const g of ['garbage', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.AAAA']) {
      assertJsonError(await post(new Browser(), { id_token: g, nonce: 'x' }), 401, [
        'invalid_token', 'wrong_iss', 'invalid_signature', 'unsupported_alg', 'unknown_key',
      ], `id_token ${g}`);
    }
  });

  it('an ID token of another client of the same IdP (aud = other-app) -> 401 wrong_aud / wrong_iss', async () => {
    const t = await codeFlow(idp, otherApp, { redirectUri: otherApp.redirect_uris[0] });
    assert.equal(decodeJwt(t.id_token).payload.aud, 'other-app');
    assertJsonError(await post(new Browser(), { id_token: t.id_token, nonce: t.nonce }), 401, ['wrong_aud', 'wrong_iss']);
  });

  it('an ID token of an IdP that is not a provider here (same client id) -> 401 wrong_iss', async () => {
    const stranger = await startIdp({ clients: [{ ...site.clients.test }], users: defaultUsers() });
    try {
      const t = await codeFlow(stranger, site.clients.test, { redirectUri: spaCallback(site.clients.test) });
      assert.equal(decodeJwt(t.id_token).payload.aud, site.clients.test.client_id);
      assertJsonError(await post(new Browser(), { id_token: t.id_token, nonce: t.nonce }), 401, 'wrong_iss');
    } finally {
      await stranger.stop();
      stranger.cleanup();
    }
  });

  it('an access token (at+jwt, aud api://orders) is no ID token -> 401', async () => {
    const at = await clientCredentialsToken(idp, svc, { resource: 'api://orders' });
    assertJsonError(await post(new Browser(), { id_token: at }), 401, ['wrong_aud', 'invalid_token']);
  });

  it('an expired or tampered ID token (the IdP misbehaves) -> 401 token_expired / invalid_signature', async () => {
    try {
      await idp.tamper('expired');
      const e = await idToken();
      assertJsonError(await post(new Browser(), { id_token: e.id_token, nonce: e.nonce }), 401, 'token_expired', 'expired');
      await idp.tamper('bad_signature');
      const s = await idToken();
      assertJsonError(await post(new Browser(), { id_token: s.id_token, nonce: s.nonce }), 401, 'invalid_signature', 'bad signature');
    } finally {
      await idp.tamper(null);
    }
  });

  it('a POST without an id_token, and a GET without a code, are refused with a JSON error', async () => {
    const r = await post(new Browser(), { nonce: 'x' });
    assert.ok(r.status === 400 || r.status === 401, dump(r));
    assert.equal(typeof jsonOf(r).error, 'string');
    assert.match(r.headers.get('cache-control') || '', /no-store/);
    const g = await new Browser().getOnce(`${base}/fedauth/authenticate`);
    assert.equal(g.status, 400, dump(g));
    assert.equal(typeof jsonOf(g).error, 'string');
  });

  it('httpd stops cleanly; the error log has no crash lines and no ID token', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    const log = site.errorLog();
    if (first) assert.ok(!log.includes(first.id_token.split('.')[2]), 'an ID token signature in the error log');
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${log.slice(-4000)}`);
  });
});
