// SPDX-License-Identifier: Apache-2.0
// 5. /fedauth/session before and after; logout clears the cookie and the
// session; return_to only ever leads to this site; /fedauth/login.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, discovery, SESSION_COOKIE, isDeletion, signOut,
} from '../lib/index.mjs';

const EVIL = [
  'https://evil.example/',
  'http://evil.example',
  '//evil.example/',
  '///evil.example/',
  '/\\evil.example/',
  '\\\\evil.example/',
  '/\\/evil.example/',
  '\\/evil.example/',
  '/\t/evil.example/',
  ' //evil.example/',
  'https:evil.example',
  'javascript:alert(1)',
];

describe('session endpoint, logout, /fedauth/login', () => {
  let site;
  let base;
  let meta;
  const prot = () => `${base}/protected/env.cgi`;

  before(async () => {
    site = await startSite({ providers: [{ id: 'test' }] });
    base = site.base;
    meta = await discovery(site.idp.issuer);
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('/fedauth/session without a session: 401 JSON {"error":"no_session"}', async () => {
    const r = await new Browser().getOnce(`${base}/fedauth/session`);
    assert.equal(r.status, 401, dump(r));
    assert.match(r.headers.get('content-type') || '', /^application\/json/);
    assert.deepEqual(JSON.parse(r.body), { error: 'no_session' });
  });

  let b;
  let cookieValue;
  it('/fedauth/session with a session: 200 JSON, Cache-Control: no-store', async () => {
    b = new Browser();
    const l = await b.login(prot(), 'alice', 'alice-pass-1');
    assert.equal(l.status, 200, dump(l));
    cookieValue = b.jar.get(SESSION_COOKIE)?.value;
    assert.ok(cookieValue);
    const r = await b.getOnce(`${base}/fedauth/session`);
    assert.equal(r.status, 200, dump(r));
    assert.match(r.headers.get('content-type') || '', /^application\/json/);
    assert.match(r.headers.get('cache-control') || '', /no-store/);
    const j = JSON.parse(r.body);
    assert.equal(j.user, 'alice');
    assert.equal(j.sub, 'alice-sub-0001');
    assert.equal(j.idp, 'test');
    assert.ok(Array.isArray(j.roles), 'roles is an array');
    assert.ok(j.attributes && typeof j.attributes === 'object' && !Array.isArray(j.attributes), 'attributes is an object');
    assert.equal(typeof j.expires_at, 'number');
    const now = Date.now() / 1000;
    assert.ok(j.expires_at > now && j.expires_at <= now + 28800 + 60, `expires_at ${j.expires_at} vs now ${now}`);
  });

  it('logout?return_to=/somewhere.html: 302 there, fedauth_session cleared (Max-Age=0, Path=/)', async () => {
    assert.ok(b, 'logged in');
    const r = await signOut(b, `${base}/fedauth/logout?return_to=${encodeURIComponent('/somewhere.html')}`);
    assert.ok([302, 303].includes(r.status), dump(r));
    assert.equal(new URL(r.location, r.url).href, `${base}/somewhere.html`);
    const del = r.setCookies.filter((c) => c.name === SESSION_COOKIE);
    assert.equal(del.length, 1, r.setCookies.map((c) => c.header).join(' | '));
    assert.equal(del[0].attrs['max-age'], '0', del[0].header);
    assert.ok(isDeletion(del[0]));
    assert.equal(del[0].attrs.path, '/', del[0].header);
    assert.equal(b.jar.get(SESSION_COOKIE), undefined);
    const page = await b.get(new URL(r.location, r.url).href);
    assert.equal(page.status, 200);
    assert.match(page.body, /id="somewhere"/);
  });

  it('after logout: /fedauth/session 401 and the protected URL redirects to the IdP', async () => {
    assert.ok(b, 'logged in');
    const s = await b.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 401, dump(s));
    assert.deepEqual(JSON.parse(s.body), { error: 'no_session' });
    const p = await b.getOnce(prot());
    assert.equal(p.status, 302, dump(p));
    assert.ok(p.location.startsWith(meta.authorization_endpoint), p.location);
  });

  it('after logout the old cookie value is dead on the server too', async () => {
    assert.ok(cookieValue, 'had a cookie');
    const c = new Browser();
    c.jar.set(base, SESSION_COOKIE, cookieValue);
    const s = await c.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 401, dump(s));
    const p = await c.getOnce(prot());
    assert.equal(p.status, 302, dump(p));
  });

  it('a made-up session cookie is no session', async () => {
    const c = new Browser();
    c.jar.set(base, SESSION_COOKIE, 'A'.repeat(43));
    assert.equal((await c.getOnce(`${base}/fedauth/session`)).status, 401);
    assert.equal((await c.getOnce(prot())).status, 302);
  });

  it('logout without return_to: 200 "signed out" page', async () => {
    const r = await new Browser().getOnce(`${base}/fedauth/logout`);
    assert.equal(r.status, 200, dump(r));
    assert.match(r.headers.get('content-type') || '', /text\/html/);
  });

  for (const evil of EVIL) {
    it(`logout return_to=${JSON.stringify(evil)} never leads to another host`, async () => {
      const r = await new Browser().getOnce(`${base}/fedauth/logout?return_to=${encodeURIComponent(evil)}`);
      assert.ok([200, 302, 303].includes(r.status), dump(r));
      if (r.status !== 200) {
        const to = new URL(r.location, r.url); // resolved as a browser would
        assert.equal(to.origin, base, `Location ${JSON.stringify(r.location)} leaves the site`);
      } else {
        assert.doesNotMatch(r.body, /(href|src|action|url)\s*=\s*["']?[^"'>\s]*evil\.example/i, r.body);
        assert.doesNotMatch(r.body, /http-equiv\s*=\s*["']?refresh/i, r.body);
      }
    });
  }

  it('/fedauth/login?idp=test&return_to=/protected/env.cgi starts a login and lands there', async () => {
    const c = new Browser();
    const start = `${base}/fedauth/login?idp=test&return_to=${encodeURIComponent('/protected/env.cgi')}`;
    const first = await c.getOnce(start);
    assert.equal(first.status, 302, dump(first));
    const q = new URL(first.location).searchParams;
    assert.ok(first.location.startsWith(meta.authorization_endpoint), first.location);
    assert.equal(q.get('client_id'), site.clients.test.client_id);
    assert.equal(q.get('redirect_uri'), `${base}/signin-test`);
    assert.equal(q.get('code_challenge_method'), 'S256');
    const r = await c.login(start, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.url, prot());
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
  });

  for (const evil of ['https://evil.example/x', '//evil.example/x', '/\\evil.example/x']) {
    it(`/fedauth/login return_to=${JSON.stringify(evil)}: after login the browser stays on the site`, async () => {
      const c = new Browser();
      const start = `${base}/fedauth/login?idp=test&return_to=${encodeURIComponent(evil)}`;
      const r = await c.login(start, 'alice', 'alice-pass-1', {
        stopAt: (u) => new URL(u).hostname !== '127.0.0.1',
      });
      assert.equal(r.stoppedAt, undefined, `followed to ${r.stoppedAt}\n${dump(r)}`);
      const cb = r.hops.find((h) => h.url.startsWith(`${base}/signin-test`));
      if (cb && cb.location) assert.equal(new URL(cb.location, cb.url).origin, base, dump(r));
      assert.ok(r.url.startsWith(`${base}/`), dump(r));
    });
  }

  // A refused return_to is no silent "/": the admin finds why in the log
  // (LogLevel fedauth:info), with the value escaped and where the user went.
  const refusedLine = (value, instead) => site.errorLog().split('\n').find((l) => l.includes('FA00215:')
    && l.includes('[fedauth:info]') && l.includes(`return_to "${value}" refused`) && l.includes(`the user goes to ${instead} instead`));

  it('/fedauth/login return_to=https://evil.example/: signed in, ends at /, and the log says return_to was refused', async () => {
    const evil = 'https://evil.example/';
    assert.equal(refusedLine(evil, '/'), undefined, 'no such line before the login');
    const c = new Browser();
    const r = await c.login(`${base}/fedauth/login?idp=test&return_to=${encodeURIComponent(evil)}`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.url, `${base}/`, dump(r));
    assert.match(r.body, /id="home"/, dump(r));
    assert.ok(c.jar.get(SESSION_COOKIE), 'signed in');
    const line = refusedLine(evil, '/');
    assert.ok(line, `FA00215 line for ${evil}\n${site.errorLog()}`);
    assert.match(line, /\/fedauth\/login: return_to/, line);
  });

  it('a refused return_to is logged cut at 128 bytes, without control characters; logout names the signed-out page', async () => {
    const long = `https://evil.example/"\x01${'a'.repeat(200)}`;
    const r = await new Browser().getOnce(`${base}/fedauth/logout?return_to=${encodeURIComponent(long)}`);
    assert.equal(r.status, 200, dump(r));
    assert.match(r.body, /signed out/i, dump(r));
    const shown = `https://evil.example/"?${'a'.repeat(128 - 23)}...`;
    assert.ok(refusedLine(shown, 'the signed-out page'), `cut line with ? for the control character\n${site.errorLog()}`);
    assert.ok(!site.errorLog().includes('a'.repeat(106)), 'the value is cut');
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
