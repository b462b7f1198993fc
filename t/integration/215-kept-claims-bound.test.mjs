// SPDX-License-Identifier: Apache-2.0
// Kept claims are bounded (docs/claims-and-roles.md, "Require fedauth-claim"): the claims named
// in Require fedauth-claim lines are kept in the session with at most 256
// values and 8 KiB of values per claim. An IdP that sends a huge claim (a
// 20 KB string, an array of 300 values of 40 bytes) no longer pushes the
// session past the store's 32 KiB (which was a 500 internal_error at
// sign-in): the user signs in, Require on small claims works, values past
// the bound are left out whole (a Require on them refuses) and the log says
// so at info.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, testUser, errorCodes, htmlText,
} from '../lib/index.mjs';

const HUGE = 'h'.repeat(20000);
/** 40-byte values g-0000-xxx…, g-0001-xxx…; 8192 / 40 = 204 fit. */
const item = (i) => `g-${String(i).padStart(4, '0')}-${'x'.repeat(33)}`;
const BIGLIST = Array.from({ length: 300 }, (_, i) => item(i));
const FIT = 204;

const USERS = [
  testUser('hugo', 'K', { dept: 'Research', huge: HUGE, biglist: BIGLIST }),
  // the same claims, small: the Require lines themselves grant
  testUser('tina', 'K', { dept: 'Research', huge: 'small', biglist: [item(0), item(FIT)] }),
];

const loc = (name, require) => `<Location /p/${name}/>
    AuthType FedAuth
    Require ${require}
</Location>
`;

const LOCATIONS = [
  loc('dept', 'fedauth-claim dept:Research'),
  loc('sales', 'fedauth-claim dept:Sales'),
  loc('huge', 'fedauth-claim huge:small'),
  loc('first', `fedauth-claim biglist:${item(0)}`),
  loc('edge', `fedauth-claim biglist:${item(FIT - 1)}`),
  loc('cut', `fedauth-claim biglist:${item(FIT)}`),
].join('\n');

describe('kept claims are bounded: a huge claim does not break the sign-in', () => {
  let site;
  let base;
  const browsers = {};

  before(async () => {
    site = await startSite({ users: USERS, providers: [{ id: 'test' }], locationsConf: LOCATIONS });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  async function signIn(user) {
    const b = new Browser();
    const r = await b.login(`${base}/p/dept/env.cgi`, user, `${user}-pass-K`);
    assert.equal(r.status, 200, `sign-in of ${user}\n${dump(r)}`);
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, user, r.body);
    browsers[user] = b;
    return b;
  }

  function assertRefused(r, user, what) {
    assert.equal(r.status, 403, `${what}\n${dump(r)}`);
    assert.match(htmlText(r.body), new RegExp(`signed in as ${user}\\b`, 'i'), `${what}\n${dump(r)}`);
    assert.ok(errorCodes(r.body).includes('access_denied'), `${what}\n${dump(r)}`);
  }

  it('a user with a 20 KB claim and a 300-value array claim signs in (no 500), Require fedauth-claim dept:Research lets him in', async () => {
    await signIn('hugo');
    const s = await browsers.hugo.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 200, dump(s));
    assert.equal(JSON.parse(s.body).user, 'hugo');
    assert.doesNotMatch(site.errorLog(), /internal_error|more than the store takes/, site.errorLog().slice(-3000));
  });

  it('a Require on a small value still refuses what does not match (dept:Sales: 403)', async () => {
    assertRefused(await browsers.hugo.getOnce(`${base}/p/sales/env.cgi`), 'hugo', '/p/sales/');
  });

  it('array values within the bound are kept: the first and the 204th grant', async () => {
    for (const name of ['first', 'edge']) {
      const r = await browsers.hugo.getOnce(`${base}/p/${name}/env.cgi`);
      assert.equal(r.status, 200, `/p/${name}/\n${dump(r)}`);
      assert.equal(parseEnv(r.body).REMOTE_USER, 'hugo');
    }
  });

  it('values past the bound are left out whole: the 205th value and the huge string refuse (403)', async () => {
    assertRefused(await browsers.hugo.getOnce(`${base}/p/cut/env.cgi`), 'hugo', '/p/cut/');
    assertRefused(await browsers.hugo.getOnce(`${base}/p/huge/env.cgi`), 'hugo', '/p/huge/');
  });

  it('the same Require lines grant a user whose claims are small', async () => {
    await signIn('tina');
    for (const name of ['first', 'cut', 'huge']) {
      const r = await browsers.tina.getOnce(`${base}/p/${name}/env.cgi`);
      assert.equal(r.status, 200, `/p/${name}/ for tina\n${dump(r)}`);
    }
  });

  it('the log says at info (FA01700) which values were not kept, once per claim, for hugo only', async () => {
    const lines = site.errorLog().split('\n').filter((l) => l.includes('[fedauth:info]') && l.includes('not kept for Require fedauth-claim'));
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.ok(lines.some((l) => l.includes(`FA01700: user hugo: ${300 - FIT} value(s) of claim biglist not kept`) && l.includes(`${FIT} kept`)), lines.join('\n'));
    assert.ok(lines.some((l) => l.includes('FA01700: user hugo: 1 value(s) of claim huge not kept') && l.includes('0 kept')), lines.join('\n'));
    assert.ok(!lines.some((l) => /FA00306|FA\d{5}: FA\d{5}/.test(l)), `one tag per line:\n${lines.join('\n')}`);
    assert.ok(!lines.some((l) => l.includes(HUGE.slice(0, 200))), 'the huge value is not logged');
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
