// SPDX-License-Identifier: Apache-2.0
// Forced logout (issue 20 item 8): /fedauth/logout ends a session only on
// a POST from this site (Sec-Fetch-Site same-origin, or Origin = this
// site). A cross-site link, image or top-level GET (the Lax session cookie
// rides along) gets a confirm page and ends nothing; a cross-site POST
// gets 403. The confirm page's form signs out in one click, and so does
// the access-denied page's "Sign out" link. And the class: a logout
// always expires the cookie, and the old cookie value never works again,
// with the embedded store and with Redis.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, dump, parseForm, SESSION_COOKIE, isDeletion, signOut, errorCodes, locationFor,
} from '../lib/index.mjs';
import { startRedis, redisAvailable, waitUntil } from '../lib/redis.mjs';

const EVIL = 'https://evil.example';

const LOCATIONS = `${locationFor('/protected', ['test'])}<Location /p/other/>
    AuthType FedAuth
    FedAuthProviders test
    Require fedauth-idp other
</Location>
`;

for (const store of ['shm', 'redis']) {
  const skip = store === 'redis' && !redisAvailable() && 'redis-server/redis-cli not installed';
  describe(`logout needs a POST from this site (${store} store)`, { skip }, () => {
    let site;
    let base;
    let redis;

    before(async () => {
      if (store === 'redis') redis = await startRedis();
      site = await startSite({
        providers: [{ id: 'test' }, { id: 'other' }],
        serverConf: redis ? `FedAuthSessionStore redis://127.0.0.1:${redis.port}/0\n` : '',
        locationsConf: LOCATIONS,
      });
      base = site.base;
    });
    after(async () => {
      await site?.stop();
      site?.cleanup();
      await redis?.stop();
    });

    /** A browser signed in as alice, and its cookie value. */
    async function signedIn() {
      const b = new Browser();
      const r = await b.login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
      assert.equal(r.status, 200, dump(r));
      assert.match(r.body, /REMOTE_USER=alice/);
      return { b, cookie: b.jar.get(SESSION_COOKIE)?.value ?? b.jar.get(SESSION_COOKIE) };
    }

    const stillSignedIn = async (b, msg) => {
      const s = await b.getOnce(`${base}/fedauth/session`);
      assert.equal(s.status, 200, `${msg}: the session must survive\n${dump(s)}`);
      assert.equal(JSON.parse(s.body).user, 'alice');
    };
    const noSessionCookieChange = (r, msg) => assert.deepEqual(
      r.setCookies.filter((c) => c.name === SESSION_COOKIE).map((c) => c.header), [], `${msg}: no Set-Cookie for the session`,
    );

    it('a cross-site top-level GET (and one with no fetch metadata) only shows the confirm page', async () => {
      const { b } = await signedIn();
      for (const headers of [
        { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', Referer: `${EVIL}/` },
        {},
        { 'Sec-Fetch-Site': 'same-origin', Origin: base },
      ]) {
        const r = await b.getOnce(`${base}/fedauth/logout?return_to=%2Fsomewhere.html`, { headers });
        assert.equal(r.status, 200, `${JSON.stringify(headers)}\n${dump(r)}`);
        noSessionCookieChange(r, JSON.stringify(headers));
        assert.match(r.headers.get('cache-control') || '', /no-store/);
        assert.match(r.headers.get('content-security-policy') || '', /frame-ancestors 'none'/);
        const form = parseForm(r.body, r.url);
        assert.equal(form.method, 'POST');
        assert.equal(form.action, `${base}/fedauth/logout?return_to=%2Fsomewhere.html`);
        await stillSignedIn(b, JSON.stringify(headers));
      }
    });

    it('a cross-site POST, a same-site one, one with a foreign Origin or none: 403, nothing ends', async () => {
      const { b } = await signedIn();
      for (const headers of [
        { 'Sec-Fetch-Site': 'cross-site', Origin: EVIL },
        { 'Sec-Fetch-Site': 'same-site', Origin: 'http://sub.127.0.0.1.example' },
        { 'Sec-Fetch-Site': 'none' },
        { Origin: EVIL },
        { Origin: 'null' },
        { Origin: `${base}.evil.example` },
        {},
      ]) {
        const r = await b.request(`${base}/fedauth/logout?return_to=%2F`, {
          method: 'POST', body: '', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
        });
        assert.equal(r.status, 403, `${JSON.stringify(headers)}\n${dump(r)}`);
        assert.equal(r.location, undefined);
        noSessionCookieChange(r, JSON.stringify(headers));
        await stillSignedIn(b, JSON.stringify(headers));
      }
      // what a browser sends cross-site: no Lax cookie; the answer must
      // not expire the browser's cookie either
      const bare = await new Browser().request(`${base}/fedauth/logout?return_to=%2F`, {
        method: 'POST', body: '', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'cross-site', Origin: EVIL },
      });
      assert.equal(bare.status, 403, dump(bare));
      noSessionCookieChange(bare, 'cross-site POST without the cookie');
      assert.match(site.errorLog(), /FA00424: logout of \(no session\) refused/);
      assert.match(site.errorLog(), /FA00424: logout of alice refused: not from this site \(Sec-Fetch-Site cross-site, Origin https:\/\/evil\.example\)/);
    });

    it('the confirm page escapes return_to and keeps only a path of this site', async () => {
      const { b } = await signedIn();
      const r = await b.getOnce(`${base}/fedauth/logout?return_to=${encodeURIComponent('/a"><script>alert(1)</script>')}`);
      assert.equal(r.status, 200, dump(r));
      assert.doesNotMatch(r.body, /<script/i);
      const evil = await b.getOnce(`${base}/fedauth/logout?return_to=${encodeURIComponent('//evil.example/x')}`);
      assert.doesNotMatch(evil.body, /evil\.example/);
      assert.equal(parseForm(evil.body, evil.url).action, `${base}/fedauth/logout`);
      await stillSignedIn(b, 'confirm pages');
    });

    it('logout (class): the confirm form signs out in one click, the cookie is expired and the old value never works again', async () => {
      const { b, cookie } = await signedIn();
      assert.ok(cookie, 'a session cookie');
      const r = await signOut(b, `${base}/fedauth/logout?return_to=%2Fsomewhere.html`);
      assert.ok(r.confirm, 'a confirm page first');
      assert.equal(r.status, 302, dump(r));
      assert.equal(new URL(r.location, r.url).href, `${base}/somewhere.html`);
      const del = r.setCookies.filter((c) => c.name === SESSION_COOKIE);
      assert.equal(del.length, 1, dump(r));
      assert.ok(isDeletion(del[0]), del[0].header);
      assert.equal(b.jar.get(SESSION_COOKIE), undefined);
      // the old value, replayed by anyone: dead everywhere. With Redis, a
      // worker's copy of the session lasts until Redis's invalidation
      // message reaches it (milliseconds; FedAuthSessionLocalCache in
      // docs/directives.md): asked again for up to 3 s, then never again.
      if (store === 'redis') {
        const gone = await waitUntil(async () => {
          const c = new Browser();
          c.jar.set(base, SESSION_COOKIE, cookie);
          return (await c.getOnce(`${base}/fedauth/session`)).status === 401;
        }, { timeoutMs: 3000 });
        assert.ok(gone, 'the old cookie still works 3 s after the logout');
      }
      for (let i = 0; i < 3; i++) {
        const c = new Browser();
        c.jar.set(base, SESSION_COOKIE, cookie);
        const s = await c.getOnce(`${base}/fedauth/session`);
        assert.equal(s.status, 401, dump(s));
        const p = await c.getOnce(`${base}/protected/env.cgi`);
        assert.equal(p.status, 302, dump(p));
        assert.doesNotMatch(p.body, /REMOTE_USER/);
        const again = await c.getOnce(`${base}/fedauth/logout`);
        assert.ok([200, 302].includes(again.status), dump(again));
        assert.ok(again.setCookies.some((x) => x.name === SESSION_COOKIE && isDeletion(x)), `a logout without a live session expires the cookie too\n${dump(again)}`);
      }
    });

    it('the access-denied page\'s "Sign out" link still signs out (through the confirm page)', async () => {
      const { b } = await signedIn();
      const denied = await b.getOnce(`${base}/p/other/env.cgi`);
      assert.equal(denied.status, 403, dump(denied));
      assert.ok(errorCodes(denied.body).includes('access_denied'));
      const href = /<a href="([^"]*\/fedauth\/logout[^"]*)">Sign out<\/a>/.exec(denied.body)?.[1];
      assert.ok(href, denied.body);
      const r = await signOut(b, new URL(href.replace(/&amp;/g, '&'), base).href);
      assert.ok(r.confirm, 'the confirm page');
      assert.equal(r.status, 302, dump(r));
      const s = await b.getOnce(`${base}/fedauth/session`);
      assert.equal(s.status, 401, dump(s));
    });

    it('no crash', async () => {
      await site.httpd.stop();
      assert.deepEqual(site.troubles([/AH01630|AH01631|AH01797/]), []);
    });
  });
}
