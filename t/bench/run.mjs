#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Side-by-side benchmark of the per-request path (issue 8): the same 1 KiB
// static file served by httpd instances with identical MPM settings,
//   A  plain httpd, no auth module
//   B  mod_fedauth, embedded shm session store
//   C  mod_fedauth, FedAuthSessionStore redis://127.0.0.1:<port>
//   D  mod_auth_openidc (Debian's), server-side sessions in its shm cache
//   E  mod_auth_openidc, server-side sessions in Redis
//   F  mod_fedauth, Redis, FedAuthSessionLocalCache 0 (Redis on every request)
// one sign-in per server through the real test IdP (t/idp/server.mjs),
// login time measured (sequential, median), then wrk rounds interleaved
// A B C D E F A B C D E F ... with the session cookie. With --sessions N,
// N sessions per server (16 sign-ins at a time; with --distinct-users each
// of its own IdP account), each asked once after the sign-ins, and wrk
// cycles through the N cookies (report.lua). See t/bench/README.md.
//
//   node t/bench/run.mjs [--rounds 5] [--seconds 10] [--only A,B,...]
//                        [--logins 10] [--threads 2] [--connections 32]
//                        [--warmup 3|60,H=900] [--steady] [--pin]
//                        [--mutex default|file|sysvsem|...]
//                        [--conf 'Directive for every server' ...]
//                        [--no-count-status] [--wait-idle S] [--retries 2]
//                        [--max-noise 0.15] [--smoke]
//                        [--sessions N] [--distinct-users] [--shm-size 64M]
//                        [--login-concurrency 16] [--max-failed-logins 5]
//                        [--seed N] [--sample 50] [--check-sample K] [--skew]
//                        [--host-cache SIZE|auto]
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import { checkErrorLog, REPO, APACHE, modulePath } from '../lib/index.mjs';
import { stopChild, spawnTracked, sleep } from '../lib/procs.mjs';
import { makeTmpDir, removeDir } from '../lib/httpd.mjs';
import { FILE_PATH, FILE_BYTES, MPM, cpuSeconds, childrenRssKiB, minorFaults } from './servers.mjs';
import {
  SERVERS, ALL, USES_REDIS, FEDAUTH, available, startBench, loginOnce, signInMany, sessionLogin,
  checkSessions, writeCookieFile, fakeCookies, openidcShmMax, OPENIDC_SHM_ENTRY, maxSessionsPerUser,
  MANY_IDLE_S, MANY_MAX_AGE_S, benchUser, moduleId,
} from './setup.mjs';
import { buildSeed, seedStore, inspectRecords, storeUsage, shmSizeFor, hostCacheSizeFor } from './seeding.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const LUA = path.join(here, 'report.lua');
const OUT_DIR = path.join(REPO, 'build', 'out', 'bench');

