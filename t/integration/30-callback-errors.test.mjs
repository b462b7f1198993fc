// SPDX-License-Identifier: Apache-2.0
// 4. Failed callback checks: an ordinary error page with the stable code
// in a <code> element, no session cookie, and a log line naming the code.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseForm, dump, errorCodes, loginUntilCallback, sessionCookiesSet,
  SESSION_COOKIE, protectedLocation,
} from '../lib/index.mjs';

/** Asserts an error response: status, <code>code</code>, no session cookie. */
function assertError(r, status, code, browser) {
  assert.equal(r.status, status, dump(r));
  assert.ok(errorCodes(r.body).includes(code), `<code>${code}</code> in the page:\n${dump(r)}`);
  assert.match(r.headers.get('content-type') || '', /text\/html/i, 'an HTML error page');
  assert.deepEqual(sessionCookiesSet(r.setCookies), [], 'no session cookie');
  if (browser) assert.equal(browser.jar.get(SESSION_COOKIE), undefined, 'no session cookie in the jar');
}

describe('callback errors', () => {
  let site;
  let base;
  const start = () => `${base}/protected/env.cgi`;

  before(async () => {
    site = await startSite({
      providers: [{ id: 'test' }, { id: 'other' }],
      locationsConf: protectedLocation('/protected', '    FedAuthProviders test\n'),
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const logHas = (code) => site.errorLog().includes(code);

  it('tampered state (one character changed): 400 state_mismatch', async () => {
    const b = new Browser();
    const cb = new URL(await loginUntilCallback(b, start(), base, 'test'));
    const state = cb.searchParams.get('state');
    // the first character: always significant (the last one of base64url may carry padding bits only)
    cb.searchParams.set('state', (state[0] === 'A' ? 'B' : 'A') + state.slice(1));
    const r = await b.getOnce(cb.href);
    assertError(r, 400, 'state_mismatch', b);
    assert.ok(logHas('state_mismatch'), site.errorLog());
  });

  it('replaying a used callback URL: 400 state_mismatch', async () => {
    const b = new Browser();
    const cbUrl = await loginUntilCallback(b, start(), base, 'test');
    const ok = await b.get(cbUrl);
    assert.equal(ok.status, 200, dump(ok));
    assert.equal(ok.url, start());
    const replay = await b.getOnce(cbUrl);
    assert.equal(replay.status, 400, dump(replay));
    assert.ok(errorCodes(replay.body).includes('state_mismatch'), dump(replay));
    assert.deepEqual(sessionCookiesSet(replay.setCookies), [], 'no new session cookie');
  });

  it('replaying a used callback URL from another browser: 400 state_mismatch', async () => {
    const b = new Browser();
    const cbUrl = await loginUntilCallback(b, start(), base, 'test');
    assert.equal((await b.get(cbUrl)).status, 200);
    const other = new Browser();
    assertError(await other.getOnce(cbUrl), 400, 'state_mismatch', other);
  });

  it('callback without the state cookie (fresh client): 400 state_mismatch', async () => {
    const b = new Browser();
    const cbUrl = await loginUntilCallback(b, start(), base, 'test');
    const fresh = new Browser();
    assertError(await fresh.getOnce(cbUrl), 400, 'state_mismatch', fresh);
  });

  it('callback with a wrong state cookie value: 400 state_mismatch', async () => {
    const b = new Browser();
    const cbUrl = await loginUntilCallback(b, start(), base, 'test');
    const st = b.jar.all().find((c) => /^fedauth_session_state_/.test(c.name));
    assert.ok(st, 'state cookie present');
    const c = new Browser();
    c.jar.set(base, st.name, `${st.value[0] === 'A' ? 'B' : 'A'}${st.value.slice(1)}`, st.path);
    assertError(await c.getOnce(cbUrl), 400, 'state_mismatch', c);
  });

  it('callback without state: 400 state_missing', async () => {
    const b = new Browser();
    await b.getOnce(start()); // has a state cookie
    assertError(await b.getOnce(`${base}/signin-test?code=abc`), 400, 'state_missing', b);
    assert.ok(logHas('state_missing'), site.errorLog());
  });

  it('unknown state: 400 state_mismatch', async () => {
    const b = new Browser();
    await b.getOnce(start());
    assertError(await b.getOnce(`${base}/signin-test?code=abc&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`), 400, 'state_mismatch', b);
  });

  it('state created for another provider: 400 idp_mismatch', async () => {
    const b = new Browser();
    const cb = new URL(await loginUntilCallback(b, start(), base, 'test'));
    const moved = `${base}/signin-other${cb.search}`;
    assertError(await b.getOnce(moved), 400, 'idp_mismatch', b);
    assert.ok(logHas('idp_mismatch'), site.errorLog());
  });

  it('IdP error=access_denied: 401 idp_error, error_description shown HTML-escaped', async () => {
    const b = new Browser();
    const page = await b.get(start());
    assert.equal(page.status, 200, dump(page));
    const abort = /action="([^"]*\/abort)"/.exec(page.body);
    assert.ok(abort, page.body);
    const desc = '<script>alert(1)</script>';
    const r = await b.post(new URL(abort[1], page.url).href, { error: 'access_denied', error_description: desc });
    const cbHop = r.hops.find((h) => h.url.startsWith(`${base}/signin-test`));
    assert.ok(cbHop, dump(r));
    assert.equal(new URL(cbHop.url).searchParams.get('error'), 'access_denied');
    assertError(r, 401, 'idp_error', b);
    assert.ok(!r.body.includes(desc), `raw description must not appear:\n${r.body}`);
    assert.ok(r.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), `escaped description shown:\n${r.body}`);
    assert.ok(logHas('idp_error'), site.errorLog());
  });

  it('token endpoint error (code already used at the IdP): 401 token_error', async () => {
    // Take a fresh callback, let the real browser finish it; then start a
    // second login, but deliver the first (already redeemed) code with the
    // second login's valid state: the IdP refuses the code (invalid_grant).
    const b = new Browser();
    const cb1 = new URL(await loginUntilCallback(b, start(), base, 'test'));
    assert.equal((await b.get(cb1.href)).status, 200);
    const b2 = new Browser();
    const cb2 = new URL(await loginUntilCallback(b2, start(), base, 'test'));
    cb2.searchParams.set('code', cb1.searchParams.get('code'));
    assertError(await b2.getOnce(cb2.href), 401, 'token_error', b2);
    assert.ok(logHas('token_error'), site.errorLog());
  });

  it('a wrong password at the IdP never reaches httpd', async () => {
    const b = new Browser();
    const r = await b.login(start(), 'alice', 'nope');
    const form = parseForm(r.body, r.url);
    assert.ok(form && 'password' in form.fields);
    assert.ok(!r.hops.some((h) => h.url.startsWith(`${base}/signin-`)));
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
