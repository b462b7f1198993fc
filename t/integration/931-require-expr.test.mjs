// SPDX-License-Identifier: Apache-2.0
// httpd's own Require expr over FEDAUTH_* and REMOTE_USER (issue 23, richer
// claim rules), and when it sees them. The module sets REMOTE_USER and
// FEDAUTH_* in check_authn (AuthType FedAuth); mod_authz_core evaluates
// the Require lines once before that, without a user, and waits for the
// sign-in only when a line asks for a user: a Require expr does so only
// when it names REMOTE_USER. So:
//   - "-n %{REMOTE_USER} && %{ENV:FEDAUTH_EMAIL} =~ /.../" (the documented
//     form): no session -> sign-in; signed in and matching -> 200; signed
//     in and not matching -> httpd's 401 (AH01629), never the page;
//   - the same inside <RequireAll> with Require fedauth-role;
//   - %{REMOTE_USER} alone;
//   - an expression over FEDAUTH_* alone is decided before sign-in: 403
//     for everyone (even a signed-in user who matches), and a negated one
//     lets a visitor in without signing in (no REMOTE_USER, no FEDAUTH_*):
//     what an attacker would try; the start-up warning FA01403 names the
//     line (file:line) of both.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, testUser, perProviderLocations, assertToIdp, errorCodes,
} from '../lib/index.mjs';

const USERS = [
  testUser('ann', 'a', { email: 'ann@corp.example', groups: ['staff'] }),
  testUser('bob', 'a', { email: 'bob@other.example', groups: ['staff'] }),
  testUser('cat', 'a', { email: 'cat@corp.example', groups: [] }),
];
const CORP = '/@corp\\.example$/';

const loc = (name, body) => `<Location /p/${name}/>
    AuthType FedAuth
${body.split('\n').filter(Boolean).map((l) => `    ${l}`).join('\n')}
</Location>
`;

const LOCATIONS = [
  perProviderLocations(['a']),
  loc('corp', `Require expr "-n %{REMOTE_USER} && %{ENV:FEDAUTH_EMAIL} =~ ${CORP}"`),
  loc('staffcorp', `<RequireAll>
    Require fedauth-role staff
    Require expr "-n %{REMOTE_USER} && %{ENV:FEDAUTH_EMAIL} =~ ${CORP}"
</RequireAll>`),
  loc('ann', 'Require expr "%{REMOTE_USER} == \'ann\'"'),
  // decided before sign-in: FA01403 at start
  loc('envonly', `Require expr "%{ENV:FEDAUTH_EMAIL} =~ ${CORP}"`),
  loc('envnot', 'Require expr "! %{ENV:FEDAUTH_EMAIL} =~ /@evil\\.example$/"'),
].join('\n');

describe('Require expr over FEDAUTH_* and REMOTE_USER', () => {
  let site;
  let base;
  const browsers = {};

  before(async () => {
    site = await startSite({
      idps: [{ name: 'a', users: USERS, providers: [{ id: 'a', extra: 'GroupsClaim groups\nGroupMap staff staff\n' }] }],
      locationsConf: LOCATIONS,
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  async function as(user) {
    if (browsers[user]) return browsers[user];
    const b = new Browser();
    const r = await b.login(`${base}/p/a/env.cgi`, user, `${user}-pass-a`);
    assert.equal(r.status, 200, `login of ${user}\n${dump(r)}`);
    assert.equal(parseEnv(r.body).REMOTE_USER, user, r.body);
    browsers[user] = b;
    return b;
  }
  const get = async (user, name) => (user ? await as(user) : new Browser()).getOnce(`${base}/p/${name}/env.cgi`);

  function assertNotThePage(r, what) {
    assert.ok(!r.body.includes('REMOTE_USER') && !r.body.includes('FEDAUTH_'), `${what}: not the CGI's output\n${dump(r)}`);
  }

  it('"-n %{REMOTE_USER} && %{ENV:FEDAUTH_EMAIL} =~ ...": no session -> to the IdP; ann (corp) 200 with FEDAUTH_EMAIL; bob refused (httpd\'s 401, AH01629)', async () => {
    await assertToIdp(await get(null, 'corp'), site, 'a', 'no session: ');
    const a = await get('ann', 'corp');
    assert.equal(a.status, 200, dump(a));
    assert.equal(parseEnv(a.body).FEDAUTH_EMAIL, 'ann@corp.example');
    const b = await get('bob', 'corp');
    assert.equal(b.status, 401, dump(b));
    assert.equal(b.location, undefined, dump(b));
    assertNotThePage(b, 'bob');
    assert.match(site.errorLog(), /AH01629: authorization failure \(no authenticated user\): \/p\/corp\/env\.cgi/);
  });

  it('inside <RequireAll> with Require fedauth-role: ann 200; bob (staff, other domain) refused; cat (corp, no role) gets the module\'s 403 page', async () => {
    await assertToIdp(await get(null, 'staffcorp'), site, 'a', 'no session: ');
    assert.equal((await get('ann', 'staffcorp')).status, 200);
    const b = await get('bob', 'staffcorp');
    assert.equal(b.status, 401, dump(b));
    assertNotThePage(b, 'bob');
    const c = await get('cat', 'staffcorp');
    assert.equal(c.status, 403, dump(c));
    assert.ok(errorCodes(c.body).includes('access_denied'), dump(c));
    assertNotThePage(c, 'cat');
  });

  it('%{REMOTE_USER} alone: no session -> to the IdP; ann 200; bob refused', async () => {
    await assertToIdp(await get(null, 'ann'), site, 'a', 'no session: ');
    assert.equal((await get('ann', 'ann')).status, 200);
    const b = await get('bob', 'ann');
    assert.equal(b.status, 401, dump(b));
    assertNotThePage(b, 'bob');
  });

  it('an expression over FEDAUTH_* alone is decided before sign-in: 403 for a visitor and for ann, who would match', async () => {
    for (const user of [null, 'ann', 'bob']) {
      const r = await get(user, 'envonly');
      assert.equal(r.status, 403, `${user}\n${dump(r)}`);
      assert.equal(r.location, undefined);
      assertNotThePage(r, String(user));
    }
  });

  it('a negated one lets a visitor in without signing in (no REMOTE_USER, no FEDAUTH_*): why FA01403 warns', async () => {
    const r = await get(null, 'envnot');
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, undefined, r.body);
    assert.equal(env.FEDAUTH_EMAIL, undefined, r.body);
  });

  it('the start-up warning FA01403 names both lines (file:line), not the ones that name REMOTE_USER', () => {
    // httpd reads its configuration twice at start: each line once per reading
    const lines = [...new Set(site.httpd.allLogs().split('\n').filter((l) => l.includes('FA01403')))];
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0], /httpd\.conf:\d+: Require expr "%\{ENV:FEDAUTH_EMAIL\} =~ /);
    assert.match(lines[1], /httpd\.conf:\d+: Require expr "! %\{ENV:FEDAUTH_EMAIL\}/);
    assert.match(lines[0], /add "-n %\{REMOTE_USER\} &&"/);
  });

  it('a client cannot set FEDAUTH_* for the expression: X-FedAuth-Email is dropped, the env var is the session\'s', async () => {
    const r = await (await as('bob')).getOnce(`${base}/p/corp/env.cgi`, { headers: { 'X-FedAuth-Email': 'bob@corp.example' } });
    assert.equal(r.status, 401, dump(r));
    const v = await new Browser().getOnce(`${base}/p/envonly/env.cgi`, { headers: { 'X-FedAuth-Email': 'x@corp.example' } });
    assert.equal(v.status, 403, dump(v));
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}`);
  });
});
