// SPDX-License-Identifier: Apache-2.0
// 700: attacks on token handling (issue 20 items 1-4 and the logout-token
// rules), each done the way an attacker does it, asserting what the
// attacker must not get.
//  - login CSRF through token login's one-time code: the attacker gets a
//    code for their own ID token (no Origin: curl) and sends the victim's
//    browser to it (a link, an <img>): the code works only in the browser
//    that asked for it (binding cookie), and not from another site.
//  - one ID token, many sessions: 16 parallel POSTs of one ID token make
//    exactly one session (shm here, Redis across two hosts below).
//  - ECDSA twin signatures: an ES256 ID token, and an ES256 logout token,
//    replayed with (r, n - s) instead of (r, s) are still replays.
//  - token-type confusion: a logout token or an RFC 9068 access token at
//    token login, a logout token as a bearer token.
//  - logout tokens without jti (refused), without exp (Glewlwyd 2.7.5:
//    accepted within 5 minutes + leeway of iat, and used once).
//  - exp far in the future: the used-once marker still holds.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, defaultUsers, protectedLocation, SESSION_COOKIE, sessionCookiesSet,
} from '../lib/index.mjs';
import {
  codeFlow, decodeJwt, withSpaCallback, spaCallback, jsonOf, signJwtAtIdp, bearerGet, apiLocation,
} from '../lib/tokens.mjs';
import {
  startHosts, logoutClaims, signAtIdp, postLogoutToken,
} from '../lib/cluster.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';

// The https site's certificate is a throwaway self-signed one for 127.0.0.1.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
process.removeAllListeners('warning');

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const SPA = 'https://spa.example';
const ALICE_SUB = 'alice-sub-0001';
const BINDER = `${SESSION_COOKIE}_code`;
// order of the P-256 group (SEC 2)
const P256_N = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');

/** The same ES256 JWS with its twin signature (r, n - s): verifies too. */
function es256Twin(token) {
  const [h, p, sig] = token.split('.');
  const raw = Buffer.from(sig, 'base64url');
  assert.equal(raw.length, 64, 'an ES256 signature is r || s, 32 bytes each');
  const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  const twin = (P256_N - s).toString(16).padStart(64, '0');
  const out = Buffer.concat([raw.subarray(0, 32), Buffer.from(twin, 'hex')]);
  assert.notEqual(out.toString('base64url'), sig, 'the twin differs');
  return `${h}.${p}.${out.toString('base64url')}`;
}

const post = (base, browser, form, headers = {}) => browser.request(`${base}/fedauth/authenticate`, {
  method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams(form).toString(),
});

/** A JSON refusal: status, error code, no-store, no session cookie. */
function assertRefused(r, status, codes, msg = '') {
  assert.equal(r.status, status, `${msg}\n${dump(r)}`);
  const j = jsonOf(r);
  const list = Array.isArray(codes) ? codes : [codes];
  assert.ok(list.includes(j.error), `${msg}: error ${JSON.stringify(j)} not one of ${list.join(', ')}`);
  assert.match(r.headers.get('cache-control') || '', /no-store/, msg);
  assert.deepEqual(sessionCookiesSet(r.setCookies), [], `${msg}: no session cookie`);
}

/** 16 parallel POSTs of one ID token; the statuses and error codes. */
async function race(bases, token, n = 16) {
  const browsers = Array.from({ length: n }, () => new Browser());
  const rs = await Promise.all(browsers.map((b, i) => post(bases[i % bases.length], b, {
    id_token: token.id_token, nonce: token.nonce,
  })));
  const ok = rs.filter((r) => r.status === 200);
  const refused = rs.filter((r) => r.status !== 200);
  return { rs, ok, refused, browsers };
}

