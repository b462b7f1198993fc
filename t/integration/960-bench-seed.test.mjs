// SPDX-License-Identifier: Apache-2.0
// issue 24, "One million sessions, measured": the benchmark's seeding tool
// (t/bench/seed.c, built by t/bench/seed.sh from the core's sources) writes
// sessions into the embedded store of a running httpd as a sign-in writes
// them. What a user sees: a seeded cookie and a cookie of a real sign-in
// through the IdP into the same store get the same page and the same
// environment (REMOTE_USER, AUTH_TYPE, the same FEDAUTH_* names), in every
// child, and their records are alike (same fields, size within a few
// bytes). What an attacker must not get: the production build has nothing
// of the tool (no seeding symbol or string in mod_fedauth.so, no directive,
// no endpoint), a seeded cookie with one changed character is no session,
// and the tool refuses a store file of another size without replacing the
// file httpd maps (the signed-in user stays signed in).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

import {
  startSite, Browser, parseEnv, dump, protectedLocation, SESSION_COOKIE, REPO, modulePath, assertToIdp,
} from '../lib/index.mjs';
import { defaultUsers } from '../lib/idp.mjs';
import { benchUser } from '../bench/setup.mjs';

const SEED = path.join(REPO, 'build', 'out', 'bench', 'seed');
const SHM_BYTES = 8 * 1024 * 1024;
const hasGcc = spawnSync('sh', ['-c', 'command -v gcc && command -v pkg-config'], { encoding: 'utf8' }).status === 0;

/** GET path with only the given Cookie header, a new connection each time (any child). */
async function getWith(base, p, cookie) {
  const r = await fetch(`${base}${p}`, { headers: { Cookie: cookie, Connection: 'close' }, redirect: 'manual' });
  return { status: r.status, headers: r.headers, location: r.headers.get('location'), body: await r.text(), url: `${base}${p}` };
}

const authNames = (env) => Object.keys(env).filter((k) => k === 'REMOTE_USER' || k === 'AUTH_TYPE' || k.startsWith('FEDAUTH_')).sort();

