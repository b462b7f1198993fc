// SPDX-License-Identifier: Apache-2.0
// CORS preflights to protected locations (issue 23, richer claim rules):
// an OPTIONS with Origin and Access-Control-Request-Method to a location
// of AuthType FedAuth on a site with FedAuthAllowedOrigin is answered
// without a session: 204 with the grant for a listed origin, 403
// origin_not_allowed without CORS headers for any other; never user data,
// never the protected handler, never a sign-in (no 302, no state cookie),
// even with a session cookie sent along. A plain OPTIONS keeps its 401.
// The answers of the location itself (the page, its 401, its 403) carry
// the grant for a listed origin only. Counted in
// fedauth_cors_preflights_total. Then headless Chromium: a page of the
// listed origin (another port of 127.0.0.1: same site, so the session
// cookie goes along) fetches the protected page with credentials and a
// header that needs a preflight, and reads it; a page of another origin
// cannot.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';

import {
  startSite, Browser, parseEnv, dump, defaultUsers, protectedLocation, freePort,
  STATE_COOKIE_RE, errorCodes,
} from '../lib/index.mjs';
import {
  CHROMIUM, STEP_MS, launchChromium, closeChromium,
} from '../lib/chromium.mjs';

const list = (v) => String(v || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

describe('CORS preflight to a protected location', () => {
  let site;
  let base;
  let spaPort;
  let evilPort;
  let SPA;
  let EVIL;
  let servers = [];
  let signedIn;

  before(async () => {
    spaPort = await freePort();
    evilPort = await freePort();
    SPA = `http://127.0.0.1:${spaPort}`;
    EVIL = `http://127.0.0.1:${evilPort}`;
    site = await startSite({
      users: defaultUsers(),
      providers: [{ id: 'test', extra: 'GroupsClaim groups\nGroupMap staff staff-role\n' }],
      serverConf: `FedAuthAllowedOrigin ${SPA}\nFedAuthMetrics On\n`,
      locationsConf: `${protectedLocation('/protected', '    FedAuthUnauthenticated auto\n')}
<Location /p/staff/>
    AuthType FedAuth
    Require fedauth-role staff-role
</Location>
<Location /p/admins/>
    AuthType FedAuth
    Require fedauth-role admin
</Location>
<Location /fedauth/metrics>
    Require all granted
</Location>
`,
    });
    base = site.base;
    signedIn = new Browser();
    const r = await signedIn.login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
  });
  after(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await site?.stop();
    site?.cleanup();
  });

  const preflight = (b, origin, path = '/protected/env.cgi', extra = {}) => b.request(`${base}${path}`, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'GET',
      'Access-Control-Request-Headers': 'x-requested-with',
      Accept: 'text/html',
      ...extra,
    },
  });

  function assertNoUserData(r, what) {
    assert.ok(!/alice|REMOTE_USER|FEDAUTH_/i.test(r.body), `${what}: no user data, not the CGI\n${dump(r)}`);
    assert.equal(r.location, undefined, `${what}: no redirect (no sign-in)\n${dump(r)}`);
    assert.deepEqual(r.setCookies.map((c) => c.name), [], `${what}: no cookie at all (no state cookie, no session)\n${dump(r)}`);
    for (const [k] of r.headers) assert.ok(!/^x-fedauth|^remote-user/i.test(k), `${what}: header ${k}`);
  }

  it('from the listed origin, without a session: 204 with Allow-Origin, -Credentials, -Methods, -Headers, Max-Age, Vary: Origin', async () => {
    for (const path of ['/protected/env.cgi', '/p/staff/env.cgi', '/p/admins/env.cgi']) {
      const r = await preflight(new Browser(), SPA, path);
      assert.equal(r.status, 204, `${path}\n${dump(r)}`);
      assert.equal(r.headers.get('access-control-allow-origin'), SPA, dump(r));
      assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
      const methods = list(r.headers.get('access-control-allow-methods'));
      assert.ok(methods.includes('get') && methods.includes('post'), `methods ${methods}`);
      assert.ok(!methods.includes('trace') && !methods.includes('connect'), `methods ${methods}`);
      const headers = list(r.headers.get('access-control-allow-headers'));
      assert.ok(headers.includes('x-requested-with') && headers.includes('content-type'), `headers ${headers}`);
      assert.ok(!headers.some((h) => h.startsWith('x-fedauth') || h === '*'), `headers ${headers}`);
      assert.equal(r.headers.get('access-control-max-age'), '600');
      assert.ok(list(r.headers.get('vary')).includes('origin'), `Vary ${r.headers.get('vary')}`);
      assert.equal(r.body, '');
      assertNoUserData(r, path);
    }
  });

  it('with alice\'s session cookie sent along: the same empty 204, no user data, the handler does not run', async () => {
    const before = site.httpd.accessLog().split('\n').length;
    const r = await preflight(signedIn, SPA);
    assert.equal(r.status, 204, dump(r));
    assert.equal(r.body, '');
    assertNoUserData(r, 'with a session cookie');
    const optionsLines = (log) => log.split('\n').slice(before - 1).filter((l) => l.includes('"OPTIONS '));
    const lines = optionsLines(await site.httpd.accessLogWhen((log) => optionsLines(log).length >= 1));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], /" 204 - /, `access log: no user, 204, no bytes: ${lines[0]}`);
    assert.match(lines[0], /^\S+ \S+ - /, `access log: no user: ${lines[0]}`);
  });

  it('from an origin not listed: 403 origin_not_allowed, no CORS grant, no sign-in', async () => {
    for (const origin of [EVIL, 'null', `${SPA}.evil.example`, `${SPA}/`, SPA.replace('127.0.0.1', 'localhost')]) {
      const r = await preflight(new Browser(), origin);
      assert.equal(r.status, 403, `${origin}\n${dump(r)}`);
      assert.equal(r.headers.get('access-control-allow-origin'), null, `${origin}\n${dump(r)}`);
      assert.equal(r.headers.get('access-control-allow-credentials'), null);
      assert.ok(errorCodes(r.body).includes('origin_not_allowed'), dump(r));
      assertNoUserData(r, origin);
    }
    const s = await preflight(signedIn, EVIL);
    assert.equal(s.status, 403, dump(s));
    assertNoUserData(s, 'not listed, with a session cookie');
    assert.match(site.errorLog(), /FA01401: CORS preflight for \/protected\/env\.cgi from http:\/\/127\.0\.0\.1:\d+ refused/);
  });

  it('a plain OPTIONS (no Access-Control-Request-Method) keeps today\'s 401 without a session, and never a sign-in', async () => {
    const r = await new Browser().request(`${base}/protected/env.cgi`, { method: 'OPTIONS', headers: { Origin: SPA } });
    assert.equal(r.status, 401, dump(r));
    assert.equal(r.location, undefined);
    assert.deepEqual(r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name)), []);
  });

  it('the page itself, to the listed origin with the session: the grant (Allow-Origin, -Credentials, Vary); to another origin: none', async () => {
    const r = await signedIn.getOnce(`${base}/protected/env.cgi`, { headers: { Origin: SPA } });
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    assert.equal(r.headers.get('access-control-allow-origin'), SPA, dump(r));
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    assert.ok(list(r.headers.get('vary')).includes('origin'));
    const e = await signedIn.getOnce(`${base}/protected/env.cgi`, { headers: { Origin: EVIL } });
    assert.equal(e.status, 200, dump(e));
    assert.equal(e.headers.get('access-control-allow-origin'), null, dump(e));
    assert.equal(e.headers.get('access-control-allow-credentials'), null);
    const n = await signedIn.getOnce(`${base}/protected/env.cgi`);
    assert.equal(n.headers.get('access-control-allow-origin'), null, dump(n));
  });

  it('its 401 (no session, a script) and 403 (refused) carry the grant for the listed origin, so the app can read why', async () => {
    const r = await new Browser().getOnce(`${base}/protected/env.cgi`, { headers: { Origin: SPA, 'X-Requested-With': 'XMLHttpRequest' } });
    assert.equal(r.status, 401, dump(r));
    assert.equal(r.headers.get('access-control-allow-origin'), SPA, dump(r));
    const f = await signedIn.getOnce(`${base}/p/admins/env.cgi`, { headers: { Origin: SPA } });
    assert.equal(f.status, 403, dump(f));
    assert.equal(f.headers.get('access-control-allow-origin'), SPA, dump(f));
    const g = await signedIn.getOnce(`${base}/p/admins/env.cgi`, { headers: { Origin: EVIL } });
    assert.equal(g.status, 403, dump(g));
    assert.equal(g.headers.get('access-control-allow-origin'), null, dump(g));
  });

  it('counted: fedauth_cors_preflights_total{outcome="allowed"|"refused"}', async () => {
    const m = await new Browser().getOnce(`${base}/fedauth/metrics`);
    const allowed = Number((/^fedauth_cors_preflights_total\{outcome="allowed"\} (\d+)$/m.exec(m.body) || [])[1]);
    const refused = Number((/^fedauth_cors_preflights_total\{outcome="refused"\} (\d+)$/m.exec(m.body) || [])[1]);
    assert.equal(allowed, 4, m.body);
    assert.equal(refused, 6, m.body);
  });

  describe('in Chromium: a page of the listed origin fetches the protected page with credentials', { skip: !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
    let browser;
    let page;

    const appPage = () => `<!DOCTYPE html><title>app</title><script>
async function load(url) {
  try {
    const r = await fetch(url, { credentials: 'include', headers: { 'X-Requested-With': 'XMLHttpRequest' } });
    return r.status + '\\n' + await r.text();
  } catch (e) {
    return 'blocked: ' + e.message;
  }
}
</script>`;

    before(async () => {
      for (const port of [spaPort, evilPort]) {
        const s = http.createServer((req, res) => {
          res.writeHead(req.url === '/app' ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
          res.end(req.url === '/app' ? appPage() : 'no');
        });
        await new Promise((resolve) => s.listen(port, '127.0.0.1', resolve));
        servers.push(s);
      }
      browser = await launchChromium();
      ({ page } = browser);
      await page.goto(`${base}/protected/env.cgi`, { waitUntil: 'load' });
      await page.locator('#username').fill('alice');
      await page.locator('#password').fill('alice-pass-1');
      await Promise.all([
        page.waitForURL(`${base}/protected/env.cgi`, { timeout: STEP_MS }),
        page.locator('#submit').click(),
      ]);
      assert.match(await page.locator('body').innerText(), /REMOTE_USER=alice/);
    });
    after(async () => {
      await closeChromium(browser);
    });

    it('the listed origin: the preflight passes, the fetch with the session cookie reads alice\'s page', async () => {
      const before = site.httpd.accessLog().split('\n').length;
      await page.goto(`${SPA}/app`, { waitUntil: 'load' });
      const out = await page.evaluate((u) => load(u), `${base}/protected/env.cgi`);
      assert.match(out, /^200\n/, out);
      assert.equal(parseEnv(out.slice(4)).REMOTE_USER, 'alice', out);
      const answered = (l) => /"OPTIONS \/protected\/env\.cgi HTTP\/1\.1" 204 /.test(l);
      const log = (await site.httpd.accessLogWhen((all) => all.split('\n').slice(before - 1).some(answered)))
        .split('\n').slice(before - 1);
      assert.ok(log.some(answered), `a preflight was answered 204:\n${log.join('\n')}`);
    });

    it('another origin: the browser refuses the preflight; the script reads nothing', async () => {
      await page.goto(`${EVIL}/app`, { waitUntil: 'load' });
      const out = await page.evaluate((u) => load(u), `${base}/protected/env.cgi`);
      assert.match(out, /^blocked: /, out);
      assert.ok(!out.includes('alice'), out);
    });
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}`);
  });
});