describe('token attacks (shm store, one host)', () => {
  let site;
  let base;
  let idp;

  before(async () => {
    site = await startSite({
      // the ES256 provider has an IdP (issuer) of its own: token login
      // picks the provider by the token's issuer
      idps: [
        { name: 'default', users: defaultUsers(), providers: [{ id: 'test', clientExtra: withSpaCallback }] },
        { name: 'ec', users: defaultUsers(), providers: [{ id: 'ec', alg: 'ES256', clientExtra: withSpaCallback }] },
      ],
      serverConf: `FedAuthTokenLogin On\nFedAuthAllowedOrigin ${SPA}\n`,
      locationsConf: protectedLocation() + apiLocation('api', { providers: 'test' }),
    });
    base = site.base;
    idp = site.idps.default;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const idToken = (id = 'test') => codeFlow(site.idps[id === 'ec' ? 'ec' : 'default'], site.clients[id], { redirectUri: spaCallback(site.clients[id]) });
  const codeUrl = (code, rt = '/protected/env.cgi') => `${base}/fedauth/authenticate?code=${encodeURIComponent(code)}&return_to=${encodeURIComponent(rt)}`;
  async function assertNoSession(b, who) {
    const s = await b.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 401, `${who} has no session: ${dump(s)}`);
    const p = await b.getOnce(`${base}/protected/env.cgi`);
    assert.equal(p.status, 302, `${who} is sent to sign in: ${dump(p)}`);
  }

  // ---- 1. login CSRF through the code

  it('login CSRF: the attacker\'s code (asked for without Origin) sent to the victim\'s browser as a link from another site -> 403, the victim is not signed in as the attacker', async () => {
    const attacker = new Browser();
    const t = await idToken();
    const c = await post(base, attacker, { id_token: t.id_token, nonce: t.nonce, want: 'code' });
    assert.equal(c.status, 200, dump(c));
    const { code } = jsonOf(c);
    const victim = new Browser();
    // a top-level navigation from the attacker's page: cross-site, no Origin
    const r = await victim.getOnce(codeUrl(code), {
      headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', Referer: 'https://evil.example/' },
    });
    assertRefused(r, 403, 'origin_not_allowed', 'cross-site navigation');
    await assertNoSession(victim, 'the victim');
    assert.ok(site.errorLog().includes('FA00232'), 'the refusal is logged under its own tag');
  });

  it('login CSRF: the attacker\'s code in the victim\'s browser without fetch metadata (an <img>, an older browser) -> 403 code_wrong_browser, the code is spent', async () => {
    const attacker = new Browser();
    const t = await idToken();
    const { code } = jsonOf(await post(base, attacker, { id_token: t.id_token, nonce: t.nonce, want: 'code' }));
    assert.ok(code);
    const victim = new Browser();
    assertRefused(await victim.getOnce(codeUrl(code)), 403, 'code_wrong_browser', 'no binding cookie');
    await assertNoSession(victim, 'the victim');
    // spent: not even the attacker's own browser can use it now
    assertRefused(await attacker.getOnce(codeUrl(code)), 400, 'invalid_code', 'spent code');
    assert.ok(site.errorLog().includes('FA00233'), 'logged under its own tag');
  });

  it('login CSRF: a victim that holds a binding cookie of its own gets no session from the attacker\'s code (the binding is per code)', async () => {
    const victim = new Browser();
    const mine = await idToken();
    const own = jsonOf(await post(base, victim, { id_token: mine.id_token, nonce: mine.nonce, want: 'code' }));
    assert.ok(own.code);
    const attacker = new Browser();
    const t = await idToken();
    const { code } = jsonOf(await post(base, attacker, { id_token: t.id_token, nonce: t.nonce, want: 'code' }));
    assertRefused(await victim.getOnce(codeUrl(code)), 403, 'code_wrong_browser', 'someone else\'s binding');
    await assertNoSession(victim, 'the victim');
    // the victim's own code still works for the victim
    const r = await victim.getOnce(codeUrl(own.code));
    assert.equal(r.status, 302, dump(r));
    assert.equal(sessionCookiesSet(r.setCookies).length, 1);
    assert.ok(r.setCookies.some((x) => x.name === BINDER && (x.value === '' || x.attrs['max-age'] === '0')), 'the binding cookie is cleared');
  });

  it('a code of an allowed origin\'s page on another site: exchanged by that browser, sent from that page (Sec-Fetch-Site: cross-site, Referer of the allowed origin) -> 302 and a session; a look-alike Referer -> 403', async () => {
    const b = new Browser();
    const t = await idToken();
    const c = await post(base, b, { id_token: t.id_token, nonce: t.nonce, want: 'code' }, { Origin: SPA });
    assert.equal(c.status, 200, dump(c));
    assert.equal(c.headers.get('access-control-allow-origin'), SPA);
    const bind = c.setCookies.find((x) => x.name === BINDER);
    assert.ok(bind, `binding cookie: ${c.headers.get('set-cookie')}`);
    // over http a SameSite=None cookie would be dropped (it needs Secure): Lax
    assert.equal(bind.attrs.samesite, 'Lax', 'http: Lax');
    const { code } = jsonOf(c);
    const look = await b.getOnce(codeUrl(code), { headers: { 'Sec-Fetch-Site': 'cross-site', Referer: `${SPA}.evil.example/app` } });
    assertRefused(look, 403, 'origin_not_allowed', 'look-alike Referer');
    const t2 = await idToken();
    const c2 = jsonOf(await post(base, b, { id_token: t2.id_token, nonce: t2.nonce, want: 'code' }, { Origin: SPA }));
    const r = await b.getOnce(codeUrl(c2.code), { headers: { 'Sec-Fetch-Site': 'cross-site', Referer: `${SPA}/app/` } });
    assert.equal(r.status, 302, dump(r));
    const p = await b.getOnce(`${base}/protected/env.cgi`);
    assert.equal(p.status, 200, dump(p));
    assert.equal(parseEnv(p.body).REMOTE_USER, 'alice');
  });

  it('a code exchange with an Origin that is not allowed -> 403 origin_not_allowed', async () => {
    const b = new Browser();
    const t = await idToken();
    const { code } = jsonOf(await post(base, b, { id_token: t.id_token, nonce: t.nonce, want: 'code' }));
    assertRefused(await b.getOnce(codeUrl(code), { headers: { Origin: 'https://evil.example' } }), 403, 'origin_not_allowed');
    await assertNoSession(b, 'the browser');
  });

  // ---- 2. one ID token, one session

  it('16 parallel POSTs of one ID token (shm), 5 tokens: each exactly one session, 15 x 401 token_replayed', async () => {
    for (let round = 0; round < 5; round++) {
      const t = await idToken();
      const { ok, refused } = await race([base], t);
      assert.equal(ok.length, 1, `round ${round}: one sign-in, ${ok.length} succeeded`);
      assert.equal(refused.length, 15);
      for (const r of refused) assertRefused(r, 401, 'token_replayed', 'a losing POST');
      assert.equal(sessionCookiesSet(ok[0].setCookies).length, 1);
    }
  });

  // ---- 3. ECDSA twin signatures

  it('an ES256 ID token: its twin signature signs in once, the original after it is a replay (401 token_replayed)', async () => {
    const t = await idToken('ec');
    assert.equal(decodeJwt(t.id_token).header.alg, 'ES256');
    const twin = es256Twin(t.id_token);
    const b1 = new Browser();
    const r1 = await post(base, b1, { id_token: twin, nonce: t.nonce });
    assert.equal(r1.status, 200, `the twin verifies: ${dump(r1)}`);
    assert.equal(jsonOf(r1).idp, 'ec');
    const b2 = new Browser();
    assertRefused(await post(base, b2, { id_token: t.id_token, nonce: t.nonce }), 401, 'token_replayed', 'original after twin');
    await assertNoSession(b2, 'the replaying client');
  });

  it('an ES256 ID token used once: replayed with the twin signature -> 401 token_replayed', async () => {
    const t = await idToken('ec');
    assert.equal((await post(base, new Browser(), { id_token: t.id_token, nonce: t.nonce })).status, 200);
    const b = new Browser();
    assertRefused(await post(base, b, { id_token: es256Twin(t.id_token), nonce: t.nonce }), 401, 'token_replayed', 'twin after original');
    await assertNoSession(b, 'the replaying client');
  });

  it('an ES256 logout token replayed with its twin signature -> 400, and the session made after it survives', async () => {
    const cid = site.clients.ec.client_id;
    const ecIdp = site.idps.ec;
    const lt = await signAtIdp(ecIdp, cid, logoutClaims(ecIdp, cid, { sub: ALICE_SUB }), { alg: 'ES256' });
    assert.equal(decodeJwt(lt).header.alg, 'ES256');
    const r = await postLogoutToken(base, 'ec', lt);
    assert.equal(r.status, 200, r.body);
    // alice signs in again after the logout
    const b = new Browser();
    const t = await idToken('ec');
    assert.equal((await post(base, b, { id_token: t.id_token, nonce: t.nonce })).status, 200);
    const again = await postLogoutToken(base, 'ec', es256Twin(lt));
    assert.equal(again.status, 400, again.body);
    assert.equal(again.json?.error, 'invalid_request');
    assert.equal((await b.getOnce(`${base}/fedauth/session`)).status, 200, 'the new session is not ended by the replay');
  });

  // ---- 4. token-type confusion

  it('a logout token (typ logout+jwt, events, aud = client id) at token login -> 401 invalid_token, no session', async () => {
    const cid = site.clients.test.client_id;
    for (const header of [{}, { typ: 'JWT' }]) {
      const lt = await signAtIdp(idp, cid, logoutClaims(idp, cid, { sub: ALICE_SUB }), header);
      const b = new Browser();
      assertRefused(await post(base, b, { id_token: lt }), 401, 'invalid_token', `logout token, header ${JSON.stringify(header)}`);
      assertRefused(await post(base, b, { id_token: lt, want: 'code' }), 401, 'invalid_token', 'want=code');
      await assertNoSession(b, 'the client');
    }
  });

  it('an RFC 9068 access token (typ at+jwt, aud = client id) at token login -> 401 invalid_token, no session', async () => {
    const cid = site.clients.test.client_id;
    const now = Math.floor(Date.now() / 1000);
    const at = await signJwtAtIdp(idp, cid, {
      iss: idp.issuer, aud: cid, sub: ALICE_SUB, client_id: 'some-app', iat: now, exp: now + 300, jti: `at-${now}`, scope: 'openid',
    }, { typ: 'at+jwt' });
    const b = new Browser();
    assertRefused(await post(base, b, { id_token: at }), 401, 'invalid_token', 'at+jwt');
    await assertNoSession(b, 'the client');
  });

  it('a logout token as a bearer token at a location with the default audience -> 401 invalid_token, no user', async () => {
    const cid = site.clients.test.client_id;
    for (const header of [{}, { typ: 'JWT' }]) {
      const lt = await signAtIdp(idp, cid, logoutClaims(idp, cid, { sub: ALICE_SUB }), header);
      const r = await bearerGet(`${base}/p/api/env.cgi`, lt);
      assert.equal(r.status, 401, `header ${JSON.stringify(header)}: ${dump(r)}`);
      assert.match(r.headers.get('www-authenticate') || '', /error="invalid_token"/);
      assert.doesNotMatch(r.body, /REMOTE_USER=/);
    }
  });

  // ---- logout-token rules

  it('a logout token without jti -> 400, nothing ends', async () => {
    const b = new Browser();
    const t = await idToken();
    assert.equal((await post(base, b, { id_token: t.id_token, nonce: t.nonce })).status, 200);
    const cid = site.clients.test.client_id;
    const lt = await signAtIdp(idp, cid, logoutClaims(idp, cid, { sub: ALICE_SUB, jti: undefined }));
    assert.equal(decodeJwt(lt).payload.jti, undefined);
    for (let i = 0; i < 2; i++) {
      const r = await postLogoutToken(base, 'test', lt);
      assert.equal(r.status, 400, r.body);
      assert.equal(r.json?.error, 'invalid_request');
    }
    assert.equal((await b.getOnce(`${base}/fedauth/session`)).status, 200, 'alice is still signed in');
  });

  it('a logout token without exp (Glewlwyd 2.7.5), iat now: 200 and alice\'s session ends; the same token again -> 400', async () => {
    const b = new Browser();
    const t = await idToken();
    assert.equal((await post(base, b, { id_token: t.id_token, nonce: t.nonce })).status, 200);
    const cid = site.clients.test.client_id;
    const lt = await signAtIdp(idp, cid, logoutClaims(idp, cid, { sub: ALICE_SUB, exp: undefined }), { typ: 'JWT' });
    assert.equal(decodeJwt(lt).payload.exp, undefined);
    const r = await postLogoutToken(base, 'test', lt);
    assert.equal(r.status, 200, r.body);
    assert.equal((await b.getOnce(`${base}/fedauth/session`)).status, 401, 'the session ended');
    // alice signs in again; the replay must not end that session
    const b2 = new Browser();
    const t2 = await idToken();
    assert.equal((await post(base, b2, { id_token: t2.id_token, nonce: t2.nonce })).status, 200);
    const again = await postLogoutToken(base, 'test', lt);
    assert.equal(again.status, 400, again.body);
    assert.equal((await b2.getOnce(`${base}/fedauth/session`)).status, 200, 'the new session survives the replay');
  });

  it('a logout token without exp issued more than 5 minutes + leeway ago -> 400, nothing ends', async () => {
    const b = new Browser();
    const t = await idToken();
    assert.equal((await post(base, b, { id_token: t.id_token, nonce: t.nonce })).status, 200);
    const cid = site.clients.test.client_id;
    const old = Math.floor(Date.now() / 1000) - 300 - 60 - 5;
    const lt = await signAtIdp(idp, cid, logoutClaims(idp, cid, { sub: ALICE_SUB, exp: undefined, iat: old }));
    const r = await postLogoutToken(base, 'test', lt);
    assert.equal(r.status, 400, r.body);
    assert.match(site.errorLog(), /FA00210[^\n]*token_expired/);
    assert.equal((await b.getOnce(`${base}/fedauth/session`)).status, 200, 'alice is still signed in');
  });

  // ---- exp far in the future

  it('an ID token with exp 1e300 signs in once; the replay -> 401 token_replayed', async () => {
    const cid = site.clients.test.client_id;
    const now = Math.floor(Date.now() / 1000);
    const tok = await signAtIdp(idp, cid, {
      iss: idp.issuer, aud: cid, sub: ALICE_SUB, iat: now, exp: 1e300, email: 'alice@example.org',
    }, { typ: 'JWT' });
    assert.equal((await post(base, new Browser(), { id_token: tok })).status, 200);
    await new Promise((res) => { setTimeout(res, 1100); });
    const b = new Browser();
    assertRefused(await post(base, b, { id_token: tok }), 401, 'token_replayed', 'replay');
    await assertNoSession(b, 'the replaying client');
  });

  it('httpd stops cleanly; no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog().slice(-4000)}`);
  });
});

