// SPDX-License-Identifier: Apache-2.0
// issue 22, "Logout that reaches everything": Front-Channel Logout 1.0 at
// /signin-<id>/frontchannel, over plain HTTP, as an attacker and as the
// IdP. Any site can make a browser GET this URL (an <img>), so the sid is
// what authorizes it: without a valid sid, or with an iss that is not this
// provider's, 400 and nothing ends; the cookie is never read or cleared;
// the answer is the same page whether a session ended or not (no-store,
// CSP default-src 'none' and frame-ancestors = the IdP's origins); a sid
// ends only the sessions of that provider. The sids are the real ID
// tokens' (ClaimMap sid SID passes them to the CGI).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  Browser, parseEnv, dump, discovery, SESSION_COOKIE,
} from '../lib/index.mjs';
import { startHosts } from '../lib/cluster.mjs';

const METRICS_CONF = 'FedAuthMetrics On';
const METRICS_LOCATION = `<Location /fedauth/metrics>
    Require all granted
</Location>
`;

describe('front-channel logout over plain HTTP: refusals, headers, ending by sid', () => {
  let c;
  let base;
  let issuer;
  let idpOrigin;
  const prot = () => `${base}/protected/env.cgi`;
  const b1 = new Browser();
  const b2 = new Browser();
  const b3 = new Browser();
  const sids = new Map();
  const status = async (b) => (await b.getOnce(prot())).status;
  const fc = (id, params, init = {}) => {
    const q = typeof params === 'string' ? params : new URLSearchParams(params).toString();
    return fetch(`${base}/signin-${id}/frontchannel${q ? `?${q}` : ''}`, {
      redirect: 'manual', signal: AbortSignal.timeout(10000), ...init,
    }).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.text() }));
  };

  before(async () => {
    c = await startHosts({
      hosts: 1,
      storeConf: 'FedAuthSessionStore shm',
      serverConf: `LogLevel warn fedauth:info\n${METRICS_CONF}`,
      // oidc-provider 8 puts sid into ID tokens for clients that ask for
      // it through the back-channel flag (its front-channel one is gone)
      providers: ['test', 'other'].map((id) => ({
        id, extra: '    ClaimMap sid SID\n', client: { backchannel_logout_session_required: true },
      })),
      locationsConf: `<Location /protected>
    AuthType FedAuth
    FedAuthProviders test
    Require valid-user
</Location>
${METRICS_LOCATION}`,
    });
    base = c.base;
    issuer = c.idp.issuer;
    idpOrigin = new URL(issuer).origin;
  });
  after(async () => {
    await c?.stop();
    c?.cleanup();
  });

  it('alice signs in in two browsers, bob in a third; each session has its own sid from the ID token', async () => {
    for (const [b, u, p] of [[b1, 'alice', 'alice-pass-1'], [b2, 'alice', 'alice-pass-1'], [b3, 'bob', 'bob-pass-2']]) {
      const r = await b.login(prot(), u, p);
      assert.equal(r.status, 200, dump(r));
      const sid = parseEnv(r.body).FEDAUTH_SID;
      assert.ok(sid, `FEDAUTH_SID in\n${r.body}`);
      sids.set(b, sid);
    }
    assert.equal(new Set(sids.values()).size, 3, [...sids.values()].join(' '));
  });

  const refusals = [
    ['no parameters', ''],
    ['iss alone', () => ({ iss: issuer })],
    ['an empty sid', () => ({ iss: issuer, sid: '' })],
    ['a sid with a control character', () => ({ iss: issuer, sid: `${sids.get(b1)}\u0001` })],
    ['a sid with a space', () => ({ iss: issuer, sid: `${sids.get(b1)} x` })],
    ['a sid of 256 bytes', () => ({ iss: issuer, sid: 'a'.repeat(256) })],
    ['a real sid with another issuer', () => ({ iss: 'http://127.0.0.1:1/evil', sid: sids.get(b1) })],
    ['a real sid with the issuer plus a suffix', () => ({ iss: `${issuer}/x`, sid: sids.get(b1) })],
    ['a real sid with an iss of 2000 bytes', () => ({ iss: `${issuer}${'/x'.repeat(1000)}`, sid: sids.get(b1) })],
  ];
  for (const [what, params] of refusals) {
    it(`${what}: 400, the same CSP, no cookie touched, every session lives`, async () => {
      assert.ok(sids.size === 3, 'signed in');
      // with alice's own cookie, as a page of another site would send it
      const cookie = `${SESSION_COOKIE}=${b1.jar.get(SESSION_COOKIE)?.value}`;
      const r = await fc('test', typeof params === 'function' ? params() : params, { headers: { Cookie: cookie } });
      assert.equal(r.status, 400, r.body);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal(r.headers.get('content-security-policy'), `default-src 'none'; frame-ancestors ${idpOrigin}`);
      assert.equal(r.headers.get('set-cookie'), null);
      assert.ok(!r.body.includes('\u0001') && !r.body.includes('<script'), r.body);
      for (const b of [b1, b2, b3]) assert.equal(await status(b), 200);
    });
  }

  it('POST: 405 with Allow: GET, nothing ends', async () => {
    const r = await fc('test', '', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ iss: issuer, sid: sids.get(b1) }).toString(),
    });
    assert.equal(r.status, 405, r.body);
    assert.equal(r.headers.get('allow'), 'GET');
    assert.equal(await status(b1), 200);
  });

  it('an unknown provider: 404, as any unknown URL', async () => {
    const r = await fc('nope', { iss: issuer, sid: sids.get(b1) });
    assert.equal(r.status, 404, r.body);
    assert.equal(await status(b1), 200);
  });

  let unknownAnswer;
  it('an unknown sid: 200, a small page, Cache-Control no-store, CSP frame-ancestors the IdP\'s origin only, no cookie, no X-Frame-Options', async () => {
    const r = await fc('test', { iss: issuer, sid: 'not-a-session-of-anyone' });
    assert.equal(r.status, 200, r.body);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('content-security-policy'), `default-src 'none'; frame-ancestors ${idpOrigin}`);
    assert.equal(r.headers.get('x-frame-options'), null);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(r.headers.get('set-cookie'), null);
    assert.ok(r.body.length < 1024, r.body);
    unknownAnswer = r;
    for (const b of [b1, b2, b3]) assert.equal(await status(b), 200);
  });

  it('alice\'s first sid, sent without any cookie (as from the IdP\'s iframe): the same answer byte for byte; that session ends, the others stay', async () => {
    assert.ok(unknownAnswer, 'the unknown-sid answer');
    const r = await fc('test', { iss: issuer, sid: sids.get(b1) });
    assert.equal(r.status, unknownAnswer.status);
    assert.equal(r.body, unknownAnswer.body, 'the page says nothing about whether a session existed');
    for (const h of ['content-type', 'content-length', 'cache-control', 'content-security-policy', 'set-cookie']) {
      assert.equal(r.headers.get(h), unknownAnswer.headers.get(h), h);
    }
    const p = await b1.getOnce(prot());
    assert.equal(p.status, 302, dump(p));
    assert.equal((await b1.getOnce(`${base}/fedauth/session`)).status, 401);
    assert.equal(await status(b2), 200, 'alice in browser 2 (another sid) stays');
    assert.equal(await status(b3), 200, 'bob stays');
  });

  it('the same sid again: 200, the same page (nothing left to end)', async () => {
    const r = await fc('test', { iss: issuer, sid: sids.get(b1) });
    assert.equal(r.status, 200);
    assert.equal(r.body, unknownAnswer.body);
  });

  it('browser 2\'s sid at another provider\'s endpoint (same IdP, other client): 200 and nothing ends', async () => {
    const r = await fc('other', { iss: issuer, sid: sids.get(b2) });
    assert.equal(r.status, 200, r.body);
    assert.equal(await status(b2), 200);
  });

  it('browser 2\'s sid alone, without iss (as Entra ID sends it): that session ends', async () => {
    const r = await fc('test', { sid: sids.get(b2) });
    assert.equal(r.status, 200, r.body);
    assert.equal((await b2.getOnce(prot())).status, 302);
    assert.equal(await status(b3), 200, 'bob stays');
  });

  it('the log: one info line per request that ended sessions (FA01158) and a warning naming each refusal (FA01155, FA01156)', async () => {
    const log = c.errorLogs();
    assert.match(log, /FA01158: front-channel logout from test ended 1 session\(s\) of sid /);
    assert.match(log, /FA01158: front-channel logout from test ended 0 session\(s\) of sid not-a-session-of-anyone/);
    assert.match(log, /FA01155: front-channel logout for test refused: no sid/);
    assert.match(log, /FA01155: front-channel logout for test refused: sid longer than 255 bytes or not printable ASCII/);
    assert.match(log, /FA01156: front-channel logout for test refused: iss http:\/\/127\.0\.0\.1:1\/evil is not an issuer of this provider/);
    assert.match(log, /FA01154: front-channel logout for test refused: POST, not GET/);
  });

  it('metrics: refused and answered requests, and 2 sessions ended by front-channel logout', async () => {
    const r = await fetch(`${base}/fedauth/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    assert.match(text, /^fedauth_sessions_ended_total\{reason="frontchannel"\} 2$/m);
    assert.match(text, new RegExp(`^fedauth_frontchannel_logouts_total\\{outcome="refused"\\} ${refusals.length + 1}$`, 'm'));
    assert.match(text, /^fedauth_frontchannel_logouts_total\{outcome="ok"\} 5$/m);
  });

  it('the discovery document the frame-ancestors list comes from is the IdP\'s own', async () => {
    const meta = await discovery(issuer);
    for (const u of [meta.issuer, meta.authorization_endpoint, meta.end_session_endpoint]) {
      assert.equal(new URL(u).origin, idpOrigin, u);
    }
  });

  it('httpd stops cleanly; no crash lines in the error log', async () => {
    const info = await c.hosts[0].stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs()}`);
  });
});