// ------------------------------------------------------------------ options
const { values: o } = parseArgs({
  options: {
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    only: { type: 'string' },
    logins: { type: 'string' },
    threads: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    warmup: { type: 'string' },
    steady: { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
    mutex: { type: 'string', default: 'default' },
    conf: { type: 'string', multiple: true, default: [] },
    'no-count-status': { type: 'boolean', default: false },
    'wait-idle': { type: 'string' },
    retries: { type: 'string' },
    'max-noise': { type: 'string' },
    smoke: { type: 'boolean', default: false },
    sessions: { type: 'string' },
    'distinct-users': { type: 'boolean', default: false },
    'shm-size': { type: 'string' },
    'host-cache': { type: 'string' },
    'login-concurrency': { type: 'string' },
    'max-failed-logins': { type: 'string' },
    seed: { type: 'string' },
    sample: { type: 'string' },
    'check-sample': { type: 'string' },
    skew: { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (o.help) {
  process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8')
    .split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
  process.exit(0);
}
const int = (v, d, name) => {
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) { console.error(`bad --${name} ${v}`); process.exit(2); }
  return n;
};
const SMOKE = o.smoke;
const ROUNDS = int(o.rounds, SMOKE ? 1 : 5, 'rounds');
const SECONDS = int(o.seconds, SMOKE ? 2 : 10, 'seconds');
const LOGINS = int(o.logins, SMOKE ? 2 : 10, 'logins');
// --warmup S[,K=S2...]: S seconds of wrk per server before the rounds, S2
// for server K (H=900: a host copy's life and more, so that the rounds
// see copies ending as they do in a steady state, not all at once)
const WARMUP_PER = {};
for (const part of (o.warmup || '').split(',').slice(1)) {
  const m = /^([A-Z])=(\d+)$/i.exec(part.trim());
  if (!m) { console.error(`bad --warmup ${o.warmup} (e.g. 60 or 60,H=900)`); process.exit(2); }
  WARMUP_PER[m[1].toUpperCase()] = Number(m[2]);
}
const WARMUP = int(o.warmup === undefined ? undefined : o.warmup.split(',')[0], SMOKE ? 0 : 3, 'warmup');
const warmupOf = (k) => WARMUP_PER[k] ?? WARMUP;
// --steady: with a cookie list, each wrk run of a server goes on in the
// list where the one before it stopped (BENCH_START), as a site's users
// do not start over every ten seconds, instead of from the start each time
const STEADY = o.steady;
const THREADS = int(o.threads, 2, 'threads');
const CONNS = int(o.connections, 32, 'connections');
const COUNT_STATUS = !o['no-count-status'];
const WAIT_IDLE = int(o['wait-idle'], 0, 'wait-idle');
const RETRIES = int(o.retries, SMOKE ? 0 : 2, 'retries');
const MAX_NOISE = int(o['max-noise'], 0.15, 'max-noise');
// --seed N: N sessions written into each store by t/bench/seed.c, plus
// --sample real sign-ins through the IdP into the same store (issue 24)
const SEED = Math.floor(int(o.seed, 0, 'seed'));
const SAMPLE = Math.max(1, Math.floor(int(o.sample, 50, 'sample')));
if (SEED && o.sessions) { console.error('--seed N and --sessions N: one or the other'); process.exit(2); }
const SESSIONS = SEED ? SEED + SAMPLE : Math.max(1, Math.floor(int(o.sessions, 1, 'sessions')));
const MANY = SESSIONS > 1;
const DISTINCT = o['distinct-users'] || !!SEED;
const SHM_SIZE = o['shm-size'] || (SEED ? shmSizeFor(SESSIONS) : null);
// --host-cache SIZE|auto: H with FedAuthSessionHostCache (auto: 550 bytes per session)
const HOST_CACHE = o['host-cache'] === 'auto' ? hostCacheSizeFor(SESSIONS) : (o['host-cache'] || null);
if (HOST_CACHE && !/^\d+[KkMmGg]?$/.test(HOST_CACHE)) { console.error(`bad --host-cache ${HOST_CACHE} (e.g. 2G, 512M, auto)`); process.exit(2); }
// --check-sample K: the checks before and after the rounds ask K sessions
// spread evenly over the list (the real sign-ins always), not all N
const CHECK_SAMPLE = Math.floor(int(o['check-sample'], 0, 'check-sample'));
const checkList = (list) => {
  if (!CHECK_SAMPLE || CHECK_SAMPLE >= list.length) return list;
  const step = (list.length - SAMPLE) / CHECK_SAMPLE;
  const out = [];
  for (let i = 0; i < CHECK_SAMPLE; i++) out.push(list[Math.floor(i * step)]);
  return [...out, ...list.slice(list.length - SAMPLE)];
};
// --skew: wrk picks each request's cookie with Zipf's law (report.lua,
// BENCH_SKEW) instead of cycling through all of them in turn
const SKEW = o.skew;
if (SKEW && !MANY) { console.error('--skew needs --seed N or --sessions N with N > 1'); process.exit(2); }
const LOGIN_CONC = Math.max(1, Math.floor(int(o['login-concurrency'], 16, 'login-concurrency')));
const MAX_FAILED = Math.floor(int(o['max-failed-logins'], 5, 'max-failed-logins'));
if (DISTINCT && !MANY) { console.error('--distinct-users needs --sessions N with N > 1'); process.exit(2); }
if (SHM_SIZE && !/^\d+[KkMm]?$/.test(SHM_SIZE)) { console.error(`bad --shm-size ${SHM_SIZE} (e.g. 64M, 262144K)`); process.exit(2); }
// with many sessions every response is looked at: a non-200 is a lost session
const COUNT = COUNT_STATUS || MANY;
// H (a Redis Cluster) only when asked for, or with --seed: A B C H
const DEFAULT_SERVERS = SEED ? ['A', 'B', 'C', 'H'] : ALL.filter((x) => x !== 'H');
let wanted = o.only ? o.only.toUpperCase().split(',').map((s) => s.trim()).filter(Boolean) : (SMOKE ? ['A', 'B'] : DEFAULT_SERVERS);
if (SEED && wanted.some((x) => !['A', 'B', 'C', 'H'].includes(x))) { console.error('--seed: only A, B, C and H'); process.exit(2); }
for (const w of wanted) if (!ALL.includes(w)) { console.error(`--only: unknown server ${w} (${ALL[0]}-${ALL[ALL.length - 1]})`); process.exit(2); }
wanted = ALL.filter((x) => wanted.includes(x));
const COMMAND = `node ${path.relative(process.cwd(), fileURLToPath(import.meta.url)) || 't/bench/run.mjs'} ${process.argv.slice(2).join(' ')}`.trim();

const log = (...a) => console.error('[bench]', ...a);
const notes = [];

// ------------------------------------------------------------------ helpers
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');

function which(cmd) {
  try { return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null; } catch { return null; }
}

/**
 * One GET exactly as wrk sends it (HTTP/1.1, Host, Cookie), over a raw
 * socket: { status, bytes (whole response), body, head }. Redirects are
 * not followed: anything but 200 is a failure for the benchmark.
 */
function rawGet(port, pathName, cookie, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const done = (r) => { clearTimeout(t); s.destroy(); resolve(r); };
    const t = setTimeout(() => done({ status: 0, error: 'timeout' }), timeoutMs);
    s.on('error', (e) => done({ status: 0, error: e.message }));
    s.on('connect', () => {
      s.write(`GET ${pathName} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${cookie ? `Cookie: ${cookie}\r\n` : ''}\r\n`);
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(head)?.[1] || 0);
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!cl) { if (/\r\ntransfer-encoding:/i.test(head)) done({ status, head, bytes: NaN, body: '' }); return; }
      const total = end + 4 + Number(cl[1]);
      if (buf.length >= total) {
        done({ status, head, bytes: total, body: buf.subarray(end + 4, total).toString('latin1') });
      }
    });
  });
}

/**
 * wrk run: resolves the parsed WRKJSON line plus the text output and wrk's
 * own CPU seconds (a shell runs it and reports its reaped child's time).
 */
function runWrk({ url, cookie, cookieFile, seconds, cpus, start = 0 }) {
  const args = [`-t${THREADS}`, `-c${CONNS}`, `-d${seconds}s`, '--latency', '-s', LUA];
  if (cookie && !cookieFile) args.push('-H', `Cookie: ${cookie}`);
  args.push(url);
  const cmd = cpus ? ['taskset', '-c', cpus, 'wrk', ...args] : ['wrk', ...args];
  const script = '"$@"; rc=$?; echo "WRKCPU $(cat /proc/$$/stat)"; exit $rc';
  return new Promise((resolve) => {
    const child = spawnTracked('sh', ['-c', script, 'sh', ...cmd], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        BENCH_COUNT_STATUS: COUNT ? '1' : '0',
        BENCH_COOKIES: cookieFile || '',
        BENCH_THREADS: String(THREADS),
        BENCH_SKEW: SKEW && cookieFile ? '1' : '0',
        BENCH_START: String(start),
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    // with a cookie list, each wrk thread first formats a request per
    // cookie (a million take tens of seconds on a busy machine)
    const killer = setTimeout(() => { stopChild(child, 2000); }, (seconds + 30 + (cookieFile ? SESSIONS / 10000 : 0)) * 1000);
    child.exited.then((info) => {
      clearTimeout(killer);
      const m = /^WRKJSON (\{.*\})$/m.exec(out);
      let j = null;
      try { j = m ? JSON.parse(m[1]) : null; } catch { j = null; }
      const non2xx3xx = Number(/Non-2xx or 3xx responses:\s*(\d+)/.exec(out)?.[1] || 0);
      let cpu = NaN;
      const st = /^WRKCPU .*\) (.*)$/m.exec(out);
      if (st) {
        const f = st[1].split(' ');   // f[0] is field 3 (state)
        cpu = (Number(f[13]) + Number(f[14])) / 100;   // cutime + cstime
      }
      resolve({ ok: !!j && info.code === 0, j, text: out, stderr: err, non2xx3xx, cpu });
    });
  });
}