describe('t/bench/seed.c: seeded sessions are sessions like any other, and only the benchmark has the tool', { skip: !hasGcc && 'gcc/pkg-config not installed' }, () => {
  let site;
  let dir;
  let shm;
  let seeded;
  const real = new Browser();
  const user = benchUser(3);

  before(async () => {
    execFileSync(path.join(REPO, 't', 'bench', 'seed.sh'), { cwd: REPO, stdio: 'pipe' });
    site = await startSite({
      users: [...defaultUsers(), user],
      serverConf: `FedAuthSessionStore shm:${SHM_BYTES / 1048576}M`,
      locationsConf: protectedLocation('/protected'),
    });
    dir = fs.mkdtempSync('/tmp/fedauth-960-');
    shm = path.join(site.httpd.dir, 'fedauth-sessions.shm');
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes sessions into the running httpd\'s shm store (users 1 and 2)', () => {
    const out = path.join(dir, 'cookies.txt');
    const j = JSON.parse(execFileSync(SEED, ['--store', `shm:${shm}:${SHM_BYTES}`, '--secret', site.secret,
      '--idp', 'test', '--iss', site.idp.issuer, '--aud', site.clients.test.client_id, '--n', '2', '--out', out], { encoding: 'utf8' }));
    assert.equal(j.seeded, 2);
    assert.equal(j.failed, 0);
    seeded = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
    assert.deepEqual(seeded.map((x) => x[1]), ['user00001', 'user00002']);
    for (const [c] of seeded) assert.match(c, new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{22}$`));
  });

  it('a real sign-in of user00003 through the IdP into the same store', async () => {
    const r = await real.login(`${site.base}/protected/env.cgi`, user.username, user.password);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'user00003');
  });

  it('seeded and signed-in cookies get the page and the same environment, in every child', async () => {
    const mine = await real.getOnce(`${site.base}/protected/env.cgi`);
    assert.equal(mine.status, 200, dump(mine));
    const envReal = parseEnv(mine.body);
    for (let round = 0; round < 4; round++) {
      for (const [i, [cookie, name]] of seeded.entries()) {
        const r = await getWith(site.base, '/protected/env.cgi', cookie);
        assert.equal(r.status, 200, `seeded session ${i + 1}, round ${round + 1}: ${dump(r)}`);
        const env = parseEnv(r.body);
        assert.equal(env.REMOTE_USER, name);
        assert.equal(env.AUTH_TYPE, envReal.AUTH_TYPE);
        assert.deepEqual(authNames(env), authNames(envReal));
        assert.equal(env.FEDAUTH_IDP, envReal.FEDAUTH_IDP);
        assert.equal(env.FEDAUTH_ROLES, envReal.FEDAUTH_ROLES);
        assert.equal(env.FEDAUTH_EMAIL, `${name}@bench.example.org`);
      }
    }
  });

  it('their records are alike: the same fields, sizes within 16 bytes, ID tokens of the same claims', () => {
    const file = path.join(dir, 'inspect.txt');
    const realCookie = `${SESSION_COOKIE}=${real.jar.cookiesFor(site.base).find((c) => c.name === SESSION_COOKIE).value}`;
    fs.writeFileSync(file, `${[seeded[0][0], seeded[1][0], realCookie].join('\n')}\n`, { mode: 0o600 });
    const recs = execFileSync(SEED, ['--store', `shm:${shm}:${SHM_BYTES}`, '--secret', site.secret, '--inspect', file], { encoding: 'utf8' })
      .split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(recs.length, 3);
    for (const r of recs) assert.equal(r.found, true);
    assert.equal(new Set(recs.map((r) => r.tags)).size, 1, JSON.stringify(recs.map((r) => r.tags)));
    const sizes = recs.map((r) => r.bytes);
    const parts = (r) => r.jwt.split('.').slice(0, 2).map((x) => Buffer.from(x, 'base64url').toString()).join(' ');
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 16, `record sizes ${sizes}: ${recs.map(parts).join('\n')}`);
    const claims = recs.map((r) => Object.keys(JSON.parse(Buffer.from(r.jwt.split('.')[1], 'base64url'))).sort().join(','));
    assert.equal(new Set(claims).size, 1, claims.join(' | '));
  });

  it('a seeded cookie with one character changed is no session: to the IdP, no page', async () => {
    const [cookie] = seeded[0];
    const last = cookie.at(-1);
    const forged = cookie.slice(0, -1) + (last === 'A' ? 'B' : 'A');
    const r = await getWith(site.base, '/protected/env.cgi', forged);
    assert.notEqual(r.status, 200, dump(r));
    await assertToIdp(r, site, 'test');
    assert.doesNotMatch(r.body, /user00001/);
  });

  it('refuses a store file of another size and leaves httpd\'s file alone: everyone stays signed in', async () => {
    const before = fs.statSync(shm);
    const r = spawnSync(SEED, ['--store', `shm:${shm}:${SHM_BYTES * 2}`, '--secret', site.secret, '--idp', 'test',
      '--n', '1', '--out', path.join(dir, 'x.txt')], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is not a store of 16777216 bytes/);
    const after = fs.statSync(shm);
    assert.equal(after.ino, before.ino);
    assert.equal(after.size, SHM_BYTES);
    const again = await getWith(site.base, '/protected/env.cgi', seeded[1][0]);
    assert.equal(again.status, 200, dump(again));
    assert.equal(parseEnv(again.body).REMOTE_USER, 'user00002');
  });

  it('the production module has nothing of the tool: no seeding symbol or string, no directive, no endpoint', async () => {
    const so = fs.readFileSync(modulePath()).toString('latin1');
    for (const s of ['seed_one', 'user_claims', 'record_tags', 'bench-sub-', 'bench.example.org', '--inspect',
      'seed: ', 'FedAuthSeed', 't/bench/seed']) {
      assert.equal(so.includes(s), false, `mod_fedauth.so holds "${s}"`);
    }
    const syms = execFileSync('nm', ['-D', '--defined-only', modulePath()], { encoding: 'utf8' });
    assert.doesNotMatch(syms, /seed/i);
    for (const p of ['/fedauth/seed', '/fedauth/seed?n=1']) {
      const r = await getWith(site.base, p, '');
      assert.notEqual(r.status, 200, `${p}: ${dump(r)}`);
    }
  });
});
