// SPDX-License-Identifier: Apache-2.0
// Hostile client (issue 7): junk cookies are no cookies, and return_to
// never leads off the site. A session cookie of ~8 KiB of junk (as much as
// httpd's header limit lets through; past it httpd answers 400) and a state
// cookie of 4 KiB of junk are treated as absent (no 5xx; the login still
// works); a callback whose state cookie is 4 KiB of junk is refused
// (state_mismatch); return_to variants that decode or are read as another
// host (%2F%2Fevil, /%2F%2Fevil, /%5Cevil, encoded CR/LF, raw CR/LF, an
// encoded TAB, double encoding, a 3 KiB path) on /fedauth/login (through a
// whole login), /fedauth/logout and as the page a protected URL asked for.
// t/integration/40 covers https://evil, //evil, /\evil and friends.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, loginUntilCallback, sessionCookiesSet, SESSION_COOKIE,
  STATE_COOKIE_RE,
} from '../lib/index.mjs';
import { assertRefused } from '../lib/hostile.mjs';

const junk = (n, seed = 'j') => Array.from({ length: n }, (_, i) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[(i * 7 + seed.charCodeAt(0)) % 64]).join('');

// Raw return_to values (encoded once more when put into a query string):
// [value, refused]. A refused one is replaced by "/"; the one that is not
// is a path on this site (a later hop that decodes it once still gets a
// path: /%2F%2Fevil.example/).
const RETURN_TO = [
  ['%2F%2Fevil.example/', true],
  ['/%2F%2Fevil.example/', true],
  ['/%2f%2fevil.example/', true],
  ['/%2F/evil.example/', true],
  ['/%5Cevil.example/', true],
  ['/%5cevil.example/', true],
  ['/%5C%5Cevil.example/', true],
  ['/x%0d%0aLocation:%20https://evil.example/', true],
  ['/%0D%0A//evil.example/', true],
  ['/x\r\nLocation: https://evil.example/', true],
  ['/%09/evil.example/', true],
  [`/${'a'.repeat(3 * 1024)}`, true],
  ['/%252F%252Fevil.example/', false],
];

