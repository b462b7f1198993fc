// SPDX-License-Identifier: Apache-2.0
// issue 23, keeping a POST across sign-in (FedAuthPreservePost) in a real
// browser (headless Chromium): alice signs in, opens a form, her session
// expires (FedAuthSessionIdleTimeout 10) while she types, she sends it;
// after the IdP's interactive login (Prompt login) the form's handler
// receives it once, values intact (UTF-8, &, =, +, quotes, angle
// brackets, a line break, repeated names, a field named "submit"), no
// Content-Security-Policy violation on the way, and going back does not
// post it again. Then the same without JavaScript: the page's noscript
// button sends it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { startSite, sleep } from '../lib/index.mjs';
import {
  CHROMIUM, STEP_MS, launchChromium, closeChromium,
} from '../lib/chromium.mjs';

const LOCATIONS = `<Location /form.html>
    AuthType FedAuth
    Require valid-user
</Location>
<Location /p/keep/>
    AuthType FedAuth
    FedAuthPreservePost On
    Require valid-user
</Location>
`;
const TITLE = 'Grüße & a=b+c "quoted" \'single\' <b>bold</b> 100%';
const TEXT = 'first line €\nsecond = line & more';

async function idpLogin(page) {
  await page.locator('#username').fill('alice', { timeout: STEP_MS });
  await page.locator('#password').fill('alice-pass-1');
  await page.locator('#submit').click();
}

describe('FedAuthPreservePost in Chromium: a form sent after the session expired lands once, intact', { skip: !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let site;
  let base;
  const handlerHits = () => (site.httpd.accessLog().match(/"POST \/p\/keep\/form\.cgi[^"]*" 200 /g) || []).length;

  before(async () => {
    site = await startSite({
      providers: [{ id: 'test', extra: '    Prompt login\n' }],
      serverConf: 'FedAuthSessionIdleTimeout 10\nLogLevel warn fedauth:info\n',
      locationsConf: LOCATIONS,
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  async function sendAfterExpiry(page, { js }) {
    await page.goto(`${base}/form.html`, { waitUntil: 'load' });
    await idpLogin(page);
    await page.waitForURL(`${base}/form.html`, { timeout: STEP_MS });
    await page.locator('#title').fill(TITLE);
    await page.locator('#text').fill(TEXT);
    await sleep(11500);            // the session's idle time passes
    const hits = handlerHits();
    await page.locator('#send').click();
    await page.waitForURL((u) => u.href.startsWith(site.idp.issuer), { timeout: STEP_MS });
    assert.equal(handlerHits(), hits, 'the handler did not run for the POST without a session');
    await idpLogin(page);
    if (!js) {
      await page.waitForURL((u) => u.href.startsWith(`${base}/signin-test`), { timeout: STEP_MS });
      assert.equal(handlerHits(), hits, 'the handler did not run for the auto-post page');
      await page.locator('button[type=submit]').click();
    }
    await page.waitForURL(`${base}/p/keep/form.cgi?from=page`, { timeout: STEP_MS });
    const text = await page.locator('body').innerText();
    assert.match(text, /^METHOD=POST$/m, text);
    assert.match(text, /^USER=alice$/m, text);
    const body = /^BODY=(.*)$/m.exec(text)[1];
    assert.deepEqual([...new URLSearchParams(body)], [
      ['title', TITLE],
      ['text', TEXT.replace(/\n/g, '\r\n')],
      ['tag', 'a'],
      ['tag', 'b & c'],
      ['submit', 'yes'],
    ]);
    await site.httpd.accessLogWhen(() => handlerHits() >= hits + 1);
    assert.equal(handlerHits(), hits + 1, 'the handler got it once');
    return hits + 1;
  }

  it('with JavaScript: the auto-post page sends it by itself; back does not send it again', async () => {
    const browser = await launchChromium();
    const violations = [];
    try {
      const { page } = browser;
      page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
      const hits = await sendAfterExpiry(page, { js: true });
      await page.goBack({ waitUntil: 'load' }).catch(() => {});
      await sleep(500);
      assert.equal(handlerHits(), hits, 'going back posted nothing again');
      assert.deepEqual(violations, []);
    } finally {
      await closeChromium(browser);
    }
    assert.match(site.errorLog(), /FA01358: POST of \d+ bytes to \/p\/keep\/form\.cgi kept/);
    assert.match(site.errorLog(), /FA01360: posting the kept form \(5 fields/);
  });

  it('without JavaScript: the page\'s noscript button sends it', async () => {
    const browser = await launchChromium({ options: { javaScriptEnabled: false } });
    try {
      await sendAfterExpiry(browser.page, { js: false });
    } finally {
      await closeChromium(browser);
    }
  });

  it('no crash, no trouble in the log', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), []);
  });
});
