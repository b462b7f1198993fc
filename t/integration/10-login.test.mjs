// SPDX-License-Identifier: Apache-2.0
// 1. Full login through the real IdP for each token endpoint auth method;
// 3. the redirect to the IdP carries every parameter; session cookie and
// state cookie attributes; user name rules; non-GET without a session.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  startSite, Browser, parseEnv, dump, discovery, STATE_COOKIE_RE, SESSION_COOKIE,
  isDeletion, sessionCookiesSet, REPO,
} from '../lib/index.mjs';

// The release configure.ac names (AC_INIT), which the start-up notice says.
const VERSION = fs.readFileSync(path.join(REPO, 'configure.ac'), 'utf8')
  .match(/^AC_INIT\(\[mod_fedauth\], \[([^\]]+)\]/m)[1];

const AUTHS = [
  // [auth method, FedAuthSecret set?]
  ['client_secret_basic', true],
  ['client_secret_post', true],
  ['none', false],
];

for (const [auth, withSecret] of AUTHS) {
  describe(`login with ${auth}${withSecret ? '' : ' (no FedAuthSecret)'}`, () => {
    let site;
    let meta;
    let base;
    const url = () => `${base}/protected/env.cgi`;

    before(async () => {
      site = await startSite({ providers: [{ id: 'test', auth }], secret: withSecret ? undefined : false });
      base = site.base;
      meta = await discovery(site.idp.issuer);
    });
    after(async () => {
      await site?.stop();
      site?.cleanup();
    });

    it('no cookie: 302 to the authorization endpoint with every parameter and a state cookie', async () => {
      const b = new Browser();
      const r = await b.getOnce(url());
      assert.equal(r.status, 302, dump(r));
      const loc = new URL(r.location);
      assert.equal(`${loc.origin}${loc.pathname}`, meta.authorization_endpoint);
      const q = loc.searchParams;
      assert.equal(q.get('response_type'), 'code');
      assert.equal(q.get('client_id'), site.clients.test.client_id);
      assert.equal(q.get('redirect_uri'), `${base}/signin-test`);
      assert.ok(q.get('scope').split(' ').includes('openid'), `scope ${q.get('scope')}`);
      assert.ok(q.get('scope').split(' ').includes('email'), `scope ${q.get('scope')}`);
      assert.ok(q.get('scope').split(' ').includes('profile'), `scope ${q.get('scope')}`);
      assert.match(q.get('state') || '', /^[A-Za-z0-9_.~-]{16,}$/, 'state');
      assert.match(q.get('nonce') || '', /^[A-Za-z0-9_.~-]{16,}$/, 'nonce');
      assert.match(q.get('code_challenge') || '', /^[A-Za-z0-9_-]{43}$/, 'code_challenge: base64url SHA-256');
      assert.equal(q.get('code_challenge_method'), 'S256');
      for (const k of q.keys()) assert.equal(q.getAll(k).length, 1, `parameter ${k} once`);

      const st = r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name));
      assert.equal(st.length, 1, `one state cookie: ${r.setCookies.map((c) => c.header).join(' | ')}`);
      assert.equal(st[0].attrs.httponly, true, 'state cookie HttpOnly');
      assert.equal(String(st[0].attrs.samesite).toLowerCase(), 'lax', 'state cookie SameSite=Lax');
      assert.equal(st[0].attrs['max-age'], '600', 'state cookie Max-Age=600');
      assert.equal(st[0].attrs.secure, undefined, 'no Secure over http');
      assert.ok(st[0].value.length > 0);
      assert.equal(r.setCookies.filter((c) => c.name === SESSION_COOKIE).length, 0, 'no session cookie yet');
    });

    it('two starts give different state, nonce and code_challenge', async () => {
      const a = new URL((await new Browser().getOnce(url())).location).searchParams;
      const c = new URL((await new Browser().getOnce(url())).location).searchParams;
      for (const k of ['state', 'nonce', 'code_challenge']) assert.notEqual(a.get(k), c.get(k), k);
    });

    it('HEAD without a session redirects too', async () => {
      const r = await new Browser().request(url(), { method: 'HEAD' });
      assert.equal(r.status, 302);
      assert.ok(r.location.startsWith(meta.authorization_endpoint), r.location);
    });

    it('POST without a session: 401, no redirect', async () => {
      const r = await new Browser().request(url(), {
        method: 'POST', body: 'a=b', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(r.status, 401, dump(r));
      assert.equal(r.location, undefined);
    });

    let browser;
    let loginRes;
    it('full login: back at the protected URL, the CGI sees the user', async () => {
      browser = new Browser();
      loginRes = await browser.login(url(), 'alice', 'alice-pass-1');
      assert.equal(loginRes.loginFormSeen, true, dump(loginRes));
      assert.equal(loginRes.status, 200, dump(loginRes));
      assert.equal(loginRes.url, url(), dump(loginRes));
      const env = parseEnv(loginRes.body);
      assert.equal(env.REMOTE_USER, 'alice', loginRes.body);
      assert.equal(env.FEDAUTH_USER, 'alice', loginRes.body);
      assert.equal(env.FEDAUTH_SUB, 'alice-sub-0001', loginRes.body);
      assert.equal(env.FEDAUTH_IDP, 'test', loginRes.body);
      assert.equal(env.FEDAUTH_EMAIL, 'alice@example.org', loginRes.body);
      assert.equal(env.HTTP_X_FEDAUTH_USER, 'alice', loginRes.body);
      assert.equal(env.HTTP_X_FEDAUTH_SUB, 'alice-sub-0001', loginRes.body);
      assert.equal(env.HTTP_X_FEDAUTH_IDP, 'test', loginRes.body);
      assert.equal(env.HTTP_X_FEDAUTH_EMAIL, 'alice@example.org', loginRes.body);
    });

    it('the IdP token endpoint was called with this auth method and succeeded', async () => {
      const ev = await site.idp.events();
      const grants = ev.filter((e) => e.client_id === site.clients.test.client_id && e.event.startsWith('grant.'));
      assert.ok(grants.some((e) => e.event === 'grant.success'), JSON.stringify(ev));
      assert.ok(!grants.some((e) => e.event === 'grant.error'), JSON.stringify(grants));
    });

    it('callback: 302 to the original URL, session cookie set, state cookie deleted', () => {
      assert.ok(loginRes, 'login ran');
      const cbHop = loginRes.hops.find((h) => h.url.startsWith(`${base}/signin-test?`));
      assert.ok(cbHop, dump(loginRes));
      assert.equal(cbHop.status, 302, dump(loginRes));
      assert.equal(new URL(cbHop.location, cbHop.url).href, url());
      const q = new URL(cbHop.url).searchParams;
      assert.ok(q.get('code') && q.get('state'), cbHop.url);

      const setHere = loginRes.setCookiesAll.filter((c) => c.url === cbHop.url);
      const sess = sessionCookiesSet(setHere);
      assert.equal(sess.length, 1, `one fedauth_session cookie: ${cbHop.setCookies.join(' | ')}`);
      const c = sess[0];
      assert.match(c.value, /^[A-Za-z0-9_.~-]{43,}$/, 'session cookie value: base64url, >= 256 bits');
      assert.equal(c.attrs.path, '/');
      assert.equal(c.attrs.httponly, true, 'HttpOnly');
      assert.equal(String(c.attrs.samesite).toLowerCase(), 'lax', 'SameSite=Lax');
      assert.equal(c.attrs.secure, undefined, 'no Secure over http');
      assert.equal(c.attrs.domain, undefined, 'host-only cookie');

      const stateDel = setHere.filter((x) => STATE_COOKIE_RE.test(x.name));
      assert.ok(stateDel.length >= 1 && stateDel.every(isDeletion), `state cookie deleted: ${cbHop.setCookies.join(' | ')}`);
      assert.equal(browser.jar.all().filter((x) => STATE_COOKIE_RE.test(x.name)).length, 0, 'no state cookie left in the jar');
    });

    it('a second request with the cookie: 200, no redirect, same user', async () => {
      assert.ok(browser, 'login ran');
      const r = await browser.getOnce(url());
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
      assert.equal(r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name)).length, 0, 'no new login state');
    });

    it('AUTH_TYPE is FedAuth', () => {
      assert.ok(loginRes, 'login ran');
      assert.match(parseEnv(loginRes.body).AUTH_TYPE || '', /^fedauth$/i, loginRes.body);
    });

    it('automatic attributes: FEDAUTH_GIVEN_NAME, FEDAUTH_FAMILY_NAME, FEDAUTH_LANGUAGE', () => {
      assert.ok(loginRes, 'login ran');
      const env = parseEnv(loginRes.body);
      assert.equal(env.FEDAUTH_GIVEN_NAME, 'Alice', loginRes.body);
      assert.equal(env.FEDAUTH_FAMILY_NAME, 'Liddell', loginRes.body);
      assert.equal(env.FEDAUTH_LANGUAGE, 'en-GB', loginRes.body);
    });

    it('user name: verified email when there is no preferred_username', async () => {
      const r = await new Browser().login(url(), 'bob', 'bob-pass-2');
      assert.equal(r.status, 200, dump(r));
      const env = parseEnv(r.body);
      assert.equal(env.REMOTE_USER, 'bob@example.org', r.body);
      assert.equal(env.FEDAUTH_SUB, 'bob-sub-0002', r.body);
    });

    it('user name: <sub>@test when the email is not verified', async () => {
      const r = await new Browser().login(url(), 'carol', 'carol-pass-3');
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'carol-sub-0003@test', r.body);
    });

    it('a wrong password keeps the user at the IdP, httpd sets no session', async () => {
      const b = new Browser();
      const r = await b.login(url(), 'alice', 'not-the-password');
      assert.equal(r.status, 200);
      assert.ok(r.url.startsWith(site.idp.issuer), r.url);
      assert.match(r.body, /Invalid username or password/);
      assert.equal(b.jar.get(SESSION_COOKIE), undefined);
    });

    it('the start-up notice names the release and the libraries it runs with', () => {
      // LogLevel warn: a notice is still written (httpd logs notices at
      // start whatever the level)
      const lines = site.errorLog().split('\n').filter((l) => l.includes('FA00111'));
      assert.ok(lines.length >= 1, site.errorLog().slice(-3000));
      const esc = VERSION.replace(/\./g, '\\.');
      assert.match(lines[0], new RegExp(`\\[fedauth:notice\\] .*FA00111: mod_fedauth ${esc} \\(OpenSSL \\d[^,]*, libcurl \\d[^,]*, jansson \\d[^,]*, hiredis \\d+\\.\\d+\\.\\d+\\) configured$`));
    });

    it('httpd stops cleanly; the error log has no crash lines', async () => {
      const info = await site.httpd.stop();
      assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
      assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
    });
  });
}
