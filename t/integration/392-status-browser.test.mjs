// SPDX-License-Identifier: Apache-2.0
// /fedauth/status in a real browser (headless Chromium through
// playwright-core): what a person sees (screenshot t/artifacts/status.png):
// the title, each provider's name, the "JWKS" row with its state, the key
// ids, the store and the answering process; an IdP's key id "<script>"
// shows as text and runs nothing (no dialog, no script element); the page
// cannot be framed (the browser refuses it in an iframe).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';


import { startSite, REPO } from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { idpOverride } from '../lib/hostile.mjs';
import { CHROMIUM, STEP_MS, launchChromium, closeChromium } from '../lib/chromium.mjs';

const STATUS = '/fedauth/status';
const ARTIFACTS = path.join(REPO, 't', 'artifacts');
const SHOT = path.join(ARTIFACTS, 'status.png');
const XSS_KID = '<script>alert("kid")</script>';

function hostileJwks() {
  const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: XSS_KID, use: 'sig' }] });
}

describe('real browser: the status page', { skip: !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let site;
  let base;
  let browser;
  let page;
  const dialogs = [];

  before(async () => {
    site = await startSite({
      idps: [
        { name: 'good', providers: [{ id: 'corp', displayName: 'Corporate Login' }] },
        {
          name: 'evil',
          providers: [{ id: 'partner', displayName: 'Partner <b>IdP</b>' }],
          setup: (idp) => idpOverride(idp, '/jwks', { body: hostileJwks() }),
        },
      ],
      serverConf: `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthStatus On
`,
      locationsConf: `<Location ${STATUS}>
    Require ip 127.0.0.1
</Location>
`,
    });
    base = site.base;
    browser = await launchChromium({ options: { viewport: { width: 1000, height: 800 } } });
    ({ page } = browser);
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  });

  after(async () => {
    await closeChromium(browser);
    await site?.stop();
    site?.cleanup();
  });

  it('shows the providers, their JWKS state and key ids; screenshot saved to t/artifacts/status.png', async () => {
    const resp = await page.goto(`${base}${STATUS}`, { waitUntil: 'load' });
    assert.equal(resp.status(), 200);
    assert.equal(await page.title(), 'mod_fedauth status');
    const headings = (await page.locator('h2').allInnerTexts()).map((t) => t.trim());
    assert.deepEqual(headings, ['Provider Corporate Login (corp)', 'Provider Partner <b>IdP</b> (partner)',
      'Session store (shared)', 'Sessions (shared)', 'Outgoing calls']);
    const corp = page.locator('section.provider').first();
    const jwksRow = corp.locator('tr', { has: page.locator('th', { hasText: /^JWKS$/ }) });
    assert.ok(await jwksRow.isVisible(), 'the JWKS row is visible');
    assert.equal((await jwksRow.locator('td').first().innerText()).trim(), 'ok');
    assert.ok(await corp.locator('code', { hasText: 'rsa-1' }).isVisible());
    assert.match(await page.locator('p.note').innerText(), /Answered by process \d+/);
    assert.match(await page.locator('body').innerText(), /Kind shm/);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SHOT, fullPage: true, timeout: STEP_MS });
    assert.ok(fs.statSync(SHOT).size > 5000, 'screenshot written');
  });

  it('the hostile key id is text: visible as typed, no script element, no dialog', async () => {
    const partner = page.locator('section.provider').nth(1);
    assert.equal((await partner.locator('ul.kids code').innerText()).trim(), XSS_KID);
    assert.equal(await page.locator('script').count(), 0);
    assert.equal(await page.locator('section.provider b').count(), 0, 'the DisplayName markup is text');
    assert.deepEqual(dialogs, []);
  });

  it('the page refuses to be framed: an iframe of it stays empty', async () => {
    // A page of another origin (the IdP's) that frames the status page.
    await page.goto(`${site.idps.good.issuer}/.well-known/openid-configuration`);
    await page.setContent(`<iframe id="f" src="${base}${STATUS}" width="400" height="300"></iframe>`);
    await page.waitForTimeout(1000);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    const text = frame ? await frame.evaluate(() => document.body?.innerText || '').catch(() => '') : '';
    assert.doesNotMatch(text, /Corporate Login/, 'the framed page shows nothing of the status');
  });
});