describe('hostile client: junk cookies, return_to', () => {
  let site;
  let base;
  const prot = () => `${base}/protected/env.cgi`;

  before(async () => {
    site = await startSite({ providers: [{ id: 'test' }] });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  // 7600 bytes: with the state cookie a login adds (and the test IdP's
  // cookies: the jar shares a host's cookies across ports, as browsers do),
  // the Cookie header stays under httpd's LimitRequestFieldSize (8190); the
  // next test goes past it.
  it('a session cookie of 7600 bytes of junk is no session: to the IdP, /fedauth/session 401, the login works', async () => {
    const b = new Browser();
    const value = junk(7600);
    b.jar.set(base, SESSION_COOKIE, value);
    const p = await b.getOnce(prot());
    assert.equal(p.status, 302, dump(p));
    const s = await b.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 401, dump(s));
    assert.deepEqual(JSON.parse(s.body), { error: 'no_session' });
    assert.equal((await b.getOnce(`${base}/somewhere.html`)).status, 200);
    // a login from a browser holding only the junk cookie (and then one state cookie)
    const c = new Browser();
    c.jar.set(base, SESSION_COOKIE, value);
    const r = await c.login(prot(), 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    assert.notEqual(c.jar.get(SESSION_COOKIE)?.value, value, 'replaced by a real session cookie');
    assert.match(site.errorLog(), /session cookie has a bad MAC or form: ignored/);
  });

  it('a session cookie past httpd\'s header limit (8 KiB + name): 400 from httpd, never a 5xx', async () => {
    const b = new Browser();
    b.jar.set(base, SESSION_COOKIE, junk(8 * 1024));
    for (const url of [prot(), `${base}/fedauth/session`, `${base}/somewhere.html`]) {
      const r = await b.getOnce(url);
      assert.ok(r.status < 500, dump(r));
      assert.notEqual(r.status, 200, 'not served as if nothing happened');
    }
  });

  it('a state cookie of 4 KiB of junk beside a login: ignored, the login works', async () => {
    const b = new Browser();
    b.jar.set(base, `fedauth_session_state_${junk(16, 'q')}`, junk(4 * 1024, 'q'));
    const r = await b.login(prot(), 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
  });

  it('a callback whose state cookie is 4 KiB of junk: 400 state_mismatch, no session', async () => {
    const b = new Browser();
    const cb = await loginUntilCallback(b, prot(), base, 'test');
    const st = b.jar.all().find((c) => STATE_COOKIE_RE.test(c.name));
    assert.ok(st, 'a state cookie was set');
    b.jar.set(base, st.name, junk(4 * 1024, 'z'), st.path);
    const r = await b.get(cb);
    assertRefused(r, { status: 400, code: 'state_mismatch', id: 'test', browser: b, site });
    assert.equal((await b.getOnce(prot())).status, 302, 'not signed in');
  });

  it('thirty state cookies of junk (under the header limit): a login still starts, and the junk is cleared', async () => {
    const b = new Browser();
    for (let i = 0; i < 30; i++) b.jar.set(base, `fedauth_session_state_${junk(16, String.fromCharCode(65 + i))}`, junk(200, 'x'));
    const r = await b.getOnce(prot());
    assert.equal(r.status, 302, dump(r));
    const cleared = r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name) && c.attrs['max-age'] === '0');
    assert.ok(cleared.length >= 30, `old state cookies cleared: ${cleared.length}`);
    assert.deepEqual(sessionCookiesSet(r.setCookies), []);
  });

  for (const [rt, refused] of RETURN_TO) {
    const label = JSON.stringify(rt.length > 60 ? `${rt.slice(0, 20)}... (${rt.length} bytes)` : rt);
    it(`/fedauth/login return_to=${label}: after the login the browser is on this site${refused ? ', at /' : ''}`, async () => {
      const b = new Browser();
      const start = `${base}/fedauth/login?idp=test&return_to=${encodeURIComponent(rt)}`;
      const r = await b.login(start, 'alice', 'alice-pass-1', {
        stopAt: (u) => new URL(u).hostname !== '127.0.0.1',
      });
      assert.equal(r.stoppedAt, undefined, `followed to ${r.stoppedAt}\n${dump(r)}`);
      const cb = r.hops.find((h) => h.url.startsWith(`${base}/signin-test`));
      assert.ok(cb, dump(r));
      assert.equal(cb.status, 302, dump(r));
      const to = new URL(cb.location, cb.url);
      assert.equal(to.origin, base, cb.location);
      assert.ok(!/[\r\n]/.test(cb.location));
      if (refused) {
        assert.equal(to.href, `${base}/`, 'the start page instead of the refused target');
        assert.equal(r.status, 200, dump(r));
        assert.equal(r.url, `${base}/`);
      } else {
        assert.equal(to.pathname, rt, 'the local path, as it was');
      }
      assert.ok(b.jar.get(SESSION_COOKIE), 'signed in all the same');
    });

    it(`/fedauth/logout return_to=${label}: never another host`, async () => {
      const r = await new Browser().getOnce(`${base}/fedauth/logout?return_to=${encodeURIComponent(rt)}`);
      assert.ok(r.status === 200 || r.status === 302, dump(r));
      if (r.status === 302) assert.equal(new URL(r.location, r.url).origin, base, r.location);
      else assert.doesNotMatch(r.body, /evil\.example/);
      assert.equal(r.status === 302, !refused, 'a refused return_to gives the signed-out page');
    });
  }

  it('a protected URL with an encoded CR/LF or a 3 KiB query: the login still ends on this site', async () => {
    for (const path of ['/protected/env.cgi/%0d%0aLocation:%20https://evil.example/', `/protected/env.cgi?q=${'b'.repeat(3 * 1024)}`]) {
      const b = new Browser();
      const r = await b.login(`${base}${path}`, 'alice', 'alice-pass-1', {
        stopAt: (u) => new URL(u).hostname !== '127.0.0.1',
      });
      assert.equal(r.stoppedAt, undefined, dump(r));
      const cb = r.hops.find((h) => h.url.startsWith(`${base}/signin-test`));
      assert.ok(cb && cb.status === 302, dump(r));
      assert.equal(new URL(cb.location, cb.url).origin, base, cb.location);
      assert.ok(b.jar.get(SESSION_COOKIE));
    }
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
