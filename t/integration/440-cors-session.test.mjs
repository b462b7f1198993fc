// SPDX-License-Identifier: Apache-2.0
// CORS for /fedauth/authenticate and /fedauth/session (t/spec/issue6.md,
// FedAuthAllowedOrigin, repeatable): preflights, allowed and foreign
// origins, the site's own origin; and /fedauth/session's JSON (fields and
// types, 401 no_session, Cache-Control: no-store).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, defaultUsers, protectedLocation, sessionCookiesSet,
} from '../lib/index.mjs';
import { codeFlow, withSpaCallback, spaCallback, jsonOf } from '../lib/tokens.mjs';

const SPA = 'https://spa.example';
const SPA2 = 'http://localhost:5173';
const EVIL = 'https://evil.example';
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('CORS (FedAuthAllowedOrigin) and /fedauth/session', () => {
  let site;
  let base;
  let idp;

  before(async () => {
    site = await startSite({
      idps: [{
        name: 'default',
        users: defaultUsers(),
        providers: [{ id: 'test', clientExtra: withSpaCallback, extra: 'GroupsClaim groups\nGroupMap staff staff-role\nGroupMap wonderland-admins admin\n' }],
      }],
      serverConf: `FedAuthTokenLogin On\nFedAuthAllowedOrigin ${SPA}\nFedAuthAllowedOrigin ${SPA2}\n`,
      locationsConf: protectedLocation(),
    });
    base = site.base;
    idp = site.idps.default;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const idToken = () => codeFlow(idp, site.clients.test, { redirectUri: spaCallback(site.clients.test) });
  const post = (browser, form, headers = {}) => browser.request(`${base}/fedauth/authenticate`, {
    method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams(form).toString(),
  });
  const preflight = (origin, path = '/fedauth/authenticate') => new Browser().request(`${base}${path}`, {
    method: 'OPTIONS',
    headers: {
      Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type',
    },
  });
  const list = (v) => String(v || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

  /** The CORS grant for `origin`: ACAO = origin, credentials true, Vary has Origin. */
  function assertCors(r, origin, msg = '') {
    assert.equal(r.headers.get('access-control-allow-origin'), origin, `${msg} ACAO\n${dump(r)}`);
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true', `${msg} ACAC`);
    assert.ok(list(r.headers.get('vary')).includes('origin'), `${msg} Vary: ${r.headers.get('vary')}`);
  }
  function assertNoCors(r, msg = '') {
    assert.equal(r.headers.get('access-control-allow-origin'), null, `${msg} no ACAO\n${dump(r)}`);
    assert.equal(r.headers.get('access-control-allow-credentials'), null, `${msg} no ACAC`);
  }

  it('preflight from an allowed origin: 204 with Allow-Origin, -Credentials, -Methods GET, POST, -Headers Content-Type', async () => {
    for (const origin of [SPA, SPA2]) {
      const r = await preflight(origin);
      assert.equal(r.status, 204, `${origin}\n${dump(r)}`);
      assertCors(r, origin, origin);
      const methods = list(r.headers.get('access-control-allow-methods'));
      assert.ok(methods.includes('get') && methods.includes('post'), `methods ${r.headers.get('access-control-allow-methods')}`);
      assert.ok(list(r.headers.get('access-control-allow-headers')).includes('content-type'), `headers ${r.headers.get('access-control-allow-headers')}`);
      assert.equal(r.body, '');
      assert.equal(r.setCookies.length, 0);
    }
  });

  it('preflight from any other origin: 403, no Allow-Origin', async () => {
    for (const origin of [EVIL, `${SPA}.evil.example`, `${SPA}:8443`, 'http://spa.example', 'null']) {
      const r = await preflight(origin);
      assert.equal(r.status, 403, `${origin}\n${dump(r)}`);
      assertNoCors(r, origin);
    }
  });

  it('POST from an allowed origin: served, with Allow-Origin, credentials and Vary: Origin, and a session cookie', async () => {
    const t = await idToken();
    const b = new Browser();
    const r = await post(b, { id_token: t.id_token, nonce: t.nonce }, { Origin: SPA });
    assert.equal(r.status, 200, dump(r));
    assertCors(r, SPA);
    assert.equal(jsonOf(r).user, 'alice');
    assert.equal(sessionCookiesSet(r.setCookies).length, 1);
    const p = await b.getOnce(`${base}/protected/env.cgi`);
    assert.equal(parseEnv(p.body).REMOTE_USER, 'alice', dump(p));
  });

  it('an error answer to an allowed origin carries the CORS headers too (the app can read it)', async () => {
    const t = await idToken();
    const r = await post(new Browser(), { id_token: t.id_token, nonce: 'not-it' }, { Origin: SPA2 });
    assert.equal(r.status, 401, dump(r));
    assert.equal(jsonOf(r).error, 'wrong_nonce');
    assertCors(r, SPA2);
  });

  it('POST from a foreign origin: 403 {"error":"origin_not_allowed"}, no session cookie, no Allow-Origin', async () => {
    const t = await idToken();
    for (const origin of [EVIL, 'null', `${SPA}.evil.example`]) {
      const b = new Browser();
      const r = await post(b, { id_token: t.id_token, nonce: t.nonce }, { Origin: origin });
      assert.equal(r.status, 403, `${origin}\n${dump(r)}`);
      assert.equal(jsonOf(r).error, 'origin_not_allowed', r.body);
      assert.match(r.headers.get('cache-control') || '', /no-store/);
      assert.deepEqual(sessionCookiesSet(r.setCookies), [], `${origin}: no session cookie`);
      assertNoCors(r, origin);
      const s = await b.getOnce(`${base}/fedauth/session`);
      assert.equal(s.status, 401, `${origin}: no session`);
    }
    // want=code from a foreign origin: no code either
    const c = await post(new Browser(), { id_token: t.id_token, nonce: t.nonce, want: 'code' }, { Origin: EVIL });
    assert.equal(c.status, 403, dump(c));
    assert.equal(jsonOf(c).code, undefined);
  });

  it('POST with the site\'s own origin: served', async () => {
    const t = await idToken();
    const b = new Browser();
    const r = await post(b, { id_token: t.id_token, nonce: t.nonce }, { Origin: base });
    assert.equal(r.status, 200, dump(r));
    assert.equal(jsonOf(r).user, 'alice');
    assert.equal(sessionCookiesSet(r.setCookies).length, 1);
  });

  let signedIn;
  let login;
  it('/fedauth/session with a session: 200 JSON, fields and types, Cache-Control: no-store', async () => {
    const t = await idToken();
    signedIn = new Browser();
    const r = await post(signedIn, { id_token: t.id_token, nonce: t.nonce });
    assert.equal(r.status, 200, dump(r));
    login = jsonOf(r);
    const s = await signedIn.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 200, dump(s));
    assert.match(s.headers.get('content-type') || '', /^application\/json/);
    assert.match(s.headers.get('cache-control') || '', /no-store/);
    const j = jsonOf(s);
    assert.equal(j.user, 'alice');
    assert.equal(j.sub, 'alice-sub-0001');
    assert.equal(j.idp, 'test');
    assert.ok(Array.isArray(j.roles) && j.roles.every((x) => typeof x === 'string'), s.body);
    assert.deepEqual(j.roles, ['admin', 'staff-role']);
    assert.ok(j.attributes && typeof j.attributes === 'object' && !Array.isArray(j.attributes), s.body);
    assert.ok(Object.values(j.attributes).every((v) => typeof v === 'string'), s.body);
    assert.ok(Number.isInteger(j.expires_at), s.body);
    const now = Date.now() / 1000;
    assert.ok(j.expires_at > now && j.expires_at <= now + 28800 + 60, `expires_at ${j.expires_at}`);
    for (const k of ['user', 'sub', 'idp', 'roles', 'attributes']) {
      assert.deepEqual(j[k], login[k], `${k} as in the token login answer`);
    }
    assert.ok(Math.abs(j.expires_at - login.expires_at) <= 5, `expires_at ${j.expires_at} vs ${login.expires_at}`);
  });

  it('/fedauth/session without a session: 401 {"error":"no_session"}, Cache-Control: no-store', async () => {
    const s = await new Browser().getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 401, dump(s));
    assert.match(s.headers.get('content-type') || '', /^application\/json/);
    assert.match(s.headers.get('cache-control') || '', /no-store/);
    assert.deepEqual(jsonOf(s), { error: 'no_session' });
  });

  it('/fedauth/session from an allowed origin: Allow-Origin, credentials, Vary (with and without a session)', async () => {
    assert.ok(signedIn);
    const s = await signedIn.getOnce(`${base}/fedauth/session`, { headers: { Origin: SPA } });
    assert.equal(s.status, 200, dump(s));
    assertCors(s, SPA);
    assert.equal(jsonOf(s).user, 'alice');
    const n = await new Browser().getOnce(`${base}/fedauth/session`, { headers: { Origin: SPA2 } });
    assert.equal(n.status, 401, dump(n));
    assertCors(n, SPA2, 'no session');
  });

  it('/fedauth/session from a foreign origin: no Allow-Origin, no credentials grant', async () => {
    const s = await signedIn.getOnce(`${base}/fedauth/session`, { headers: { Origin: EVIL } });
    assertNoCors(s);
    assert.match(s.headers.get('cache-control') || '', /no-store/);
    const n = await new Browser().getOnce(`${base}/fedauth/session`, { headers: { Origin: EVIL } });
    assertNoCors(n);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog().slice(-4000)}`);
  });
});
