// SPDX-License-Identifier: Apache-2.0
// Identities are keys exactly as the IdP sent them (issue 20 item 9). A sub
// with control characters (`esc\x1b[31mRED\x07`) was rewritten for headers
// (control characters became spaces) before the registry looked its link
// up, so it signed in as the account of another user whose sub has spaces
// there (`esc [31mRED `); the sessions-by-sub index (back-channel logout,
// FedAuthMaxSessionsPerUser) and the attempt log had the rewritten value
// too. Now an identifying claim (sub, or IdentifyingClaim) that has control
// characters, or is not a string or a whole number (an array ["o X"]
// rendered as "o X"), is refused with 401 invalid_sub: no session, no
// account, no link. Real IdP, real httpd, FedAuthRegistry On (directory).
//
// The email classes: an email with several '@' or with control characters
// never becomes the user name (UsernameClaim email chain), and Require
// fedauth-claim, ValueMap and GroupMap compare the exact value, so such an
// email (or group) never matches the value it resembles.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  startSite, Browser, parseEnv, dump, errorCodes, perProviderLocations, SESSION_COOKIE, sleep,
} from '../lib/index.mjs';
import { testUser } from '../lib/idp.mjs';
import { assertRefused } from '../lib/hostile.mjs';
import { logoutClaims, signAtIdp, postLogoutToken } from '../lib/cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FEDAUTHCTL = process.env.FEDAUTHCTL || path.resolve(here, '../../fedauthctl');

const CTL_SUB = 'esc\x1b[31mRED\x07';
const SPC_SUB = 'esc [31mRED ';

const USERS = [
  testUser('spc', 'test', { sub: SPC_SUB, oid: 'o X' }),
  testUser('ctl', 'test', { sub: CTL_SUB, oid: 'o\x1bX' }),
  testUser('tab', 'test', { sub: 'tab\tsub', oid: 'o\tX' }),
  testUser('oarr', 'test', { oid: ['o X'] }),
];

/** Runs fedauthctl; resolves { code, out, err, json }. */
function ctl(site, args) {
  const conf = path.join(site.httpd.dir, 'fedauthctl.conf');
  return new Promise((resolve) => {
    execFile(FEDAUTHCTL, ['--conf', conf, '--json', ...args], { timeout: 20000 }, (e, out, err) => {
      const code = e ? (typeof e.code === 'number' ? e.code : -1) : 0;
      resolve({ code, out, err, json: code === 0 ? JSON.parse(out) : undefined });
    });
  });
}

