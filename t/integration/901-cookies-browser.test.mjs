// SPDX-License-Identifier: Apache-2.0
// The cookie directives in a real browser (headless Chromium,
// playwright-core), every name mapped to 127.0.0.1 (--host-resolver-rules):
//   - two subdomains, a.fedauth.test and b.fedauth.test, of one site: with
//     FedAuthCookieDomain fedauth.test a sign-in on a is a session on b;
//     without it (host-only, the default) b has no session;
//   - ResponseMode form_post with the IdP on another site (http://127.0.0.1)
//     than the site (https://rp.fedauth.test, a local CA made with openssl,
//     t/lib/tls.mjs, whose server key Chromium is told to trust): the
//     cross-site POST carries the login state cookie (Auto: SameSite=None;
//     Secure) and the sign-in completes;
//   - the https site in an iframe of a page of another site (http://
//     127.0.0.1) with third-party cookies blocked as Chromium's phase-out
//     does: with FedAuthCookieSameSite None Partitioned (CHIPS) the user
//     signs in inside the frame and the frame stays signed in; with the
//     default Lax the sign-in in the frame never lands (no state cookie
//     comes back to a cross-site frame).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';

import { startSite, freePort } from '../lib/index.mjs';
import { CHROMIUM, launchChromium, closeChromium } from '../lib/chromium.mjs';
import { localCA } from '../lib/tls.mjs';

const skip = !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}`;
const portOf = (c) => new URL(c.redirect_uris[0]).port;
/** The test IdP client with more redirect URIs: (port) => [urls]. */
const moreRedirects = (urls) => (c) => ({ redirect_uris: [...c.redirect_uris, ...urls(portOf(c))] });

async function fillIdpLogin(frame) {
  await frame.locator('#username').fill('alice');
  await frame.locator('#password').fill('alice-pass-1');
  await frame.locator('button[type=submit], input[type=submit]').first().click();
}

async function bodyText(frame) {
  try {
    return await frame.evaluate(() => document.body?.innerText || '');
  } catch {
    return '';
  }
}

describe('FedAuthCookieDomain: two subdomains in Chromium', { skip }, () => {
  let site;
  let browser;
  let port;
  const a = () => `http://a.fedauth.test:${port}`;
  const b = () => `http://b.fedauth.test:${port}`;

  before(async () => {
    site = await startSite({
      providers: [{
        id: 'test',
        clientExtra: moreRedirects((p) => [`http://a.fedauth.test:${p}/signin-test`, `http://b.fedauth.test:${p}/signin-test`]),
      }],
      serverConf: 'FedAuthCookieDomain .fedauth.test\n',
      extraConf: 'KeepAlive Off\n',
    });
    port = new URL(site.base).port;
    browser = await launchChromium({ args: ['--host-resolver-rules=MAP *.fedauth.test 127.0.0.1'] });
  });
  after(async () => {
    await closeChromium(browser);
    await site?.stop();
    site?.cleanup();
  });

  async function signInOnA() {
    const { page } = browser;
    await browser.context.clearCookies();
    await page.goto(`${a()}/protected/env.cgi`, { waitUntil: 'load' });
    await fillIdpLogin(page);
    await page.waitForURL(`${a()}/protected/env.cgi`);
    assert.match(await bodyText(page), /REMOTE_USER=alice/);
  }

  async function sessionOnB() {
    const r = await browser.page.goto(`${b()}/fedauth/session`, { waitUntil: 'load' });
    return r.status();
  }

  it('with FedAuthCookieDomain .fedauth.test: signed in on a means signed in on b (Domain=fedauth.test)', async () => {
    await signInOnA();
    const cookies = await browser.context.cookies(`${a()}/`);
    const s = cookies.find((c) => c.name === 'fedauth_session');
    assert.equal(s?.domain, '.fedauth.test', JSON.stringify(cookies));
    assert.equal(await sessionOnB(), 200);
  });

  it('without it (host-only, the default): b has no session', async () => {
    await site.restartHttpd({ serverConf: '' });
    await signInOnA();
    const s = (await browser.context.cookies(`${a()}/`)).find((c) => c.name === 'fedauth_session');
    assert.equal(s?.domain, 'a.fedauth.test');
    assert.equal(await sessionOnB(), 401);
  });

  it('the error log has no crash lines', async () => {
    await site.httpd.stop();
    assert.deepEqual(site.troubles(), [], site.troubles().join('\n'));
  });
});

