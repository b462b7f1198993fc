// SPDX-License-Identifier: Apache-2.0
// Over https every cookie mod_fedauth sets carries Secure; over http (all
// the other tests) none does. The session cookie is __Host-fedauth_session
// there (900-cookie-attributes covers the prefix).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, dump, parseEnv, STATE_COOKIE_RE, HOST_SESSION_COOKIE,
} from '../lib/index.mjs';

// The site's certificate is a throwaway self-signed one for 127.0.0.1.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
process.removeAllListeners('warning');

const attrs = (c) => c.split(';').slice(1).map((a) => a.trim().toLowerCase());

describe('https site', () => {
  let site;
  before(async () => { site = await startSite({ https: true }); });
  after(async () => { await site?.stop(); site?.cleanup(); });

  it('the state cookie and the session cookie are Secure', async () => {
    const b = new Browser();
    const res = await b.login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(res.status, 200, dump(res));
    assert.equal(parseEnv(res.body).REMOTE_USER, 'alice', res.body);
    const set = res.hops.flatMap((h) => h.setCookies || []);
    const state = set.filter((c) => STATE_COOKIE_RE.test(c) && !/Max-Age=0/i.test(c));
    const session = set.filter((c) => c.startsWith(`${HOST_SESSION_COOKIE}=`));
    assert.ok(state.length >= 1, `no state cookie in ${JSON.stringify(set)}`);
    assert.ok(session.length >= 1, `no session cookie in ${JSON.stringify(set)}`);
    for (const c of [...state, ...session]) {
      assert.ok(attrs(c).includes('secure'), `not Secure: ${c}`);
      assert.ok(attrs(c).includes('httponly'), `not HttpOnly: ${c}`);
      assert.ok(attrs(c).includes('samesite=lax'), `not SameSite=Lax: ${c}`);
    }
  });

  it('the error log has no crash lines', async () => {
    await site.httpd.stop();
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
