// SPDX-License-Identifier: Apache-2.0
// issue 23, secret rotation, the rest of what a FedAuthSecret keys: one
// httpd (shm store, registry in a directory, two IdPs with the chooser,
// FedAuthRememberChoice and FedAuthTokenLogin On) signs things under [old],
// then restarts (SIGHUP) with [new,old]: a remembered choice made under old
// still goes straight to its IdP (and is set again under new), a token-login
// code issued under old still becomes a session in the browser that asked,
// `fedauthctl sessions list|kill` finds a session made (and indexed)
// under old, and an ID token (token login) and a logout token used under
// old are refused as replays. With [new] alone, a remembered choice made only under old
// shows the chooser again.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import {
  startSite, Browser, parseEnv, dump, sleep, isDeletion, locationFor, assertToIdp, assertToChooser,
  REMEMBER_COOKIE, SESSION_COOKIE, removeDir,
} from '../lib/index.mjs';
import { makeTmpDir } from '../lib/httpd.mjs';
import { testUser } from '../lib/idp.mjs';
import { codeFlow, withSpaCallback, spaCallback, jsonOf } from '../lib/tokens.mjs';
import { logoutClaims, signAtIdp, postLogoutToken } from '../lib/cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FEDAUTHCTL = process.env.FEDAUTHCTL || path.resolve(here, '../../fedauthctl');
const OLD = `old-${crypto.randomBytes(16).toString('hex')}`;
const NEW = `new-${crypto.randomBytes(16).toString('hex')}`;
const PROT = '/protected/env.cgi';
const count = (text, re) => text.split('\n').filter((l) => re.test(l)).length;

async function setSecrets(h, list) {
  const conf = fs.readFileSync(h.confFile, 'utf8');
  assert.match(conf, /^FedAuthSecret .*$/m);
  fs.writeFileSync(h.confFile, conf.replace(/^FedAuthSecret .*$/m, `FedAuthSecret ${list.map((s) => `"${s}"`).join(' ')}`));
  const before = count(h.errorLog(), /FA00111/);
  process.kill(h.pid, 'SIGHUP');
  for (let i = 0; i < 150 && count(h.errorLog(), /FA00111/) <= before; i++) await sleep(100);
  assert.equal(count(h.errorLog(), /FA00111/), before + 1, h.errorLog());
  await sleep(300);
}

function ctl(site, args) {
  const conf = path.join(site.httpd.dir, 'fedauthctl.conf');
  return new Promise((resolve) => {
    execFile(FEDAUTHCTL, ['--conf', conf, '--json', ...args], { timeout: 20000 }, (e, out, err) => {
      const code = e ? (typeof e.code === 'number' ? e.code : -1) : 0;
      resolve({ code, out, err, json: code === 0 ? JSON.parse(out) : undefined });
    });
  });
}