describe('https site on rp.fedauth.test (a local CA): form_post across sites, and CHIPS in another site\'s iframe', { skip }, () => {
  let site;
  let ca;
  let browser;
  let rp;
  let embedder;
  let embedBase;

  before(async () => {
    ca = localCA({ names: ['rp.fedauth.test'] });
    site = await startSite({
      providers: [{
        id: 'test',
        extra: '    ResponseMode form_post\n',
        clientExtra: moreRedirects((p) => [`https://rp.fedauth.test:${p}/signin-test`]),
      }],
      serverConf: (ctx) => `FedAuthRedirectBase https://rp.fedauth.test:${ctx.port}\n`,
      // No keep-alive: Chromium's idle connections would hold up httpd's
      // graceful stop (restartHttpd) until it kills its children.
      extraConf: `${ca.apacheConf}KeepAlive Off\n`,
    });
    rp = `https://rp.fedauth.test:${new URL(site.base).port}`;
    const ePort = await freePort();
    embedder = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(`<!DOCTYPE html><title>embedder</title><iframe id="f" src="${rp}/protected/env.cgi" width="800" height="600"></iframe>`);
    });
    await new Promise((resolve) => embedder.listen(ePort, '127.0.0.1', resolve));
    embedBase = `http://127.0.0.1:${ePort}`;
    browser = await launch();
  });
  // Chromium's idle TLS connections would hold up httpd's graceful stop:
  // it is closed before httpd restarts or stops.
  const launch = () => launchChromium({
    args: ['--host-resolver-rules=MAP rp.fedauth.test 127.0.0.1', ...ca.chromiumArgs,
      '--test-third-party-cookie-phaseout'],
  });
  async function restart(serverConf) {
    await closeChromium(browser);
    browser = undefined;
    await site.restartHttpd({ serverConf });
    browser = await launch();
  }
  after(async () => {
    await closeChromium(browser);
    await new Promise((resolve) => (embedder ? embedder.close(resolve) : resolve()));
    await site?.stop();
    site?.cleanup();
    ca?.cleanup();
  });

  it('form_post from the IdP on http://127.0.0.1 to https://rp.fedauth.test: the sign-in completes (login state cookie SameSite=None; Secure)', async () => {
    const { page } = browser;
    await browser.context.clearCookies();
    const posted = [];
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().startsWith(`${rp}/signin-test`)) posted.push(r.url()); });
    await page.goto(`${rp}/protected/env.cgi`, { waitUntil: 'load' });
    await fillIdpLogin(page);
    await page.waitForURL(`${rp}/protected/env.cgi`);
    assert.match(await bodyText(page), /REMOTE_USER=alice/);
    assert.equal(posted.length, 1, 'the callback came as a POST');
    const cookies = await browser.context.cookies(`${rp}/`);
    assert.ok(cookies.find((c) => c.name === '__Host-fedauth_session' && c.secure), JSON.stringify(cookies));
  });

  async function signInInFrame() {
    const { page } = browser;
    await browser.context.clearCookies();
    await page.goto(`${embedBase}/`, { waitUntil: 'load' });
    const frame = () => page.frames().find((f) => f !== page.mainFrame());
    await frame().waitForSelector('#username', { timeout: 10000 });
    await fillIdpLogin(frame());
    // Wait for the frame to settle on the site (or on an error page).
    for (let i = 0; i < 50; i++) {
      const u = frame()?.url() || '';
      if (u.startsWith(rp) && !u.includes('/signin-')) break;
      if (u.startsWith(rp) && /Sign-in|sign-in|error/i.test(await bodyText(frame()))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.waitForTimeout(300);
    return { text: await bodyText(frame()), frame: frame() };
  }

  it('control: with the default SameSite=Lax the sign-in inside the cross-site frame does not land', async () => {
    const { text } = await signInInFrame();
    assert.doesNotMatch(text, /REMOTE_USER=alice/, text);
    assert.match(site.errorLog(), /no state cookie/, 'refused at the callback for want of the state cookie');
  });

  it('control: SameSite=None without Partitioned does not land either where third-party cookies are blocked', async () => {
    await restart((ctx) => `FedAuthRedirectBase https://rp.fedauth.test:${ctx.port}\nFedAuthCookieSameSite None\n`);
    const { text } = await signInInFrame();
    assert.doesNotMatch(text, /REMOTE_USER=alice/, text);
    assert.match(site.errorLog(), /no state cookie/, 'refused at the callback for want of the state cookie');
  });

  it('FedAuthCookieSameSite None Partitioned: the user signs in inside the frame and stays signed in there (CHIPS)', async () => {
    await restart((ctx) => `FedAuthRedirectBase https://rp.fedauth.test:${ctx.port}\nFedAuthCookieSameSite None Partitioned\n`);
    const { text } = await signInInFrame();
    assert.match(text, /REMOTE_USER=alice/, text);
    // A reload of the embedding page: the frame is signed in at once.
    const { page } = browser;
    await page.reload({ waitUntil: 'load' });
    const f = page.frames().find((x) => x !== page.mainFrame());
    await f.waitForLoadState('load');
    assert.match(await bodyText(f), /REMOTE_USER=alice/);
    // The same site at top level is another partition: not signed in there.
    const top = await browser.context.newPage();
    try {
      const r = await top.goto(`${rp}/fedauth/session`, { waitUntil: 'load' });
      assert.equal(r.status(), 401);
    } finally {
      await top.close();
    }
  });

  it('the error log has no crash lines', async () => {
    await closeChromium(browser);
    browser = undefined;
    await site.httpd.stop();
    assert.deepEqual(site.troubles(), [], site.troubles().join('\n'));
  });
});
