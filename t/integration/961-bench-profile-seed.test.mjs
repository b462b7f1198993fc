// SPDX-License-Identifier: Apache-2.0
// issue 24, "Instructions per request" with a million sessions: the
// profiler's seeded mode (t/bench/profile.mjs --callgrind --seed N), run
// small. What its user must be able to trust: A and B are both measured,
// in both windows, with the same Cookie header shape (A's made by
// fakeCookies, which plain httpd ignores); every response was a 200; the
// "distinct" window really sends cookies httpd has not seen (their HMAC
// shows in B's module functions, and not when one cookie is repeated);
// the 1.9 GB-class store file under /dev/shm and the live cookies are
// gone afterwards. Its argument errors stop it before any server starts.
// --perf --seed (one server) runs wrk through the seeded cookies after an
// unsampled warm-up and writes the profile (needs perf and wrk).
// The callgrind part needs valgrind (not in CI: skipped there), gcc and
// pkg-config (t/bench/seed.sh), and a module without sanitizers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { REPO, sanitizerEnv } from '../lib/index.mjs';

const PROFILE = path.join(REPO, 't', 'bench', 'profile.mjs');
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
const hasTools = has('valgrind') && has('callgrind_annotate') && has('gcc') && has('pkg-config');
// valgrind cannot run a sanitizer build (the ASan and TSan tiers' module)
const sanitized = !!sanitizerEnv().LD_PRELOAD;