describe('remembered choice, token-login codes and fedauthctl across a rotation', () => {
  let site;
  let regDir;
  let prot;
  const remembered = new Browser();
  const coder = new Browser();
  const carol = new Browser();
  let code;
  let rememberOld;
  let usedToken;
  let usedLogout;
  const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

  before(async () => {
    regDir = makeTmpDir('t911-registry');
    site = await startSite({
      secret: OLD,
      idps: [
        { name: 'A', users: [testUser('alice', 'A'), testUser('carol', 'A')], providers: [{ id: 'a', clientExtra: withSpaCallback }] },
        { name: 'B', users: [testUser('bruno', 'B')], providers: [{ id: 'b' }] },
      ],
      serverConf: `FedAuthRememberChoice On\nFedAuthTokenLogin On\nFedAuthRegistry On\nFedAuthRegister On\nFedAuthRegistryDir "${regDir}"\n`,
      locationsConf: locationFor('/protected'),
    });
    prot = `${site.base}${PROT}`;
    const conf = path.join(site.httpd.dir, 'fedauthctl.conf');
    for (let i = 0; i < 200 && !fs.existsSync(conf); i++) await sleep(50);
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    removeDir(regDir);
  });

  it('[old]: bruno remembers IdP b, a code is issued for alice, carol signs in (indexed under old)', async () => {
    const r = await remembered.login(`${site.base}/fedauth/login?idp=b&remember=1&return_to=${encodeURIComponent(PROT)}`, 'bruno', 'bruno-pass-B');
    assert.equal(r.status, 200, dump(r));
    rememberOld = remembered.jar.get(REMEMBER_COOKIE)?.value;
    assert.ok(rememberOld, 'remembered');
    remembered.jar.delete(SESSION_COOKIE);
    await assertToIdp(await remembered.getOnce(prot), site, 'b');

    const t = await codeFlow(site.idps.A, site.clients.a, { redirectUri: spaCallback(site.clients.a), password: 'alice-pass-A' });
    const c = await coder.request(`${site.base}/fedauth/authenticate`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ id_token: t.id_token, nonce: t.nonce, want: 'code' }).toString(),
    });
    assert.equal(c.status, 200, dump(c));
    code = jsonOf(c).code;
    assert.ok(code);

    assert.equal((await carol.login(`${site.base}/fedauth/login?idp=a&return_to=${encodeURIComponent(PROT)}`, 'carol', 'carol-pass-A')).status, 200);

    // an ID token used for a token login, and a logout token (for nobody)
    usedToken = await codeFlow(site.idps.A, site.clients.a, { redirectUri: spaCallback(site.clients.a), password: 'alice-pass-A' });
    const u = await new Browser().request(`${site.base}/fedauth/authenticate`, {
      method: 'POST', headers: FORM, body: new URLSearchParams({ id_token: usedToken.id_token, nonce: usedToken.nonce }).toString(),
    });
    assert.equal(u.status, 200, dump(u));
    usedLogout = await signAtIdp(site.idps.A, site.clients.a.client_id, logoutClaims(site.idps.A, site.clients.a.client_id, { sub: 'nobody-sub' }));
    assert.equal((await postLogoutToken(site.base, 'a', usedLogout)).status, 200);
  });

  it('[new,old]: the remembered choice made under old goes straight to IdP b and is set again under new', async () => {
    await setSecrets(site.httpd, [NEW, OLD]);
    const r = await remembered.getOnce(prot);
    await assertToIdp(r, site, 'b');
    const set = r.setCookies.filter((x) => x.name === REMEMBER_COOKIE && x.value && !isDeletion(x));
    assert.equal(set.length, 1, dump(r));
    assert.notEqual(set[0].value, rememberOld);
    assert.equal(set[0].value.split('.')[0], 'b');
  });

  it('[new,old]: the code issued under old becomes a session in the browser that asked', async () => {
    const r = await coder.getOnce(`${site.base}/fedauth/authenticate?code=${encodeURIComponent(code)}&return_to=${encodeURIComponent(PROT)}`);
    assert.equal(r.status, 302, dump(r));
    const p = await coder.get(prot);
    assert.equal(p.status, 200, dump(p));
    assert.equal(parseEnv(p.body).REMOTE_USER, 'alice');
  });

  it('[new,old]: an ID token and a logout token used under old are refused as replays', async () => {
    const u = await new Browser().request(`${site.base}/fedauth/authenticate`, {
      method: 'POST', headers: FORM, body: new URLSearchParams({ id_token: usedToken.id_token, nonce: usedToken.nonce }).toString(),
    });
    assert.equal(u.status, 401, dump(u));
    assert.equal(jsonOf(u).error, 'token_replayed', u.body);
    const l = await postLogoutToken(site.base, 'a', usedLogout);
    assert.equal(l.status, 400, l.body);
    assert.match(l.body, /replayed logout token/);
  });

  it('[new,old]: fedauthctl sessions list finds carol\'s session made under old, kill ends it', async () => {
    const list = await ctl(site, ['sessions', 'list', 'carol']);
    assert.equal(list.code, 0, `${list.out}\n${list.err}`);
    assert.equal(list.json.length, 1, list.out);
    const k = await ctl(site, ['sessions', 'kill', 'carol']);
    assert.equal(k.code, 0, `${k.out}\n${k.err}`);
    assert.equal(k.json.sessions_ended, 1, k.out);
    assert.equal((await carol.getOnce(`${site.base}/fedauth/session`)).status, 401);
  });

  it('[new] alone: a remembered choice made only under old shows the chooser again', async () => {
    await setSecrets(site.httpd, [NEW]);
    const x = new Browser();
    x.jar.set(site.base, REMEMBER_COOKIE, rememberOld);
    assertToChooser(await x.getOnce(prot), site, PROT);
    // the one set again under new still works
    await assertToIdp(await remembered.getOnce(prot), site, 'b');
    assert.deepEqual(site.troubles(), [], site.errorLog());
  });
});
