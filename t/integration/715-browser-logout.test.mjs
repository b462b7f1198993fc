// SPDX-License-Identifier: Apache-2.0
// Forced logout in a real browser (issue 20 item 8): headless Chromium
// signed in at the site; pages of another site (evil.test, mapped to
// 127.0.0.1 by --host-resolver-rules) try an <img>, a top-level navigation
// and an auto-submitted POST form at /fedauth/logout: the session lives.
// The user's own clicks sign out: the confirm page's button, and the
// access-denied page's "Sign out" link followed by the button.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';

import { startSite, freePort, locationFor } from '../lib/index.mjs';
import {
  CHROMIUM, STEP_MS, launchChromium, closeChromium,
} from '../lib/chromium.mjs';

/** The other site: a page per attack, all aimed at `target`. */
function evilPages(target) {
  const logout = `${target}/fedauth/logout?return_to=%2F`;
  return {
    '/img': `<!DOCTYPE html><title>img</title><img src="${logout}"><p id="done">img</p>`,
    '/nav': `<!DOCTYPE html><title>nav</title><script>location.href = ${JSON.stringify(logout)};</script>`,
    '/post': `<!DOCTYPE html><title>post</title><form id="f" method="post" action="${logout}"></form><script>document.getElementById('f').submit();</script>`,
  };
}

describe('real browser: logout only by the user, never by another site', { skip: !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let site;
  let base;
  let evil;
  let evilBase;
  let browser;
  let context;
  let page;

  before(async () => {
    site = await startSite({
      providers: [{ id: 'test' }, { id: 'other' }],
      locationsConf: `${locationFor('/protected', ['test'])}<Location /p/other/>
    AuthType FedAuth
    FedAuthProviders test
    Require fedauth-idp other
</Location>
`,
    });
    base = site.base;
    const evilPort = await freePort();
    const pages = evilPages(base);
    evil = http.createServer((req, res) => {
      const body = pages[req.url];
      res.writeHead(body ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(body || 'no');
    });
    await new Promise((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));
    evilBase = `http://evil.test:${evilPort}`;
    browser = await launchChromium({ args: ['--host-resolver-rules=MAP evil.test 127.0.0.1'] });
    ({ context, page } = browser);
  });

  after(async () => {
    await closeChromium(browser);
    await new Promise((resolve) => (evil ? evil.close(resolve) : resolve()));
    await site?.stop();
    site?.cleanup();
  });

  async function signIn() {
    await page.goto(`${base}/protected/env.cgi`, { waitUntil: 'load' });
    // a second time the IdP still knows alice and sends her straight back
    if (page.url() !== `${base}/protected/env.cgi`) {
      await page.locator('#username').fill('alice');
      await page.locator('#password').fill('alice-pass-1');
      await Promise.all([
        page.waitForURL(`${base}/protected/env.cgi`, { timeout: STEP_MS }),
        page.locator('#submit').click(),
      ]);
    }
    assert.match(await page.locator('body').innerText(), /REMOTE_USER=alice/);
  }

  async function sessionStatus() {
    const r = await page.goto(`${base}/fedauth/session`, { waitUntil: 'load' });
    return r.status();
  }

  it('an <img>, a top-level navigation and an auto-posted form from another site end nothing', async () => {
    await signIn();
    await page.goto(`${evilBase}/img`, { waitUntil: 'load' });
    assert.equal(await sessionStatus(), 200, 'after the <img>');

    await page.goto(`${evilBase}/nav`);
    await page.waitForURL((u) => u.href.startsWith(`${base}/fedauth/logout`), { timeout: STEP_MS });
    await page.waitForLoadState('load');
    assert.equal(await page.title(), 'Sign out?');
    assert.equal(await sessionStatus(), 200, 'after the navigation');

    await page.goto(`${evilBase}/post`);
    await page.waitForURL((u) => u.href.startsWith(`${base}/fedauth/logout`), { timeout: STEP_MS });
    await page.waitForLoadState('load');
    assert.equal(await sessionStatus(), 200, 'after the cross-site POST');
    const cookies = await context.cookies(base);
    assert.ok(cookies.some((c) => c.name === 'fedauth_session'), 'the browser kept its cookie');
  });

  it('the user signs out with one click on the confirm page', async () => {
    await page.goto(`${base}/fedauth/logout?return_to=%2Fsomewhere.html`, { waitUntil: 'load' });
    assert.equal(await page.title(), 'Sign out?');
    await Promise.all([
      page.waitForURL(`${base}/somewhere.html`, { timeout: STEP_MS }),
      page.getByRole('button', { name: 'Sign out' }).click(),
    ]);
    assert.equal(await sessionStatus(), 401);
    const cookies = await context.cookies(base);
    assert.ok(!cookies.some((c) => c.name === 'fedauth_session'), JSON.stringify(cookies.map((c) => c.name)));
  });

  it('the access-denied page\'s "Sign out" link, then the button: signed out', async () => {
    await signIn();
    const denied = await page.goto(`${base}/p/other/env.cgi`, { waitUntil: 'load' });
    assert.equal(denied.status(), 403);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/fedauth/logout', { timeout: STEP_MS }),
      page.getByRole('link', { name: 'Sign out' }).click(),
    ]);
    await Promise.all([
      page.waitForURL(`${base}/`, { timeout: STEP_MS }),
      page.getByRole('button', { name: 'Sign out' }).click(),
    ]);
    assert.equal(await sessionStatus(), 401);
  });

  it('no crash', async () => {
    await site.httpd.stop();
    assert.deepEqual(site.troubles([/AH01630|AH01631|AH01797/]), []);
  });
});