/** Busy and total jiffies of all CPUs (/proc/stat). */
function machineTicks() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] || 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * With --wait-idle S: wait (at most S seconds) until the machine's CPUs
 * are less than 10 % busy over one second; our servers are idle between
 * rounds, so what is left is someone else's work. Returns the last busy %.
 */
async function waitIdle(maxSeconds) {
  const deadline = Date.now() + maxSeconds * 1000;
  let busy = 0;
  for (;;) {
    const a = machineTicks();
    await sleep(1000);
    const b = machineTicks();
    busy = (100 * (b.busy - a.busy)) / Math.max(1, b.total - a.total);
    if (busy < 10 || Date.now() >= deadline) return busy;
  }
}

/** "302 x12, 500 x1" */
const fmtStatuses = (st) => Object.entries(st).map(([k, v]) => `${k} x${v}`).join(', ');
/** One session check (checkSessions) in words: what was not a 200, and
 * how many requests were asked again after a kept-alive connection closed. */
const checkText = (c) => `${c.bad} of ${c.asked} sessions answered non-200${c.bad ? ` (${fmtStatuses(c.statuses)}; the first: session ${c.firstBad.i + 1})` : ''}`
  + `${c.retried ? `, ${c.retried} asked again on a new connection after a keep-alive one closed` : ''}`;