describe('identities are compared exactly as the IdP sent them', () => {
  let site;
  let tmp;
  let attemptLog;
  const start = (id) => `${site.base}/p/${id}/env.cgi`;
  const login = (id, user, b = new Browser()) => b.login(start(id), user, `${user}-pass-test`);
  async function accounts() {
    const r = await ctl(site, ['users', 'list']);
    assert.equal(r.code, 0, `fedauthctl users list: ${r.out}${r.err}`);
    return r.json.map((a) => a.name).sort();
  }
  const attempts = () => fs.readFileSync(attemptLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-t721-'));
    fs.chmodSync(tmp, 0o755);
    attemptLog = path.join(tmp, 'attempts.log');
    site = await startSite({
      users: USERS,
      providers: [{ id: 'test' }, { id: 'oid', extra: '    IdentifyingClaim oid\n' }],
      serverConf: [
        'FedAuthRegistry On', 'FedAuthRegister On',
        `FedAuthRegistryDir "${path.join(tmp, 'registry')}"`,
        `FedAuthAttemptLog "${attemptLog}"`,
      ].join('\n'),
      locationsConf: perProviderLocations(['test', 'oid']),
    });
    const conf = path.join(site.httpd.dir, 'fedauthctl.conf');
    for (let i = 0; i < 200 && !fs.existsSync(conf); i++) await sleep(50);
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const spc = new Browser();

  it('spc (sub "esc [31mRED ") signs in: account spc, FEDAUTH_SUB is her sub as sent', async () => {
    const r = await login('test', 'spc', spc);
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'spc');
    assert.equal(env.FEDAUTH_SUB, SPC_SUB);
    assert.deepEqual(await accounts(), ['spc']);
  });

  it('ctl (sub "esc\\x1b[31mRED\\x07") is refused with 401 invalid_sub: not spc\'s account, no session, no account of its own', async () => {
    const b = new Browser();
    const r = await login('test', 'ctl', b);
    assert.notEqual(parseEnv(r.body).REMOTE_USER, 'spc', 'ctl signed in as spc\'s account');
    assertRefused(r, { status: 401, code: 'invalid_sub', id: 'test', browser: b, site });
    assert.doesNotMatch(r.body, /REMOTE_USER=spc/);
    assert.deepEqual(await accounts(), ['spc'], 'no account made or merged');
    const shown = await ctl(site, ['users', 'show', 'spc']);
    assert.equal(shown.code, 0, shown.err);
    assert.equal(JSON.stringify(shown.json).includes('RED'), true, 'spc keeps her link');
    assert.equal(shown.out.match(/RED/g).length, 1, `one link only: ${shown.out}`);
  });

  it('a sub with a TAB is refused the same way (it was kept, but is no key either)', async () => {
    const b = new Browser();
    const r = await login('test', 'tab', b);
    assertRefused(r, { status: 401, code: 'invalid_sub', id: 'test', browser: b, site });
  });

  it('the attempt log keys each attempt by the sub as sent: spc\'s success, ctl\'s failure with its own sub', async () => {
    const lines = attempts();
    const ok = lines.filter((a) => a.outcome === 'success');
    assert.deepEqual(ok.map((a) => a.sub), [SPC_SUB], JSON.stringify(lines));
    const refused = lines.filter((a) => a.reason === 'invalid_sub');
    assert.ok(refused.some((a) => a.sub === CTL_SUB), JSON.stringify(lines));
    assert.ok(!refused.some((a) => a.sub === SPC_SUB), JSON.stringify(lines));
  });

  it('back-channel logout by ctl\'s sub ends nothing of spc; by spc\'s sub it ends her session', async () => {
    const clientId = site.clients.test.client_id;
    let r = await postLogoutToken(site.base, 'test', await signAtIdp(site.idp, clientId, logoutClaims(site.idp, clientId, { sub: CTL_SUB })));
    assert.equal(r.status, 200, JSON.stringify(r));
    let again = await spc.getOnce(start('test'));
    assert.equal(again.status, 200, dump(again));
    assert.equal(parseEnv(again.body).FEDAUTH_SUB, SPC_SUB);
    r = await postLogoutToken(site.base, 'test', await signAtIdp(site.idp, clientId, logoutClaims(site.idp, clientId, { sub: SPC_SUB })));
    assert.equal(r.status, 200, JSON.stringify(r));
    again = await spc.getOnce(start('test'));
    assert.equal(again.status, 302, `spc's session ended: ${dump(again)}`);
  });

  it('IdentifyingClaim oid: "o X" signs in; "o\\x1bX" and the array ["o X"] are refused (invalid_sub), never spc\'s oid account', async () => {
    const r = await login('oid', 'spc');
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.FEDAUTH_SUB, 'o X');
    const names = await accounts();
    assert.ok(names.includes(env.REMOTE_USER), names.join(' '));
    for (const user of ['ctl', 'oarr']) {
      const b = new Browser();
      const x = await login('oid', user, b);
      assert.notEqual(parseEnv(x.body).REMOTE_USER, env.REMOTE_USER, `${user} signed in as the account of "o X"`);
      assertRefused(x, { status: 401, code: 'invalid_sub', id: 'oid', browser: b, site });
      assert.ok(!b.jar.get(SESSION_COOKIE));
    }
    assert.deepEqual(await accounts(), names, 'no account made or merged');
  });

  it('httpd stops cleanly; no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});

// ---- emails with several '@' or control characters ----------------------

const MAIL_USERS = [
  testUser('boss', 'mail', { email: 'boss@corp.example', groups: ['admins'] }),
  testUser('twoat', 'mail', { email: 'boss@corp.example@evil.example', groups: ['admins@x@y'] }),
  testUser('ctlmail', 'mail', { email: 'boss\x07@corp.example', groups: ['admins\x07'] }),
  testUser('nlmail', 'mail', { email: 'boss@corp.example\n', groups: 'admins\x1b staff' }),
];
const MAIL_RULES = [
  '    UsernameClaim email preferred_username',
  '    GroupsClaim groups', '    GroupMap admins admin',
  '    ValueMap email TENANT boss@corp.example t-boss 10', '    ValueMapDefault TENANT t-none', '',
].join('\n');

describe('emails with several @ or control characters', () => {
  let site;
  const url = (where) => (where === 'boss' ? `${site.base}/protected/env.cgi` : `${site.base}/p/mail/env.cgi`);
  const login = (where, user, b = new Browser()) => b.login(url(where), user, `${user}-pass-mail`);

  before(async () => {
    site = await startSite({
      users: MAIL_USERS,
      providers: [{ id: 'mail', extra: MAIL_RULES }],
      locationsConf: `${perProviderLocations(['mail'])}
<Location /protected>
    AuthType FedAuth
    Require fedauth-claim email:boss@corp.example
</Location>
`,
    });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('control: boss@corp.example becomes the user name, matches the Require, ValueMap and GroupMap', async () => {
    const b = new Browser();
    const r = await login('any', 'boss', b);
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'boss@corp.example');
    assert.equal(env.FEDAUTH_TENANT, 't-boss');
    assert.equal(env.FEDAUTH_ROLES, 'admin');
    assert.equal((await b.getOnce(url('boss'))).status, 200);
  });

  for (const [user, shown] of [
    ['twoat', 'boss@corp.example@evil.example'],
    ['ctlmail', 'boss\\x07@corp.example'],
    ['nlmail', 'boss@corp.example\\n'],
  ]) {
    it(`${user} (email ${shown}): not the user name (the next claim of the chain is), no Require fedauth-claim email:boss@corp.example, no ValueMap, no GroupMap role`, async () => {
      const b = new Browser();
      const r = await login('any', user, b);
      assert.equal(r.status, 200, dump(r));
      const env = parseEnv(r.body);
      assert.equal(env.REMOTE_USER, user, 'preferred_username, not the email');
      assert.equal(env.FEDAUTH_TENANT, 't-none');
      assert.notEqual(env.FEDAUTH_ROLES, 'admin');
      const denied = await b.getOnce(url('boss'));
      assert.equal(denied.status, 403, dump(denied));
      assert.ok(errorCodes(denied.body).includes('access_denied'), dump(denied));
    });
  }

  it('httpd stops cleanly; no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
