// SPDX-License-Identifier: Apache-2.0
// The session budget (docs/claims-and-roles.md): a session record is
// kept within 30 KiB (the store takes 32 KiB), whatever the IdP sends.
// When attributes (8 KiB each), kept claims (8 KiB per claim) and the
// stored ID token add up past it, the sign-in still succeeds and items are
// left out whole, in a fixed order: the ID token first (logout at the IdP
// then goes without id_token_hint and still works), then kept claims
// (largest first: a Require fedauth-claim on one refuses with 403), then
// attributes (largest first); user, sub, idp and roles always stay. One
// info line per item left out (FA00216 / FA00217 / FA00218). Roles over
// 8 KiB refuse the sign-in with a page saying so (too_many_roles).
//
// The big values come from userinfo (the test IdP's `userinfoOnly`), so
// the ID token stays under the 8 KiB up to which it is kept for logout.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, testUser, errorCodes, htmlText, discovery, signOut,
} from '../lib/index.mjs';
import { logoutAtIdp } from '../lib/cluster.mjs';

const fill = (n, c) => c.repeat(n);
/** 150 values of 50 bytes: within the per-claim bound (256 values, 8 KiB),
 * 150 x ("k4:kbig\n" + "w50:" + 50 + "\n") = 9450 bytes in the record. */
const value = (i) => `v-${String(i).padStart(3, '0')}-${'y'.repeat(44)}`;
const KBIG = Array.from({ length: 150 }, (_, i) => value(i));
const PAD = fill(3000, 'p'); // in the ID token: about 5 KB, still kept

const withUserinfo = (user, userinfoOnly) => ({ ...user, userinfoOnly });

const USERS = [
  // attributes 3 x 7500 + kept claims 9450 + ID token ~5000: over 30 KiB.
  // The ID token and the kept claim kbig go; dept and the attributes stay.
  withUserinfo(testUser('hugo', 'B', { pad: PAD }), {
    a1: fill(7500, '1'), a2: fill(7500, '2'), a3: fill(7500, '3'), small: 'tiny', dept: 'Research', kbig: KBIG,
  }),
  // attributes 8000 + 7900 + 7800 + 7700 alone are over 30 KiB: the ID
  // token, every kept claim (kbig, then dept) and then A1 go.
  withUserinfo(testUser('vera', 'B', { pad: PAD }), {
    a1: fill(8000, '1'), a2: fill(7900, '2'), a3: fill(7800, '3'), a4: fill(7700, '4'), small: 'tiny', dept: 'Research', kbig: KBIG,
  }),
  // the same claims, small: nothing is left out
  withUserinfo(testUser('tina', 'B'), { a1: 'one', small: 'tiny', dept: 'Research', kbig: [value(0)] }),
  // 200 groups mapped to roles of 40 bytes: 8199 bytes of roles
  testUser('rolf', 'B', { groups: Array.from({ length: 200 }, (_, i) => `grp-${i}`) }),
  // an ID token of over 8 KiB by itself: not kept, with a line saying so
  testUser('ida', 'B', { pad: fill(9000, 'q') }),
  // 10 of them: signs in through the same provider
  testUser('rona', 'B', { groups: Array.from({ length: 10 }, (_, i) => `grp-${i}`) }),
];

const role = (i) => `role-${String(i).padStart(35, '0')}`;
const ROLE_MAPS = Array.from({ length: 200 }, (_, i) => `    GroupMap grp-${i} ${role(i)}\n`).join('');

const BIG_CONF = `    ClaimMap a1 A1
    ClaimMap a2 A2
    ClaimMap a3 A3
    ClaimMap a4 A4
    ClaimMap small SMALL
`;

const loc = (name, provider, require) => `<Location /p/${name}/>
    AuthType FedAuth
    FedAuthProviders ${provider}
    Require ${require}
</Location>
`;

const LOCATIONS = [
  loc('any', 'big', 'valid-user'),
  loc('dept', 'big', 'fedauth-claim dept:Research'),
  loc('kbig', 'big', `fedauth-claim kbig:${value(0)}`),
  loc('roles', 'roles', 'valid-user'),
].join('\n');

const shedLines = (log, user) => log.split('\n')
  .filter((l) => l.includes('[fedauth:info]') && / FA0021[678]: /.test(l) && l.includes(`session of ${user} `));