/** What the results file says about the many-session setup. */
function manyText() {
  if (SEED) {
    return `Sessions (--seed): ${SEED} per authenticated server written into its store by t/bench/seed.c through mod_fedauth's core (users user00001..,
each as a sign-in of that IdP account writes it: claims mapped, record encoded, stored, indexed by sub and sid), then ${SAMPLE} real sign-ins through
the IdP (users ${SEED + 1}..${SEED + SAMPLE}) into the same store, ${LOGIN_CONC} at a time; every session asked once before and once after the rounds
(32 requests in flight); ${SKEW ? `wrk picks among the ${SESSIONS} cookies with Zipf's law (--skew: the k-th with a chance of about 1 / (k ln N))` : `wrk cycles through all ${SESSIONS} cookies`}. B: FedAuthSessionStore shm:${SHM_SIZE}. H: a Redis Cluster of 3 masters (no
replicas), per-process copies (the default)${HOST_CACHE ? ` and FedAuthSessionHostCache ${HOST_CACHE}` : ''}. Every server: idle timeout ${MANY_IDLE_S} s, max age ${MANY_MAX_AGE_S} s.`;
  }
  return `Sessions: ${SESSIONS} per authenticated server, ${DISTINCT ? `each of its own IdP account (user00001..user${String(SESSIONS).padStart(5, '0')}: sub, preferred_username, email, name, given and family name, locale, groups)` : `all of one IdP account (user00001; mod_fedauth with FedAuthMaxSessionsPerUser ${maxSessionsPerUser(SESSIONS)})`},
signed in ${LOGIN_CONC} at a time after the timed sign-ins; then each session asked once, in the order of the sign-ins; wrk cycles through
the ${SESSIONS} cookies (report.lua; each thread from its own offset), A through the list of ${wanted.includes('B') ? 'B' : 'the first authenticated server'}
(which it ignores). No single-cookie check or new sign-in around a round; every session asked once more after the last round.
B: ${SHM_SIZE ? `FedAuthSessionStore shm:${SHM_SIZE}` : 'the default shm size'}. D: OIDCCacheShmMax ${openidcShmMax(SESSIONS)}, OIDCCacheShmEntrySizeMax ${OPENIDC_SHM_ENTRY}.
Every server: idle timeout ${MANY_IDLE_S} s, max age ${MANY_MAX_AGE_S} s (longer than the run). F: FedAuthSessionLocalCache 0.`;
}

// ------------------------------------------------------------------ main
let bench = null;
let cookieDir = null;
const bulk = {};
const cookieFiles = {};
const afterSignIn = {};
const afterRounds = {};

async function main() {
  if (!which('wrk')) throw new Error('wrk is not installed (apt-get install wrk)');
  const av = available(wanted);
  wanted = av.wanted;
  notes.push(...av.notes);
  if (MANY && !COUNT_STATUS) notes.push('--no-count-status has no effect with --sessions: every response is looked at there');
  const ncpu = os.cpus().length;
  let serverCpus = null;
  let clientCpus = null;
  if (o.pin) {
    if (ncpu < 2 || !which('taskset')) throw new Error('--pin needs 2+ CPUs and taskset');
    serverCpus = ncpu === 2 ? '0' : `0-${ncpu - 2}`;
    clientCpus = String(ncpu - 1);
  }
  bench = await startBench({
    wanted, serverCpus, mutex: o.mutex, commonConf: o.conf.join('\n'), log,
    sessions: SESSIONS, distinctUsers: DISTINCT, shmSize: SHM_SIZE, hostCache: HOST_CACHE,
    // --seed: the IdP knows the accounts of the real sign-ins only
    users: SEED ? Array.from({ length: SAMPLE }, (_, i) => benchUser(SEED + i + 1)) : null,
  });
  if (SEED) await buildSeed(log);
  const { srv, redis } = bench;
  const ports = Object.fromEntries(wanted.map((k) => [k, srv[k].port]));

  // ---- sign-ins: one warm-up each, then LOGINS timed ones, interleaved
  const auth = wanted.filter((k) => k !== 'A');
  const logins = Object.fromEntries(auth.map((k) => [k, []]));
  const cookies = { A: '' };
  for (const k of auth) {
    const r = await loginOnce(srv[k]);
    if (!r.ok) throw new Error(`${SERVERS[k].name}: sign-in failed: ${r.why}\n--- error.log:\n${srv[k].errorLog().slice(-3000)}`);
    cookies[k] = r.cookie;
    logins[k].cold = r;
  }
  for (let i = 0; i < LOGINS; i++) {
    for (const k of auth) {
      const r = await loginOnce(srv[k]);
      if (!r.ok) throw new Error(`${SERVERS[k].name}: sign-in ${i + 1} failed: ${r.why}`);
      logins[k].push(r);
    }
  }
  for (const k of auth) {
    log(`${SERVERS[k].name}: login median ${fmt(median(logins[k].map((r) => r.ms)), 1)} ms, callback ${fmt(median(logins[k].map((r) => r.callbackMs)), 1)} ms (cold: ${fmt(logins[k].cold.ms, 1)} / ${fmt(logins[k].cold.callbackMs, 1)} ms)`);
  }

  // ---- many sessions: N sign-ins per server (LOGIN_CONC at a time), then
  // each session asked once, in the order of the sign-ins, after all of them
  if (MANY) {
    cookieDir = makeTmpDir('bench-cookies', 0o700);
    for (const k of SEED ? [] : auth) {
      log(`${SERVERS[k].name}: signing in ${SESSIONS} sessions (${DISTINCT ? 'each of its own user' : 'all of one user'}), ${LOGIN_CONC} at a time`);
      const r = await signInMany(srv[k], {
        n: SESSIONS, login: (i) => sessionLogin(i, DISTINCT), concurrency: LOGIN_CONC, maxFailed: MAX_FAILED, log, label: k,
      });
      bulk[k] = r;
      log(`${SERVERS[k].name}: ${r.cookies.length} sessions signed in in ${r.seconds.toFixed(1)} s (${r.perSecond.toFixed(1)}/s, login median ${fmt(r.loginMs, 1)} ms, callback median ${fmt(r.callbackMs, 1)} ms; ${r.failed} failed, ${r.retried} tried twice)`);
      if (r.failed) notes.push(`${k}: ${r.failed} of ${SESSIONS} sign-ins failed (wrk cycles through the other ${r.cookies.length}); the first: ${r.failures[0].why.slice(0, 300)}`);
    }
    for (const k of SEED ? auth : []) {
      // --seed: SEED sessions from seed.c, then SAMPLE real sign-ins (users
      // SEED+1 ...) into the same store while it is that full
      const u0 = await storeUsage(bench, k);
      const sd = await seedStore(bench, k, { n: SEED, dir: cookieDir, idle: MANY_IDLE_S, maxAge: MANY_MAX_AGE_S, log });
      const u1 = await storeUsage(bench, k);
      log(`${SERVERS[k].name}: signing in ${SAMPLE} sessions through the IdP into the store of ${SEED}, ${LOGIN_CONC} at a time`);
      const r = await signInMany(srv[k], {
        n: SAMPLE, login: (i) => sessionLogin(SEED + i, true), concurrency: LOGIN_CONC, maxFailed: MAX_FAILED, log, label: k,
      });
      // the last seeded users, whose numbers are as long as the signed-in
      // ones' (a digit more in a user number is some 12 bytes more record)
      const alike = await inspectRecords(bench, k, [...sd.cookies.slice(-5), ...r.cookies.slice(0, 5)], 5);
      bulk[k] = { ...r, cookies: [...sd.cookies, ...r.cookies], seeded: sd, usage: [u0, u1], alike };
      log(`${SERVERS[k].name}: ${SEED} seeded in ${sd.seconds.toFixed(1)} s (${sd.perSecond.toFixed(0)}/s), ${r.cookies.length} signed in (${r.perSecond.toFixed(1)}/s, callback median ${fmt(r.callbackMs, 1)} ms); store ${u1.text}; ${alike.text}`);
      if (r.failed) notes.push(`${k}: ${r.failed} of ${SAMPLE} sign-ins failed; the first: ${r.failures[0].why.slice(0, 300)}`);
    }
    for (const k of auth) {
      const c = await checkSessions(srv[k].url, checkList(bulk[k].cookies), { concurrency: SEED ? 32 : 8 });
      afterSignIn[k] = c;
      log(`${SERVERS[k].name}: after sign-in: ${checkText(c)} (${c.seconds.toFixed(1)} s)`);
    }
    for (const k of wanted) {
      // A: the same list as B (or the first authenticated server), which it ignores
      const list = k === 'A' ? (bulk[auth[0]]?.cookies || fakeCookies(SESSIONS)) : bulk[k].cookies;
      cookieFiles[k] = writeCookieFile(cookieDir, k, list);
      cookies[k] = list[list.length - 1];
    }
  }

  // ---- the cookie must give a 200 (a redirect is a failure), and its size
  const expected = {};
  const check = async (k) => {
    const r = await rawGet(ports[k], FILE_PATH, cookies[k]);
    return { ok: r.status === 200 && r.body?.length === FILE_BYTES, r };
  };
  for (const k of wanted) {
    const c = await check(k);
    if (!c.ok && !MANY) throw new Error(`${SERVERS[k].name}: the session cookie does not get a 200: ${c.r.status} ${c.r.error || ''}\n${c.r.head || ''}`);
    // many sessions: the last one signed in; a loss shows in the check above
    expected[k] = c.ok ? c.r.bytes : NaN;
  }

  // ---- warm-up
  // --steady: where each server's next wrk run starts in its cookie list
  const startAt = Object.fromEntries(wanted.map((k) => [k, 0]));
  const advance = (k, w) => { if (STEADY && w.j?.requests) startAt[k] += w.j.requests; };
  for (const k of wanted) {
    if (warmupOf(k) <= 0) continue;
    log(`warm-up ${k} ${warmupOf(k)} s`);
    const w = await runWrk({ url: srv[k].url, cookie: cookies[k], cookieFile: cookieFiles[k], seconds: warmupOf(k), cpus: clientCpus, start: startAt[k] });
    advance(k, w);
    if (w.j?.requests) log(`warm-up ${k}: ${(w.j.requests / warmupOf(k)).toFixed(0)} req/s${w.j.non200 > 0 ? `, ${w.j.non200} not 200` : ''}`);
  }
  const rss0 = Object.fromEntries(wanted.map((k) => [k, childrenRssKiB(srv[k].pid)]));

  // ---- rounds, interleaved
  const rounds = Object.fromEntries(wanted.map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of wanted) {
      let carried = 0;
      let carriedLost = 0;
      let carriedRedirects = 0;
      for (let attempt = 0; ; attempt++) {
        if (WAIT_IDLE > 0) {
          const busy = await waitIdle(WAIT_IDLE);
          if (busy >= 10) notes.push(`${k} round ${r + 1}: started while the machine was ${busy.toFixed(0)} % busy (waited ${WAIT_IDLE} s)`);
        }
        // many sessions: no check of one cookie and no new sign-in around a
        // round (a lost session stays lost); the sweeps before and after count
        let pre = MANY ? { ok: true } : await check(k);
        if (!pre.ok && k !== 'A') {
          // counted as a failure below; sign in again so the round measures
          // the authenticated path rather than redirects
          notes.push(`${k} round ${r + 1}: the cookie got ${pre.r.status} before the round: signed in again`);
          const again = await loginOnce(srv[k]);
          if (again.ok) {
            cookies[k] = again.cookie;
            const c2 = await check(k);
            if (c2.ok) pre = { ok: false, r: pre.r, renewed: true };
          }
        }
        const cpu0 = cpuSeconds(srv[k].pid);
        const flt0 = minorFaults(srv[k].pid);
        // the Redis servers this one uses: one redis-server, or H's masters
        const rnodes = USES_REDIS.has(k) ? [redis] : (k === 'H' && bench.cluster ? bench.cluster.nodes : []);
        const rd = rnodes.length > 0;
        const redisCpu = () => rnodes.reduce((a, n) => a + cpuSeconds(n.pid), 0);
        let redisCmd = {};
        const redisCmds = async () => {
          let total = 0;
          for (const n of rnodes) {
            const info = await n.info('all');
            total += Number(info.total_commands_processed);
            // cmdstat_get:calls=12,usec=...: calls per command, summed
            for (const [key, v] of Object.entries(info)) {
              const m = /^cmdstat_(.+)$/.exec(key);
              const c = m && /calls=(\d+)/.exec(v);
              if (c) redisCmd[m[1]] = (redisCmd[m[1]] || 0) + Number(c[1]);
            }
          }
          return total;
        };
        const rcpu0 = rd ? redisCpu() : 0;
        const rc0 = rd ? await redisCmds() : 0;
        const redisCmd0 = redisCmd;
        redisCmd = {};
        const m0 = machineTicks();
        const w = await runWrk({ url: srv[k].url, cookie: cookies[k], cookieFile: cookieFiles[k], seconds: SECONDS, cpus: clientCpus, start: startAt[k] });
        advance(k, w);
        const m1 = machineTicks();
        const cpu1 = cpuSeconds(srv[k].pid);
        const flt1 = minorFaults(srv[k].pid);
        const rcpu1 = rd ? redisCpu() : 0;
        // minus the INFO command of the second reading (one per server)
        const rc1 = rd ? await redisCmds() - rnodes.length : 0;
        if (rd) {
          const per = Object.entries(redisCmd)
            .map(([c, n]) => [c, (n - (redisCmd0[c] || 0) - (c === 'info' ? rnodes.length : 0)) / Math.max(1, w.j?.requests || 0)])
            .filter(([, x]) => x >= 0.005).sort((a, b) => b[1] - a[1]);
          if (per.length) log(`round ${r + 1}/${ROUNDS} ${k}: Redis commands per request: ${per.map(([c, x]) => `${c} ${x.toFixed(3)}`).join(', ')}`);
        }
        const post = MANY ? { ok: true } : await check(k);
        if (!w.ok) {
          notes.push(`${k} round ${r + 1}: wrk failed: ${w.stderr.trim().slice(0, 300)} ${w.text.slice(-300)}`);
          rounds[k].push({ failed: true, non200: 1 + carried, lost: carriedLost });
          break;
        }
        const j = w.j;
        const rps = j.requests / (j.duration_us / 1e6);
        const sockErr = j.connect + j.read + j.write + j.timeout;
        // lost: the responses of the round that were not a 200
        const lost = COUNT ? j.non200 : j.status;
        let non200 = lost;
        if (!pre.ok) non200 += 1;
        if (!post.ok) non200 += 1;
        const avgBytes = j.bytes / Math.max(1, j.requests);
        const rec = {
          rps, p50: j.p50 / 1000, p99: j.p99 / 1000, non200, lost, redirects: Math.max(0, j.redirects), sockErr, requests: j.requests,
          cpuUs: ((cpu1 - cpu0) * 1e6) / Math.max(1, j.requests),
          // minor page faults of httpd per request (a first touch of a page)
          faults: (flt1 - flt0) / Math.max(1, j.requests),
          storeCpuUs: rd ? ((rcpu1 - rcpu0) * 1e6) / Math.max(1, j.requests) : NaN,
          clientCpuUs: (w.cpu * 1e6) / Math.max(1, j.requests),
          // Redis commands per request
          redisPerReq: rd ? (rc1 - rc0) / Math.max(1, j.requests) : NaN,
          // CPU used by anything else on the machine during the round, in
          // CPUs (1.0 = one core busy): machine busy time minus httpd,
          // redis-server and wrk
          foreign: ((m1.busy - m0.busy) / 100 - (cpu1 - cpu0) - (rcpu1 - rcpu0) - (w.cpu || 0)) / (j.duration_us / 1e6),
          avgBytes, pre: pre.ok, post: post.ok, firstBad: j.first_bad,
        };
        if (Number.isFinite(expected[k]) && Math.abs(avgBytes - expected[k]) / expected[k] > 0.005) {
          notes.push(`${k} round ${r + 1}: mean response ${avgBytes.toFixed(1)} bytes, a 200 is ${expected[k]}: some responses differ`);
        }
        if ((!pre.ok && !pre.renewed) || !post.ok) notes.push(`${k} round ${r + 1}: the cookie check ${pre.ok || pre.renewed ? 'after' : 'before'} the round got ${(pre.ok || pre.renewed ? post : pre).r.status}`);
        if (sockErr) notes.push(`${k} round ${r + 1}: wrk socket errors connect ${j.connect} read ${j.read} write ${j.write} timeout ${j.timeout}`);
        if (rec.foreign > MAX_NOISE && attempt < RETRIES) {
          carried += non200;
          carriedLost += lost;
          carriedRedirects += rec.redirects;
          notes.push(`${k} round ${r + 1}: repeated: other processes used ${rec.foreign.toFixed(2)} CPUs during it (${rps.toFixed(0)} req/s)`);
          log(`round ${r + 1}/${ROUNDS} ${k}: ${rps.toFixed(0)} req/s, other processes used ${rec.foreign.toFixed(2)} CPUs: repeating`);
          continue;
        }
        rec.non200 += carried;
        rec.lost += carriedLost;
        rec.redirects += carriedRedirects;
        if (rec.foreign > MAX_NOISE) notes.push(`${k} round ${r + 1}: other processes used ${rec.foreign.toFixed(2)} CPUs during the round (noise)`);
        rounds[k].push(rec);
        log(`round ${r + 1}/${ROUNDS} ${k}: ${rps.toFixed(0)} req/s p50 ${rec.p50.toFixed(2)} ms p99 ${rec.p99.toFixed(2)} ms non-200 ${non200}${MANY ? ` lost ${lost}` : ''} cpu ${rec.cpuUs.toFixed(1)} us/req faults ${rec.faults.toFixed(3)}/req${Number.isFinite(rec.storeCpuUs) ? ` redis ${rec.storeCpuUs.toFixed(1)} us/req` : ''} wrk ${rec.clientCpuUs.toFixed(1)} us/req, others ${rec.foreign.toFixed(2)} CPUs`);
        break;
      }
    }
  }
  const rss1 = Object.fromEntries(wanted.map((k) => [k, childrenRssKiB(srv[k].pid)]));

  // ---- many sessions: each asked once more, in order, after the rounds
  if (MANY) {
    for (const k of auth) {
      const c = await checkSessions(srv[k].url, checkList(bulk[k].cookies), { concurrency: SEED ? 32 : 8 });
      afterRounds[k] = c;
      if (SEED) bulk[k].usageEnd = await storeUsage(bench, k);
      log(`${SERVERS[k].name}: after the rounds: ${checkText(c)} (${c.seconds.toFixed(1)} s)`);
    }
  }

  // ---- the table
  const ok = (k) => rounds[k].filter((x) => !x.failed);
  const medRps = Object.fromEntries(wanted.map((k) => [k, median(ok(k).map((x) => x.rps))]));
  // each round's req/s scaled to the whole machine: req/s x CPUs / (CPUs -
  // the other load during it). A server's own background work (H's
  // renewals of its host copies) is other load in A's and B's rounds and
  // its own in its rounds; scaled, it is charged to H alone
  const medScaled = Object.fromEntries(wanted.map((k) => [k, median(ok(k).map((x) => x.rps * ncpu / Math.max(0.5, ncpu - Math.max(0, x.foreign))))]));
  const plain = medRps.A;
  const lostOf = (k) => rounds[k].reduce((a, x) => a + (x.lost || 0), 0);
  const rows = wanted.map((k) => {
    const rs = ok(k);
    const rpsList = rs.map((x) => x.rps);
    const lg = logins[k];
    return {
      k,
      server: SERVERS[k].name,
      rps: `${fmt(medRps[k])} (${fmt(Math.min(...rpsList))}-${fmt(Math.max(...rpsList))})`,
      p50: fmt(median(rs.map((x) => x.p50)), 2),
      p99: fmt(median(rs.map((x) => x.p99)), 2),
      // many sessions: the sessions that failed the checks after the
      // sign-ins and after the rounds count here too (as failed cookie
      // checks do with one session)
      non200: String(rounds[k].reduce((a, x) => a + (x.non200 || 0), 0) + (afterSignIn[k]?.bad || 0) + (afterRounds[k]?.bad || 0)),
      lost: String(lostOf(k)),
      ratio: Number.isFinite(plain) ? fmt(medRps[k] / plain, 2) : '-',
      cpu: fmt(median(rs.map((x) => x.cpuUs)), 1),
      store: rs.some((x) => Number.isFinite(x.storeCpuUs)) ? `${fmt(median(rs.map((x) => x.storeCpuUs)), 1)} (${fmt(median(rs.map((x) => x.redisPerReq)), 2)} cmd/req)` : '-',
      login: lg ? fmt(median(lg.map((r) => r.ms)), 1) : '-',
      callback: lg ? fmt(median(lg.map((r) => r.callbackMs)), 1) : '-',
      rss: `${(rss0[k] / 1024).toFixed(1)} -> ${(rss1[k] / 1024).toFixed(1)}`,
      client: fmt(median(rs.map((x) => x.clientCpuUs)), 1),
      foreign: fmt(Math.max(...rs.map((x) => x.foreign)), 2),
    };
  });
  const head = ['server', 'req/s median (min-max)', 'p50 ms', 'p99 ms', 'non-200', 'lost', 'ratio to plain',
    'CPU us/request', 'redis CPU us/request (commands/request)', 'login median ms', 'callback median ms', 'workers RSS MiB',
    'wrk CPU us/request', 'other load (CPUs, max)'];
  const keys = ['server', 'rps', 'p50', 'p99', 'non200', 'lost', 'ratio', 'cpu', 'store', 'login', 'callback', 'rss', 'client', 'foreign'];
  const table = [
    `| ${head.join(' | ')} |`,
    `|${head.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${keys.map((c) => r[c]).join(' | ')} |`),
  ].join('\n');

  const targets = [];
  const ratio = (a, b) => (Number.isFinite(medRps[a]) && Number.isFinite(medRps[b]) ? medRps[a] / medRps[b] : NaN);
  const tgt = (label, v, min) => {
    if (Number.isFinite(v)) targets.push(`- ${label}: ${v.toFixed(2)} (target >= ${min}) ${v >= min ? 'MET' : 'NOT MET'}`);
  };
  const sessionLines = [];
  if (SEED) {
    // issue 24: a million sessions
    tgt('B/A mod_fedauth shm vs plain', ratio('B', 'A'), 0.95);
    tgt('H/A mod_fedauth redis cluster vs plain', ratio('H', 'A'), 0.85);
    tgt('C/A mod_fedauth redis vs plain', ratio('C', 'A'), 0.8);
    for (const k of ['B', 'C', 'H'].filter((x) => Number.isFinite(medScaled[x]) && Number.isFinite(medScaled.A))) {
      targets.push(`- ${k}/A with each round's req/s scaled to the CPUs the other load left it: ${(medScaled[k] / medScaled.A).toFixed(2)} (the same target)`);
    }
    for (const k of ['B', 'C', 'H'].filter((x) => rounds[x])) {
      const l = lostOf(k);
      const s1 = afterSignIn[k]?.bad || 0;
      const s2 = afterRounds[k]?.bad || 0;
      targets.push(`- ${k} lost: ${l} responses in the rounds, ${s1} sessions before the rounds, ${s2} after (target 0 lost) ${l + s1 + s2 === 0 ? 'MET' : 'NOT MET'}`);
    }
    sessionLines.push(`store (${SEED} seeded by t/bench/seed.c + ${SAMPLE} signed in through the IdP; bytes per session: the store's growth over the seeding / ${SEED}):`);
    for (const k of auth) {
      const x = bulk[k];
      const [u0, u1] = x.usage;
      const u2 = x.usageEnd;
      const per = (u1.bytes - u0.bytes) / SEED;
      sessionLines.push(`- ${SERVERS[k].name}: ${fmt(per)} bytes per session (${k === 'B' ? `blocks used x 136; ${u1.text}; FedAuthSessionStore shm:${SHM_SIZE}` : u1.text}); seeded in ${fmt(x.seeded.seconds, 1)} s (${fmt(x.seeded.perSecond)}/s, ${x.seeded.threads} thread(s)); ${SAMPLE} real sign-ins into the full store: ${fmt(x.perSecond, 1)}/s (${LOGIN_CONC} at a time), callback median ${fmt(x.callbackMs, 1)} ms, ${x.failed} failed; at the end: ${u2 ? u2.text : '-'}`);
      sessionLines.push(`  - ${x.alike.text}`);
    }
    for (const [label, m] of [['before the rounds', afterSignIn], ['after the rounds', afterRounds]]) {
      sessionLines.push(`${label} (each session asked once):`);
      for (const k of auth) {
        const c = m[k];
        if (c) sessionLines.push(`- ${SERVERS[k].name}: ${checkText(c)} (${fmt(c.seconds, 1)} s)`);
      }
    }
  } else if (MANY) {
    // issue 15: many sessions
    tgt('B/A mod_fedauth shm vs plain', ratio('B', 'A'), 0.9);
    tgt('C/A mod_fedauth redis vs plain', ratio('C', 'A'), 0.8);
    tgt('C/E mod_fedauth redis vs mod_auth_openidc redis', ratio('C', 'E'), 5);
    tgt('F/E mod_fedauth redis without local copy vs mod_auth_openidc redis', ratio('F', 'E'), 4);
    // issue 12: the account registry adds nothing to a request with a session
    tgt('G/B mod_fedauth shm with the account registry vs without', ratio('G', 'B'), 0.95);
    for (const k of ['B', 'C', 'F', 'G'].filter((x) => rounds[x])) {
      const l = lostOf(k);
      const s1 = afterSignIn[k]?.bad || 0;
      const s2 = afterRounds[k]?.bad || 0;
      targets.push(`- ${k} lost: ${l} responses in the rounds, ${s1} sessions after sign-in, ${s2} after the rounds (target 0 lost) ${l + s1 + s2 === 0 ? 'MET' : 'NOT MET'}`);
    }
    for (const [label, m] of [['after sign-in', afterSignIn], ['after the rounds', afterRounds]]) {
      sessionLines.push(`${label} (each session asked once, in the order of the sign-ins):`);
      for (const k of auth) {
        const c = m[k];
        if (c) sessionLines.push(`- ${SERVERS[k].name}: ${checkText(c)}`);
      }
    }
    sessionLines.push(`sign-in of ${SESSIONS} sessions per server (${DISTINCT ? 'each of its own user' : 'all of one user'}, ${LOGIN_CONC} at a time):`);
    for (const k of auth) {
      const r = bulk[k];
      sessionLines.push(`- ${SERVERS[k].name}: ${fmt(r.seconds, 1)} s, ${fmt(r.perSecond, 1)}/s, login median ${fmt(r.loginMs, 1)} ms, callback median ${fmt(r.callbackMs, 1)} ms, ${r.failed} failed`);
    }
    for (const k of wanted) {
      const lost = lostOf(k);
      const redir = rounds[k].reduce((a, x) => a + (x.redirects || 0), 0);
      if (lost) notes.push(`${k}: ${lost} responses not 200 in the rounds, ${redir} of them redirects (first status ${rounds[k].find((x) => x.firstBad)?.firstBad || '?'})`);
    }
  } else {
    tgt('B/A mod_fedauth shm vs plain', ratio('B', 'A'), 0.95);
    tgt('B/D mod_fedauth shm vs mod_auth_openidc shm', ratio('B', 'D'), 1.3);
    tgt('C/A mod_fedauth redis vs plain', ratio('C', 'A'), 0.85);
    tgt('C/E mod_fedauth redis vs mod_auth_openidc redis', ratio('C', 'E'), 2);
  }
  if (!MANY && logins.B && logins.D) {
    const b = median(logins.B.map((r) => r.callbackMs));
    const d = median(logins.D.map((r) => r.callbackMs));
    targets.push(`- login callback (token request, verification, session write) B ${b.toFixed(1)} ms vs D ${d.toFixed(1)} ms (target B <= D) ${b <= d ? 'MET' : 'NOT MET'}`);
  }

  const wrkCmd = MANY
    ? `BENCH_COOKIES=<file of the ${SESSIONS} cookies> BENCH_THREADS=${THREADS} ${SKEW ? 'BENCH_SKEW=1 ' : ''}${clientCpus ? `taskset -c ${clientCpus} ` : ''}wrk -t${THREADS} -c${CONNS} -d${SECONDS}s --latency -s t/bench/report.lua http://127.0.0.1:<port>${FILE_PATH}`
    : `${clientCpus ? `taskset -c ${clientCpus} ` : ''}wrk -t${THREADS} -c${CONNS} -d${SECONDS}s --latency -s t/bench/report.lua -H 'Cookie: <session cookie>' http://127.0.0.1:<port>${FILE_PATH}`;
  let cpuModel = '';
  try { cpuModel = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] || ''; } catch { /* none */ }
  const version = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
    return (`${r.stdout || ''}${r.stderr || ''}`.split('\n')[0] || '?').trim();
  };
  const dpkgV = (p) => { try { return execFileSync('dpkg-query', ['-W', '-f=${Version}', p], { encoding: 'utf8' }); } catch { return 'not installed'; } };

  // ---- error logs
  for (const k of wanted) {
    const t = checkErrorLog(srv[k].errorLog());
    if (t.length) notes.push(`${k} error.log trouble: ${t.slice(0, 5).join(' | ')}`);
  }
  const md = `# mod_fedauth benchmark results

${new Date().toISOString()}, ${os.hostname()}: ${ncpu} CPUs (${cpuModel}), ${os.type()} ${os.release()},
${version(APACHE, ['-v'])}, mod_auth_openidc ${dpkgV('libapache2-mod-auth-openidc')}, ${version('wrk', ['-v'])},
mod_fedauth ${modulePath()} (${moduleId()}).

Command: \`${COMMAND}\`

Each round: \`${wrkCmd}\`${COUNT ? ' (the script counts every status but 200, redirects included)' : ''};
${ROUNDS} round(s) of ${SECONDS} s per server, interleaved ${wanted.join(' ')} ${wanted.join(' ')} ...; ${wanted.some((k) => warmupOf(k) > 0) ? `warm-up per server first (${wanted.map((k) => `${k} ${warmupOf(k)} s`).join(', ')}); ` : ''}${STEADY ? 'each wrk run goes on in the cookie list where the one before it stopped (--steady); ' : ''}${o.pin ? `httpd pinned to CPU ${serverCpus}, wrk to CPU ${clientCpus}; ` : 'httpd and wrk share the CPUs; '}
MPM event ${Object.entries(MPM).map(([k, v]) => `${k} ${v}`).join(', ')}, KeepAlive On, MaxKeepAliveRequests 0, LogLevel warn, no access log,
${o.mutex === 'default' ? "APR's default mutex (pthread; as Debian's apache2.conf)" : `\`Mutex ${o.mutex}${o.mutex === 'file' ? ':<dir>' : ''} default\``};
${o.conf.length ? `also in every server: ${o.conf.map((c) => `\`${c}\``).join(', ')}; ` : ''}a ${FILE_BYTES}-byte static file. req/s, p50 and p99: medians over the rounds; CPU us/request: utime+stime of the httpd parent and its children
(/proc) per request, median over the rounds; redis CPU likewise for redis-server. Login: ${LOGINS} sequential sign-ins per server
(fresh browser each, through the test IdP's login form; after one untimed warm-up sign-in), median of the whole flow and of the
callback request alone (token request, ID token verification, session write: the module's own part).
Workers RSS: sum of the httpd children's VmRSS after the warm-up and after the last round. wrk CPU: the client's own
CPU per request. Other load: CPU used during a round by anything but httpd, redis-server and wrk (1.00 = one core);
a round with more than ${MAX_NOISE} is run again (up to ${RETRIES} times; the non-200 of every attempt count).
Lost: the responses of the rounds that were not a 200 (a redirect to the IdP: the session was lost).
${MANY ? `${manyText()}\n` : ''}
${table}
${sessionLines.length ? `\n${sessionLines.join('\n')}\n` : ''}
Targets (${SEED ? `issue 24, ${SEED} seeded sessions` : MANY ? `issue 15, ${SESSIONS} sessions` : 'issue 8'}; ratios of median req/s):
${targets.join('\n') || '- (need A, B, C, D, E)'}
${notes.length ? `\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;

  fs.mkdirSync(path.dirname(o.out || path.join(OUT_DIR, 'results.md')), { recursive: true });
  const outFile = o.out || path.join(OUT_DIR, SMOKE ? 'smoke.md' : (SEED ? `results-seed-${SEED}.md` : MANY ? `results-sessions-${SESSIONS}${DISTINCT ? '-distinct' : ''}.md` : 'results.md'));
  fs.writeFileSync(outFile, md);
  process.stdout.write(`\n${table}\n${sessionLines.length ? `\n${sessionLines.join('\n')}\n` : ''}\n${targets.join('\n')}\n${notes.length ? `\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}\ncommand: ${COMMAND}\nwrk:     ${wrkCmd}\nwritten: ${path.relative(process.cwd(), outFile)}\n`);

  if (SMOKE) {
    const b = rounds.B || [];
    const bad = !b.length || b.some((x) => x.failed || x.non200 > 0 || x.requests === 0);
    if (bad) {
      console.error('smoke: FAILED (B got non-200 responses or did not run)');
      return 1;
    }
    console.error('smoke: ok');
  }
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`[bench] FAILED: ${e.stack || e.message}`);
  code = 1;
} finally {
  if (bench) {
    await bench.stop();
    bench.cleanup();
  }
  if (cookieDir) removeDir(cookieDir);
}
process.exit(code);
