// SPDX-License-Identifier: Apache-2.0
// issue 22, front-channel logout in a real browser (headless Chromium):
// the test IdP plays an OP that does Front-Channel Logout 1.0 (oidc-
// provider 8 has none): its own logout page (GET /_test/frontchannel on
// the IdP's origin, t/idp/logout.mjs) iframes
// /signin-test/frontchannel?iss=..&sid=.. with the sid of the real ID
// token; the frame renders (frame-ancestors allows the IdP's origin) and
// the session is gone. A page of another site (evil.test, mapped to
// 127.0.0.1) framing the same endpoint gets no rendered frame.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';

import { freePort } from '../lib/index.mjs';
import { startHosts } from '../lib/cluster.mjs';
import {
  CHROMIUM, STEP_MS, launchChromium, closeChromium,
} from '../lib/chromium.mjs';

const SIGNED_OUT = 'Signed out of this site.';

/** The text of a frame's document, or '' when it has none we can read (blocked). */
async function frameText(frame) {
  try {
    return await frame.evaluate(() => document.body?.innerText || '');
  } catch {
    return '';
  }
}

describe('front-channel logout in Chromium, from the IdP\'s logout page', { skip: !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let c;
  let base;
  let issuer;
  let evil;
  let evilBase;
  let browser;
  let page;
  let sid;
  const fcUrl = (s) => `${base}/signin-test/frontchannel?${new URLSearchParams({ iss: issuer, sid: s })}`;

  before(async () => {
    c = await startHosts({
      hosts: 1,
      storeConf: 'FedAuthSessionStore shm',
      serverConf: 'LogLevel warn fedauth:info',
      providers: [{ id: 'test', extra: '    ClaimMap sid SID\n', client: { backchannel_logout_session_required: true } }],
    });
    base = c.base;
    issuer = c.idp.issuer;
    const evilPort = await freePort();
    evil = http.createServer((req, res) => {
      const u = new URL(req.url, 'http://x');
      const target = u.searchParams.get('u') || '';
      const ok = u.pathname === '/frame' && target.startsWith(`${base}/`);
      res.writeHead(ok ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(ok ? `<!DOCTYPE html><title>evil</title><iframe id="f" src="${target.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}" onload="document.title='loaded'"></iframe>` : 'no');
    });
    await new Promise((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));
    evilBase = `http://evil.test:${evilPort}`;
    browser = await launchChromium({ args: ['--host-resolver-rules=MAP evil.test 127.0.0.1'] });
    ({ page } = browser);
  });

  after(async () => {
    await closeChromium(browser);
    await new Promise((resolve) => (evil ? evil.close(resolve) : resolve()));
    await c?.stop();
    c?.cleanup();
  });

  async function sessionStatus() {
    const r = await page.goto(`${base}/fedauth/session`, { waitUntil: 'load' });
    return r.status();
  }

  it('alice signs in in Chromium; the CGI shows the sid of her ID token', async () => {
    await page.goto(`${base}/protected/env.cgi`, { waitUntil: 'load' });
    await page.locator('#username').fill('alice');
    await page.locator('#password').fill('alice-pass-1');
    await Promise.all([
      page.waitForURL(`${base}/protected/env.cgi`, { timeout: STEP_MS }),
      page.locator('#submit').click(),
    ]);
    const text = await page.locator('body').innerText();
    assert.match(text, /REMOTE_USER=alice/);
    sid = /FEDAUTH_SID=(\S+)/.exec(text)?.[1];
    assert.ok(sid, text);
    assert.equal(await sessionStatus(), 200);
  });

  it('another site frames the endpoint (an unknown sid): the browser refuses to render it (frame-ancestors), alice stays signed in', async () => {
    assert.ok(sid, 'signed in');
    await page.goto(`${evilBase}/frame?${new URLSearchParams({ u: fcUrl('unknown-sid') })}`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.title === 'loaded', null, { timeout: STEP_MS });
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame, 'the iframe');
    assert.ok(!(await frameText(frame)).includes(SIGNED_OUT), 'our page rendered inside another site');
    assert.equal(await sessionStatus(), 200);
  });

  it('the IdP\'s logout page iframes the endpoint with alice\'s sid: the frame renders the signed-out page and her session is gone', async () => {
    assert.ok(sid, 'signed in');
    await page.goto(`${issuer}/_test/frontchannel?${new URLSearchParams({ u: fcUrl(sid) })}`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.title === 'loaded 1', null, { timeout: STEP_MS });
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame, 'the iframe');
    assert.ok((await frameText(frame)).includes(SIGNED_OUT), `frame text: ${await frameText(frame)}`);
    assert.equal(await sessionStatus(), 401);
    const p = await page.goto(`${base}/protected/env.cgi`, { waitUntil: 'commit' });
    assert.ok(p.request().redirectedFrom() || p.url() !== `${base}/protected/env.cgi`,
      'the protected page sends the browser to sign in again');
    assert.match(c.errorLogs(), /FA01158: front-channel logout from test ended 1 session\(s\)/);
  });

  it('no crash', async () => {
    const info = await c.hosts[0].stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}`);
  });
});
