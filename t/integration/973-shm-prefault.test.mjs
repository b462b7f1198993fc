// SPDX-License-Identifier: Apache-2.0
// issue 24, "A million sessions", second pass: each httpd child maps the
// embedded store's segment itself, and used to take a page fault on the
// first touch of every page of it (at 1,000,000 sessions, a third of the
// requests of a benchmark round). Now a thread of each child maps the
// used part (up to the blocks' high-water mark) ahead of the requests
// (MADV_POPULATE_READ) and says so once (FA01680). What a user sees:
// nothing but faster first requests; every seeded session is still a
// session in every new child, a graceful restart and stop with the thread
// running leave no crashed child, and the line names the used part, which
// grows with what the store holds.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

import { startSite, parseEnv, dump, protectedLocation, REPO, sleep } from '../lib/index.mjs';

const SEED = path.join(REPO, 'build', 'out', 'bench', 'seed');
const SHM_MIB = 16;
const N = 3000;
const hasGcc = spawnSync('sh', ['-c', 'command -v gcc && command -v pkg-config'], { encoding: 'utf8' }).status === 0;
const LINE = /FA01680.*mapped its used part ahead of requests, (\d+) MiB of (\d+) in (\d+) ms/;

const lines = (site, re) => site.errorLog().split('\n').filter((l) => re.test(l));
const pidOf = (l) => (/\[pid (\d+)/.exec(l) || [])[1];

/** Waits (bounded) until at least n FA01680 lines are in the log. */
async function prefaultLines(site, n) {
  for (let i = 0; i < 150 && lines(site, LINE).length < n; i++) await sleep(100);
  return lines(site, LINE);
}

async function getWith(base, p, cookie) {
  const r = await fetch(`${base}${p}`, { headers: { Cookie: cookie, Connection: 'close' }, redirect: 'manual' });
  return { status: r.status, headers: r.headers, location: r.headers.get('location'), body: await r.text(), url: `${base}${p}` };
}

describe('embedded store: each child maps the used part of the segment ahead of its requests', { skip: !hasGcc && 'gcc/pkg-config not installed' }, () => {
  let site;
  let dir;
  let seeded;

  before(async () => {
    execFileSync(path.join(REPO, 't', 'bench', 'seed.sh'), { cwd: REPO, stdio: 'pipe' });
    site = await startSite({
      serverConf: `FedAuthSessionStore shm:${SHM_MIB}M`,
      locationsConf: protectedLocation('/protected'),
    });
    dir = fs.mkdtempSync('/tmp/fedauth-973-');
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('each child says once that it mapped the used part (FA01680), the store nearly empty', async () => {
    const ls = await prefaultLines(site, 2);
    assert.ok(ls.length >= 2, site.errorLog());
    const pids = ls.map(pidOf);
    assert.equal(new Set(pids).size, pids.length, `one line per child: ${ls.join('\n')}`);
    for (const l of ls) {
      const [, span, all] = LINE.exec(l).map(Number);
      assert.equal(all, SHM_MIB);
      assert.ok(span <= 2, `an empty store's used part is its tables only: ${l}`);
    }
    assert.equal(lines(site, /FA01681/).length, 0, 'the kernel here (Linux >= 5.14) does it');
  });

  it(`after ${N} sessions are written and a graceful restart, the new children map what they hold`, async () => {
    const shm = path.join(site.httpd.dir, 'fedauth-sessions.shm');
    const out = path.join(dir, 'cookies.txt');
    const j = JSON.parse(execFileSync(SEED, ['--store', `shm:${shm}:${SHM_MIB * 1048576}`, '--secret', site.secret,
      '--idp', 'test', '--iss', site.idp.issuer, '--aud', site.clients.test.client_id, '--n', String(N), '--out', out],
    { encoding: 'utf8' }));
    assert.equal(j.seeded, N);
    seeded = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
    const before = lines(site, LINE).length;
    process.kill(site.httpd.pid, 'SIGUSR1');
    const ls = await prefaultLines(site, before + 2);
    const fresh = ls.slice(before);
    assert.ok(fresh.length >= 2, site.errorLog());
    for (const l of fresh) {
      const [, span] = LINE.exec(l).map(Number);
      // 3,000 sessions of 11 blocks of 128 bytes: about 4 MiB of blocks
      assert.ok(span >= 4 && span <= SHM_MIB, `the used part grew with the sessions: ${l}`);
    }
  });

  it('every seeded session is a session in the new children (a sample over the list, new connections)', async () => {
    for (let i = 0; i < N; i += 97) {
      const [cookie, user] = seeded[i];
      const r = await getWith(site.base, '/protected/env.cgi', cookie);
      assert.equal(r.status, 200, `session ${i + 1}: ${dump(r)}`);
      assert.equal(parseEnv(r.body).REMOTE_USER, user);
    }
  });

  it('the old children ended without a crash (the thread is joined at the child\'s end)', async () => {
    await sleep(300);
    assert.doesNotMatch(site.errorLog(), /exit signal|Segmentation|AH00052|core dumped/);
  });
});