describe('token attacks (Redis shared by two hosts)', { skip: !redisAvailable() && 'redis-server not installed' }, () => {
  let redis;
  let c;

  before(async () => {
    redis = await startRedis();
    c = await startHosts({
      hosts: 2,
      storeConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/7\nFedAuthRedisTimeout 1`,
      serverConf: 'FedAuthTokenLogin On\n',
    });
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  const idToken = () => codeFlow(c.idp, c.clients.test);

  it('16 parallel POSTs of one ID token, 8 to each host: exactly one session, 15 x 401 token_replayed', async () => {
    const t = await idToken();
    const { ok, refused } = await race(c.bases, t);
    assert.equal(ok.length, 1, `one sign-in: ${ok.length} succeeded`);
    for (const r of refused) assertRefused(r, 401, 'token_replayed', 'a losing POST');
    assert.equal((await redis.keys(7, 'fedauth:s:*')).length, 1, 'one session in Redis');
  });

  it('a code asked for at A by the attacker, opened by the victim at B -> 403 code_wrong_browser', async () => {
    const [A, B] = c.bases;
    const t = await idToken();
    const { code } = jsonOf(await post(A, new Browser(), { id_token: t.id_token, nonce: t.nonce, want: 'code' }));
    assert.ok(code);
    const victim = new Browser();
    const r = await victim.getOnce(`${B}/fedauth/authenticate?code=${encodeURIComponent(code)}`);
    assertRefused(r, 403, 'code_wrong_browser');
    assert.equal((await victim.getOnce(`${B}/fedauth/session`)).status, 401);
  });

  it('an ID token with exp 2^62 signs in at A (the marker fits Redis); the replay at B -> 401 token_replayed', async () => {
    const cid = c.clients.test.client_id;
    const now = Math.floor(Date.now() / 1000);
    const tok = await signAtIdp(c.idp, cid, {
      iss: c.idp.issuer, aud: cid, sub: ALICE_SUB, iat: now, exp: 2 ** 62, email: 'alice@example.org',
    }, { typ: 'JWT' });
    const r = await post(c.bases[0], new Browser(), { id_token: tok });
    assert.equal(r.status, 200, dump(r));
    assertRefused(await post(c.bases[1], new Browser(), { id_token: tok }), 401, 'token_replayed', 'replay at B');
  });

  it('one logout token POSTed 16 times at once, 8 to each host: one 200, 15 x 400', async () => {
    const cid = c.clients.test.client_id;
    const lt = await signAtIdp(c.idp, cid, logoutClaims(c.idp, cid, { sub: 'nobody-sub' }));
    const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => postLogoutToken(c.bases[i % 2], 'test', lt)));
    const ok = rs.filter((r) => r.status === 200).length;
    assert.equal(ok, 1, `one accepted: ${rs.map((r) => r.status).join(',')}`);
    assert.ok(rs.every((r) => r.status === 200 || (r.status === 400 && r.json?.error === 'invalid_request')), rs.map((r) => r.body).join(' | '));
  });

  it('the hosts stop cleanly; no crash lines', async () => {
    await c.stop();
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs().slice(-4000)}`);
  });
});

describe('the code\'s binding cookie over https', () => {
  let site;

  before(async () => {
    site = await startSite({
      https: true,
      providers: [{ id: 'test', clientExtra: withSpaCallback }],
      serverConf: `FedAuthTokenLogin On\nFedAuthAllowedOrigin ${SPA}\n`,
    });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const idToken = () => codeFlow(site.idp, site.clients.test, { redirectUri: spaCallback(site.clients.test) });

  it('asked for by an allowed origin\'s page: SameSite=None; Secure; HttpOnly (it must come along from that site); the code then signs in that browser', async () => {
    const b = new Browser();
    const t = await idToken();
    const c = await post(site.base, b, { id_token: t.id_token, nonce: t.nonce, want: 'code' }, { Origin: SPA });
    assert.equal(c.status, 200, dump(c));
    const bind = c.setCookies.find((x) => x.name === BINDER);
    assert.ok(bind, c.headers.get('set-cookie'));
    assert.equal(bind.attrs.samesite, 'None');
    assert.equal(bind.attrs.secure, true);
    assert.equal(bind.attrs.httponly, true);
    const r = await b.getOnce(`${site.base}/fedauth/authenticate?code=${encodeURIComponent(jsonOf(c).code)}`, {
      headers: { 'Sec-Fetch-Site': 'cross-site', Referer: `${SPA}/` },
    });
    assert.equal(r.status, 302, dump(r));
    assert.equal(sessionCookiesSet(r.setCookies).length, 1);
  });

  it('asked for without Origin or by the site itself: SameSite=Lax; Secure', async () => {
    for (const headers of [{}, { Origin: site.base }]) {
      const t = await idToken();
      const c = await post(site.base, new Browser(), { id_token: t.id_token, nonce: t.nonce, want: 'code' }, headers);
      assert.equal(c.status, 200, dump(c));
      const bind = c.setCookies.find((x) => x.name === BINDER);
      assert.equal(bind?.attrs.samesite, 'Lax', `${JSON.stringify(headers)}: ${c.headers.get('set-cookie')}`);
      assert.equal(bind.attrs.secure, true);
    }
  });
});
