// SPDX-License-Identifier: Apache-2.0
// A real browser (headless Chromium through playwright-core) on a site with
// two IdPs: the chooser renders (screenshot t/artifacts/chooser.png), the
// buttons carry their AccentColor and are reachable with Tab with a visible
// focus style, and pressing "Continue with Beta Cloud" and signing in at
// IdP B lands on the protected page as IdP B's user. Also a form_post
// provider, where Chromium itself runs the IdP's auto-submitting form.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  CHROMIUM, STEP_MS, launchChromium, closeChromium,
} from '../lib/chromium.mjs';

import {
  startSite, parseEnv, contrastRatio, cssColor, locationFor, REPO, USERS_A, USERS_B, ANNA, BRUNO,
} from '../lib/index.mjs';

const ARTIFACTS = path.join(REPO, 't', 'artifacts');
const SHOT = path.join(ARTIFACTS, 'chooser.png');

describe('real browser: chooser with two IdPs', { skip: !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let site;
  let base;
  let browser;
  let context;
  let page;

  before(async () => {
    site = await startSite({
      idps: [
        {
          name: 'A',
          users: USERS_A,
          providers: [
            { id: 'a', displayName: 'Alpha Corp', extra: 'SortOrder 1\nIcon /icons/alpha.svg\nAccentColor "#0a64a0"\n' },
            { id: 'fp', displayName: 'Alpha (form_post)', extra: 'SortOrder 3\nResponseMode form_post\n' },
          ],
        },
        {
          name: 'B',
          users: USERS_B,
          providers: [{ id: 'b', displayName: 'Beta Cloud', extra: 'SortOrder 2\nIcon /icons/beta.svg\nAccentColor "#ffeb3b"\n' }],
        },
      ],
      locationsConf: locationFor('/protected'),
    });
    base = site.base;
    browser = await launchChromium({ options: { viewport: { width: 800, height: 600 } } });
    ({ context, page } = browser);
  });

  after(async () => {
    await closeChromium(browser);
    await site?.stop();
    site?.cleanup();
  });

  it('the protected page shows the chooser; screenshot saved to t/artifacts/chooser.png', async () => {
    const resp = await page.goto(`${base}/protected/env.cgi`, { waitUntil: 'load' });
    assert.equal(resp.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/fedauth/login');
    assert.equal(await page.title(), 'Sign in');
    const labels = await page.locator('button.fedauth-button').allInnerTexts();
    assert.deepEqual(labels.map((t) => t.trim()), ['Continue with Alpha Corp', 'Continue with Beta Cloud', 'Continue with Alpha (form_post)']);
    // the icons are loaded images, not broken ones
    const icons = await page.locator('button.fedauth-button img').evaluateAll((imgs) => imgs.map((i) => ({ src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0 })));
    assert.deepEqual(icons, [{ src: '/icons/alpha.svg', ok: true }, { src: '/icons/beta.svg', ok: true }]);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SHOT, fullPage: true, timeout: STEP_MS });
    const st = fs.statSync(SHOT);
    assert.ok(st.size > 2000, `screenshot written (${st.size} bytes)`);
  });

  it('AccentColor as rendered: the background, and the text colour with the better contrast', async () => {
    for (const [id, rgb] of [['a', [10, 100, 160]], ['b', [255, 235, 59]]]) {
      const cs = await page.locator(`#fedauth-idp-${id}`).evaluate((el) => {
        const s = getComputedStyle(el);
        return { bg: s.backgroundColor, fg: s.color };
      });
      assert.deepEqual(cssColor(cs.bg), rgb, `${id}: ${cs.bg}`);
      const want = contrastRatio(rgb, [255, 255, 255]) >= contrastRatio(rgb, [0, 0, 0]) ? [255, 255, 255] : [0, 0, 0];
      assert.deepEqual(cssColor(cs.fg), want, `${id}: text ${cs.fg}`);
    }
  });

  it('keyboard: Tab reaches the first button, which shows a visible focus style', async () => {
    await page.locator('body').click({ position: { x: 2, y: 2 } });
    const first = page.locator('button.fedauth-button').first();
    const unfocused = await first.evaluate((el) => {
      const s = getComputedStyle(el);
      return { outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, shadow: s.boxShadow, border: s.borderColor };
    });
    let focusedId = null;
    for (let i = 0; i < 5 && focusedId !== 'fedauth-idp-a'; i++) {
      await page.keyboard.press('Tab');
      focusedId = await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
    }
    assert.equal(focusedId, 'fedauth-idp-a', 'the first provider button is reachable with Tab');
    const focused = await first.evaluate((el) => {
      const s = getComputedStyle(el);
      return {
        visible: el.matches(':focus-visible'),
        outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
        outlineOn: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
        shadow: s.boxShadow,
        border: s.borderColor,
      };
    });
    assert.equal(focused.visible, true, 'focus-visible after keyboard navigation');
    const changed = focused.outlineOn || focused.shadow !== unfocused.shadow || focused.border !== unfocused.border;
    assert.ok(changed, `a visible focus indicator: focused ${JSON.stringify(focused)} vs ${JSON.stringify(unfocused)}`);
  });

  it('"Continue with Beta Cloud", then the IdP B login form: lands as bruno with FEDAUTH_IDP b', async () => {
    await page.goto(`${base}/protected/env.cgi`, { waitUntil: 'load' });
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(site.idpOf('b').issuer), { timeout: STEP_MS }),
      page.getByRole('button', { name: 'Continue with Beta Cloud' }).click(),
    ]);
    await page.locator('#username').fill(BRUNO.username);
    await page.locator('#password').fill(BRUNO.password);
    await Promise.all([
      page.waitForURL(`${base}/protected/env.cgi`, { timeout: STEP_MS }),
      page.locator('#submit').click(),
    ]);
    const env = parseEnv(await page.locator('body').innerText());
    assert.equal(env.FEDAUTH_IDP, 'b', JSON.stringify(env));
    assert.equal(env.REMOTE_USER, 'bruno', JSON.stringify(env));
    assert.equal(env.FEDAUTH_SUB, BRUNO.sub);
    const cookies = await context.cookies(base);
    const sess = cookies.find((c) => c.name === 'fedauth_session');
    assert.ok(sess, JSON.stringify(cookies.map((c) => c.name)));
    assert.equal(sess.httpOnly, true);
    assert.equal(sess.sameSite, 'Lax');
  });

  it('form_post in the real browser: Chromium submits the IdP\'s form, the state cookie goes along, anna lands', async () => {
    await context.clearCookies();
    await page.goto(`${base}/fedauth/login?idp=fp&return_to=${encodeURIComponent('/protected/env.cgi')}`, { waitUntil: 'load' });
    assert.ok(page.url().startsWith(site.idpOf('fp').issuer), page.url());
    const posts = [];
    const onRequest = (req) => { if (req.url().startsWith(`${base}/signin-fp`)) posts.push(req.method()); };
    page.on('request', onRequest);
    try {
      await page.locator('#username').fill(ANNA.username);
      await page.locator('#password').fill(ANNA.password);
      await Promise.all([
        page.waitForURL(`${base}/protected/env.cgi`, { timeout: STEP_MS }),
        page.locator('#submit').click(),
      ]);
    } finally {
      page.off('request', onRequest);
    }
    assert.deepEqual(posts, ['POST'], 'the callback arrived as a POST');
    const env = parseEnv(await page.locator('body').innerText());
    assert.equal(env.FEDAUTH_IDP, 'fp', JSON.stringify(env));
    assert.equal(env.REMOTE_USER, 'anna', JSON.stringify(env));
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