describe('the session budget: what does not fit is left out, the sign-in succeeds', () => {
  let site;
  let base;
  let meta;
  const browsers = {};

  before(async () => {
    site = await startSite({
      users: USERS,
      providers: [{ id: 'big', extra: BIG_CONF }, { id: 'roles', extra: `    GroupsClaim groups\n${ROLE_MAPS}` }],
      serverConf: 'FedAuthLogoutAtIdP On',
      locationsConf: LOCATIONS,
    });
    base = site.base;
    meta = await discovery(site.idp.issuer);
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  async function signIn(user) {
    const b = new Browser();
    const r = await b.login(`${base}/p/any/env.cgi`, user, `${user}-pass-B`);
    assert.equal(r.status, 200, `sign-in of ${user}\n${dump(r)}`);
    browsers[user] = b;
    return parseEnv(r.body);
  }

  function assertRefused(r, user, what) {
    assert.equal(r.status, 403, `${what}\n${dump(r)}`);
    assert.match(htmlText(r.body), new RegExp(`signed in as ${user}\\b`, 'i'), `${what}\n${dump(r)}`);
    assert.ok(errorCodes(r.body).includes('access_denied'), `${what}\n${dump(r)}`);
  }

  it('hugo (attributes, kept claims and ID token over 32 KiB together) signs in: 200, his name and attributes on the page', async () => {
    const env = await signIn('hugo');
    assert.equal(env.REMOTE_USER, 'hugo');
    assert.equal(env.FEDAUTH_SUB, 'hugo-sub-B');
    assert.equal(env.FEDAUTH_SMALL, 'tiny');
    assert.equal(env.FEDAUTH_A1, fill(7500, '1'));
    assert.equal(env.FEDAUTH_A3, fill(7500, '3'));
    assert.doesNotMatch(site.errorLog(), /internal_error|more than the store takes/);
  });

  it('hugo: the kept claim dept still grants; a Require on kbig (left out) refuses with 403', async () => {
    const d = await browsers.hugo.getOnce(`${base}/p/dept/env.cgi`);
    assert.equal(d.status, 200, dump(d));
    assert.equal(parseEnv(d.body).REMOTE_USER, 'hugo');
    assertRefused(await browsers.hugo.getOnce(`${base}/p/kbig/env.cgi`), 'hugo', '/p/kbig/');
  });

  it('hugo: one info line each for the ID token and the claim kbig, nothing else', () => {
    const lines = shedLines(site.errorLog(), 'hugo');
    assert.equal(lines.length, 2, lines.join('\n'));
    const tok = lines[0].match(/FA00216: session of hugo over 30720 bytes: ID token \((\d+) bytes\) not kept; logout at the IdP goes without id_token_hint/);
    assert.ok(tok, lines[0]);
    assert.ok(Number(tok[1]) > 4000 && Number(tok[1]) < 8200, lines[0]);
    assert.match(lines[1], /FA00217: session of hugo over 30720 bytes: claim kbig \(150 value\(s\), 9450 bytes\) not kept; Require fedauth-claim on it refuses/);
  });

  it('vera (attributes alone over 30 KiB) signs in: the largest attribute A1 is left out, the others and SMALL stay', async () => {
    const env = await signIn('vera');
    assert.equal(env.REMOTE_USER, 'vera');
    assert.equal(env.FEDAUTH_IDP, 'big');
    assert.equal(env.FEDAUTH_SMALL, 'tiny');
    assert.equal(env.FEDAUTH_A1, undefined, 'A1 left out');
    assert.equal(env.FEDAUTH_A2, fill(7900, '2'));
    assert.equal(env.FEDAUTH_A4, fill(7700, '4'));
    assert.equal(env.FEDAUTH_EMAIL, 'vera@B.example');
    const s = await browsers.vera.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 200, dump(s));
    const doc = JSON.parse(s.body);
    assert.equal(doc.user, 'vera');
    assert.equal(doc.sub, 'vera-sub-B');
    assert.equal(doc.idp, 'big');
  });

  it('vera: every kept claim was left out, so both Require fedauth-claim locations refuse (403)', async () => {
    assertRefused(await browsers.vera.getOnce(`${base}/p/dept/env.cgi`), 'vera', '/p/dept/');
    assertRefused(await browsers.vera.getOnce(`${base}/p/kbig/env.cgi`), 'vera', '/p/kbig/');
  });

  it('vera: the lines say in order: ID token, claim kbig, claim dept, attribute A1 (with sizes)', () => {
    const lines = shedLines(site.errorLog(), 'vera');
    assert.equal(lines.length, 4, lines.join('\n'));
    assert.match(lines[0], /FA00216: .*ID token \(\d+ bytes\) not kept/);
    assert.match(lines[1], /FA00217: .*claim kbig \(150 value\(s\), 9450 bytes\) not kept/);
    assert.match(lines[2], /FA00217: .*claim dept \(1 value\(s\), 20 bytes\) not kept/);
    assert.match(lines[3], /FA00218: session of vera over 30720 bytes: attribute A1 \(8013 bytes\) not kept; FEDAUTH_A1 is not passed on/);
    assert.ok(!lines.some((l) => l.includes(fill(100, '1'))), 'no value in the log');
  });

  it('tina (the same claims, small): nothing left out, Require on kbig grants', async () => {
    const env = await signIn('tina');
    assert.equal(env.FEDAUTH_A1, 'one');
    const r = await browsers.tina.getOnce(`${base}/p/kbig/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    assert.deepEqual(shedLines(site.errorLog(), 'tina'), []);
  });

  it('logout at the IdP without the ID token: no id_token_hint, client_id instead; the IdP logs hugo out and sends him back', async () => {
    const r = await signOut(browsers.hugo, `${base}/fedauth/logout`);
    assert.equal(r.status, 302, dump(r));
    const to = new URL(r.location);
    assert.equal(`${to.origin}${to.pathname}`, meta.end_session_endpoint, r.location);
    assert.equal(to.searchParams.get('id_token_hint'), null, r.location);
    assert.equal(to.searchParams.get('client_id'), site.clients.big.client_id);
    await site.idp.clearEvents();
    const back = await logoutAtIdp(browsers.hugo, r.location);
    assert.ok(back.confirmPage, `the IdP's logout confirmation: ${dump(back)}`);
    assert.equal(back.status, 200, dump(back));
    // the IdP sends him back with the state the logout sent (RP-initiated logout)
    assert.match(back.url, new RegExp(`^${base}/\\?state=[A-Za-z0-9_-]{22,}$`), dump(back));
    const events = await site.idp.events();
    assert.ok(events.some((e) => e.event === 'end_session.success'), JSON.stringify(events));
    assert.ok(!events.some((e) => /error/.test(e.event)), JSON.stringify(events));
    const s = await browsers.hugo.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 401, dump(s));
    const again = await browsers.hugo.login(`${base}/p/any/env.cgi`, 'hugo', 'hugo-pass-B');
    assert.equal(again.status, 200, dump(again));
    assert.equal(again.loginFormSeen, true, 'signed out at the IdP: its login form is shown again');
  });

  it('control: tina\'s session kept the ID token, so her logout carries id_token_hint', async () => {
    const r = await signOut(browsers.tina, `${base}/fedauth/logout`);
    assert.equal(r.status, 302, dump(r));
    assert.ok(new URL(r.location).searchParams.get('id_token_hint'), r.location);
  });

  it('rolf (roles of 8199 bytes): refused with 401 too_many_roles, a page saying so, a log line, no session', async () => {
    const b = new Browser();
    const r = await b.login(`${base}/p/roles/env.cgi`, 'rolf', 'rolf-pass-B');
    assert.equal(r.status, 401, dump(r));
    assert.ok(errorCodes(r.body).includes('too_many_roles'), dump(r));
    assert.match(htmlText(r.body), /The identity provider sent more roles than fit in a session/, dump(r));
    assert.equal(b.jar.get('fedauth_session'), undefined, 'no session cookie');
    assert.match(site.errorLog(), /FA00201: sign-in through roles refused: too_many_roles: the roles of rolf are 8199 bytes, over 8192/);
  });

  it('ida (an ID token over 8 KiB): signs in; the token is not kept, the log says so, logout goes without id_token_hint', async () => {
    const env = await signIn('ida');
    assert.equal(env.REMOTE_USER, 'ida');
    const m = site.errorLog().match(/FA00219: user ida: ID token of (\d+) bytes not kept in the session \(more than 8192\)/);
    assert.ok(m, site.errorLog().slice(-2000));
    assert.ok(Number(m[1]) > 8192, m[0]);
    const r = await signOut(browsers.ida, `${base}/fedauth/logout`);
    assert.equal(r.status, 302, dump(r));
    assert.equal(new URL(r.location).searchParams.get('id_token_hint'), null, r.location);
  });

  it('rona (10 of those roles) signs in through the same provider', async () => {
    const b = new Browser();
    const r = await b.login(`${base}/p/roles/env.cgi`, 'rona', 'rona-pass-B');
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'rona');
    assert.equal(env.FEDAUTH_ROLES.split(',').length, 10, env.FEDAUTH_ROLES);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