/** profile.mjs with args: { status, stdout, stderr }. */
function profile(args, timeout = 60000) {
  const r = spawnSync(process.execPath, [PROFILE, ...args], { cwd: REPO, encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

describe('profile.mjs --seed: argument errors stop it before any server starts', () => {
  const cases = [
    [['--callgrind', '--seed', '1'], /--seed N: a whole number of at least 2/],
    [['--callgrind', '--seed', 'many'], /--seed N: a whole number of at least 2/],
    [['--callgrind', '--seed', '100', '--sessions', '5'], /--seed N and --sessions N: one or the other/],
    [['--perf', '--seed', '100'], /--perf --seed N: with --server A or B/],
    [['--perf', '--seed', '100', '--server', 'C'], /--seed N: --server A or B/],
    [['--callgrind', '--seed', '100', '--server', 'C'], /--seed N: --server A or B/],
    [['--callgrind', '--seed', '100', '--requests', '0'], /--requests R: a whole number of at least 1/],
  ];
  for (const [args, msg] of cases) {
    it(args.join(' '), () => {
      const r = profile(args, 20000);
      assert.equal(r.status, 2, `${r.stderr}${r.stdout}`);
      assert.match(r.stderr, msg);
      assert.doesNotMatch(r.stderr, /\[profile\]/, 'nothing started');
    });
  }
});

describe('profile.mjs --callgrind --seed 400 --requests 300: A and B, both windows, all 200', {
  skip: (!hasTools && 'valgrind, callgrind_annotate, gcc or pkg-config not installed')
    || (sanitized && 'a sanitizer build of the module: valgrind cannot run it'),
}, () => {
  let out;
  let r;
  let md;
  before(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-961-'));
    const t0 = Date.now();
    r = profile(['--callgrind', '--seed', '400', '--requests', '300', '--out-dir', out], 120000);
    r.seconds = (Date.now() - t0) / 1000;
    const f = path.join(out, 'callgrind-seed-400.md');
    md = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  });
  after(() => {
    if (out) fs.rmSync(out, { recursive: true, force: true });
  });

  const rows = () => md.split('\n').filter((l) => /^\| [AB] /.test(l)).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));

  it('ends well and writes the table: A and B, distinct and repeated, every response a 200', () => {
    assert.equal(r.status, 0, `${r.error || ''}\n${r.stderr.slice(-3000)}`);
    const t = rows();
    assert.equal(t.length, 4, md);
    const byKey = Object.fromEntries(t.map((c) => [`${c[0][0]} ${c[1]}`, c]));
    for (const key of ['A 300 distinct', 'A one, repeated', 'B 300 distinct', 'B one, repeated']) {
      const c = byKey[key];
      assert.ok(c, `no row "${key}" in\n${md}`);
      assert.equal(c[3], '300', key);
      assert.equal(c[4], '0', `${key}: responses not 200`);
      assert.ok(Number(c[6]) > 10000, `${key}: ${c[6]} instructions per request`);
      if (key[0] === 'B') assert.match(c[7], /^[+-]\d+\.\d%$/, `${key}: over A`);
    }
    console.log(`profile.mjs --seed 400 --requests 300: ${r.seconds.toFixed(1)} s\n${md.split('\n').filter((l) => l.startsWith('| ')).slice(0, 6).join('\n')}`);
  });

  it('A gets a Cookie header of B\'s shape, and says so', () => {
    const shapes = new Set(rows().map((c) => c[2]));
    assert.deepEqual([...shapes], ['fedauth_session=<43>.<22> (82 bytes)']);
    assert.match(r.stderr, /A plain httpd \(no auth\): Cookie fedauth_session=<43>\.<22> \(82 bytes\) \(fakeCookies/);
  });

  it('the distinct window sends cookies httpd has not seen: their HMAC in B\'s functions, none when one repeats', () => {
    const line = md.split('\n').find((l) => l.startsWith('| fa_session.c:session_mac '));
    assert.ok(line, md);
    const [, distinct, repeated] = line.split('|').slice(1, -1).map((c) => c.trim());
    assert.ok(Number(distinct) > 1000, `session_mac per request, distinct: ${distinct}`);
    assert.ok(repeated === '-' || Number(repeated) < 50, `session_mac per request, repeated: ${repeated}`);
    assert.match(md, /records alike/);
    assert.match(md, /then 400 seeded by t\/bench\/seed\.c/);
  });

  it('leaves no store file and no cookie file behind', () => {
    const m = /the store's file: (\S+)/.exec(r.stderr);
    assert.ok(m, r.stderr.slice(-2000));
    assert.equal(fs.existsSync(m[1]), false, `${m[1]} is still there`);
    assert.equal(fs.existsSync(path.dirname(m[1])), false);
    assert.doesNotMatch(fs.readdirSync(out).join(' '), /cookies|seeded/);
  });

  it('took less than 60 s', () => {
    assert.ok(r.seconds < 60, `${r.seconds} s`);
  });
});

describe('profile.mjs --perf --server B --seed 200 --requests 200 --warmup 1: wrk through the seeded cookies, every response a 200, the profile names the module', {
  skip: (!(has('perf') && has('wrk') && has('gcc') && has('pkg-config')) && 'perf, wrk, gcc or pkg-config not installed')
    || (sanitized && 'a sanitizer build of the module: its samples would be the sanitizer\'s'),
}, () => {
  let out;
  let r;
  let txt;
  before(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-961-perf-'));
    r = profile(['--perf', '--server', 'B', '--seed', '200', '--requests', '200', '--seconds', '3', '--warmup', '1', '--out-dir', out], 120000);
    const f = path.join(out, 'perf-B-seed-200.txt');
    txt = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  });
  after(() => {
    if (out) fs.rmSync(out, { recursive: true, force: true });
  });

  it('ends well: a warm-up first, then the sampled run through 199 seeded cookies with none but 200s, and the module\'s share', () => {
    // perf may be refused samples (perf_event_paranoid): then the run
    // still ends well, with an empty profile
    assert.equal(r.status, 0, `${r.error || ''}\n${r.stderr.slice(-3000)}`);
    assert.match(r.stderr, /warm-up: [\d.]+ req\/s for 1 s/);
    assert.match(txt, /^# perf profile of B mod_fedauth shm, [\d.]+ req\/s under wrk -t2 -c32, cycling through 199 cookies \(0 responses not 200\)/);
    assert.match(txt, /## the module's share: \d+ of \d+ samples/);
  });

  it('leaves no store file behind', () => {
    const m = /the store's file: (\S+)/.exec(r.stderr);
    assert.ok(m, r.stderr.slice(-2000));
    assert.equal(fs.existsSync(m[1]), false, `${m[1]} is still there`);
  });
});
