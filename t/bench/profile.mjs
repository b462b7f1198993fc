#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Profiles one benchmark server's per-request path (t/bench/README.md).
//
//   node t/bench/profile.mjs --server B --perf [--seconds 10]
//       wrk (-t2 -c32, the session cookie) for --seconds while
//       `perf record -e cpu-clock --call-graph dwarf` samples the httpd
//       children; reports: build/out/bench/perf-B.txt (self time by
//       symbol, and the callers' inclusive time).
//   node t/bench/profile.mjs --server B --callgrind [--requests 5000]
//       httpd -X under valgrind --tool=callgrind; after the sign-in, a 404
//       (a missing file under /bench) makes callgrind dump and zero its
//       counters (--dump-before=ap_send_error_response), then --requests
//       sequential keep-alive GETs with the cookie, then another 404: that
//       second dump holds just those requests. build/out/bench/
//       callgrind-B.out and callgrind-B.txt (the module's functions,
//       inclusive, per request; then inclusive and self cost per
//       function, instructions).
//   node t/bench/profile.mjs --callgrind --sessions N [--distinct-users]
//       [--shm-size 64M] [--requests max(5000, N)]
//       N sessions signed in (4 at a time) and the requests cycle through
//       their cookies; without --server, one after another: A plain (the
//       cookies of B, ignored), B with 1 session, B with N sessions, D
//       with N sessions, and a table of instructions per request
//       (build/out/bench/callgrind-sessions-<N>.md). With --server K, K
//       alone with N sessions. --perf --sessions N: wrk cycles through the
//       N cookies (t/bench/report.lua).
//   node t/bench/profile.mjs --callgrind --seed N [--server A|B]
//       [--requests 20000] [--shm-size shmSizeFor(N + 2)]
//       B's shm store filled with N sessions by t/bench/seed.c (as
//       run.mjs --seed does) while httpd -X runs under callgrind, two
//       real sign-ins (the markers need a session), then two windows
//       between markers: "distinct", R requests whose cookies are a
//       random sample of R distinct seeded ones (each unseen by the
//       process), and "repeat-one", one other seeded cookie R times.
//       Without --server: A then B, and build/out/bench/
//       callgrind-seed-<N>.md (instructions per request, +% over A, B's
//       module functions). Every response must be a 200 (exit 1 if not).
//
// A always sends a Cookie header of B's shape (fakeCookies), which it
// ignores, so that both parse the same header. --out-dir DIR: the
// reports there instead of build/out/bench.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import { REPO, modulePath } from '../lib/index.mjs';
import { sleep } from '../lib/procs.mjs';
import { makeTmpDir, removeDir } from '../lib/httpd.mjs';
import { childrenOf, FILE_PATH } from './servers.mjs';
import {
  SERVERS, available, startBench, loginOnce, signInMany, sessionLogin, checkSessions, writeCookieFile,
  fakeCookies, benchUser, moduleId, MANY_IDLE_S, MANY_MAX_AGE_S,
} from './setup.mjs';
import {
  buildSeed, seedStore, shmSizeFor, storeUsage, inspectRecords,
} from './seeding.mjs';

const { values: o } = parseArgs({
  options: {
    server: { type: 'string' },
    perf: { type: 'boolean', default: false },
    callgrind: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '10' },
    requests: { type: 'string' },
    frequency: { type: 'string', default: '499' },
    warmup: { type: 'string', default: '0' },
    conf: { type: 'string', multiple: true, default: [] },
    sessions: { type: 'string', default: '1' },
    seed: { type: 'string' },
    'distinct-users': { type: 'boolean', default: false },
    'shm-size': { type: 'string' },
    'login-concurrency': { type: 'string' },
    'out-dir': { type: 'string' },
  },
});
const OUT = path.resolve(o['out-dir'] || path.join(REPO, 'build', 'out', 'bench'));
const usage = (msg) => { console.error(msg); process.exit(2); };
const SESSIONS = Math.max(1, Math.floor(Number(o.sessions)) || 1);
const DISTINCT = o['distinct-users'];
if (DISTINCT && SESSIONS < 2) usage('--distinct-users needs --sessions N with N > 1');
if (o['shm-size'] && !/^\d+[KkMm]?$/.test(o['shm-size'])) usage(`bad --shm-size ${o['shm-size']}`);
const K = (o.server || 'B').toUpperCase();
if (!SERVERS[K]) usage(`--server ${Object.keys(SERVERS).join('|')}`);
if (o.perf === o.callgrind) usage('give one of --perf or --callgrind');
// --seed N: N sessions written by t/bench/seed.c into B's shm store
const SEED = o.seed === undefined ? 0 : Number(o.seed);
if (o.seed !== undefined && !(Number.isInteger(SEED) && SEED >= 2)) usage(`--seed N: a whole number of at least 2, not ${o.seed}`);
if (SEED && SESSIONS > 1) usage('--seed N and --sessions N: one or the other');
// --perf --seed N: one server (--server A or B), wrk cycling through the
// first --requests of the seeded cookies
if (SEED && o.perf && !o.server) usage('--perf --seed N: with --server A or B');
if (SEED && o.server && K !== 'A' && K !== 'B') usage('--seed N: --server A or B (the shm store)');
const REQUESTS = Number(o.requests ?? (SEED ? 20000 : Math.max(5000, SESSIONS)));
if (!Number.isInteger(REQUESTS) || REQUESTS < 1) usage(`--requests R: a whole number of at least 1, not ${o.requests}`);
// under valgrind the threads take turns: more sign-ins at once do not help
const LOGIN_CONC = Math.max(1, Number(o['login-concurrency'] ?? (o.callgrind ? 4 : 16)) || 1);
// --callgrind --sessions N without --server: the table of A, B (1 and N), D
const TABLE = o.callgrind && SESSIONS > 1 && !o.server;
// --callgrind --seed N without --server: the table of A and B
const SEED_TABLE = SEED && !o.server;
const log = (...a) => console.error('[profile]', ...a);

function run(cmd, args, { timeoutMs = 600000, env = process.env } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8', env }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * n sequential keep-alive GETs, with the cookie or (an array) the next
 * cookie of the list each time; resolves the status counts.
 */
async function requests(url, cookie, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const counts = {};
  for (let i = 0; i < n; i++) {
    const c = Array.isArray(cookie) ? cookie[i % cookie.length] : cookie;
    const status = await new Promise((resolve) => {
      const req = http.get(url, { agent, headers: c ? { Cookie: c } : {}, timeout: 30000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(0));
    });
    counts[status] = (counts[status] || 0) + 1;
  }
  agent.destroy();
  return counts;
}

/** "fedauth_session=<43>.<22> (81 bytes)": a Cookie header's shape. */
function cookieShape(c) {
  const one = Array.isArray(c) ? c[0] : c;
  if (!one) return 'no Cookie header';
  const shape = one.split('; ').map((x) => {
    const eq = x.indexOf('=');
    return `${x.slice(0, eq)}=${x.slice(eq + 1).split('.').map((p) => `<${p.length}>`).join('.')}`;
  }).join('; ');
  return `${shape} (${one.length} bytes)`;
}

/**
 * m distinct indexes out of 0..n-1, drawn at random (a partial
 * Fisher-Yates shuffle).
 */
function samplePick(n, m) {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const k = Math.min(n, m);
  for (let i = 0; i < k; i++) {
    const j = i + crypto.randomInt(n - i);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return Array.from(idx.subarray(0, k));
}

/**
 * The auth module's share of the httpd children's samples: every sample
 * with a frame in the module's DSO counts (kernel time under it too),
 * broken down by the innermost module function on the stack (what the
 * module called that cost it) and by the leaf's DSO and symbol.
 */
async function moduleShare(data, k) {
  const dsoRe = k === 'D' || k === 'E' ? /mod_auth_openidc\.so|libcjose/ : /mod_fedauth\.so/;
  const out = await run('perf', ['script', '-i', data, '-F', 'ip,sym,dso'], { timeoutMs: 600000 });
  const samples = out.stdout.split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  let total = 0;
  let mod = 0;
  const inner = new Map();
  const leafDso = new Map();
  const leafSym = new Map();
  const add = (m, key) => m.set(key, (m.get(key) || 0) + 1);
  for (const smp of samples) {
    const frames = smp.split('\n').map((l) => {
      const m = /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(l);
      return m ? { sym: m[1], dso: path.basename(m[2]) } : null;
    }).filter(Boolean);
    if (!frames.length) continue;
    total++;
    const i = frames.findIndex((f) => dsoRe.test(f.dso));
    if (i < 0) continue;
    mod++;
    add(inner, frames[i].sym);
    add(leafDso, frames[0].dso);
    add(leafSym, `${frames[0].sym} (${frames[0].dso})`);
  }
  const top = (m, n) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([key, v]) => `| ${key} | ${v} | ${((100 * v) / Math.max(1, mod)).toFixed(1)} % |`).join('\n');
  return `## the module's share: ${mod} of ${total} samples (${((100 * mod) / Math.max(1, total)).toFixed(1)} %) have a module frame

### by the innermost module function (its callees included)
| function | samples | of the module |
|---|---:|---:|
${top(inner, 25)}

### by the leaf's DSO
| DSO | samples | of the module |
|---|---:|---:|
${top(leafDso, 12)}

### by the leaf symbol
| symbol | samples | of the module |
|---|---:|---:|
${top(leafSym, 30)}`;
}

/**
 * The auth module's functions in a callgrind file, inclusive, per request
 * (n requests): a Map of "file:function" to instructions per request (at
 * least 10). Empty for A (no module).
 */
async function moduleFunctions(file, n, k) {
  const fns = new Map();
  if (k === 'A') return fns;
  const re = k === 'D' || k === 'E' ? /mod_auth_openidc|libcjose/ : /mod_fedauth/;
  const out = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file]);
  for (const line of out.stdout.split('\n')) {
    const m = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+?):(\S+)\s+\[(.*)\]\s*$/.exec(line);
    if (!m || !re.test(m[4])) continue;
    const key = `${path.basename(m[2])}:${m[3]}`;
    const v = Number(m[1].replace(/,/g, '')) / n;
    if (!fns.has(key) && v >= 10) fns.set(key, v);
  }
  return fns;
}

/**
 * The table by function that docs/performance.md quotes: one column of
 * instructions per request for each of cols ([{ head, fns }]), the
 * functions in the order of the first column's cost.
 */
function functionTable(cols) {
  const keys = [...new Set(cols.flatMap((c) => [...c.fns.keys()]))];
  const first = (key) => Math.max(...cols.map((c) => c.fns.get(key) || 0));
  keys.sort((a, b) => first(b) - first(a));
  const cell = (c, key) => (c.fns.has(key) ? c.fns.get(key).toFixed(0) : '-');
  return `| function | ${cols.map((c) => c.head).join(' | ')} |
|---|${cols.map(() => '---:').join('|')}|
${keys.map((key) => `| ${key} | ${cols.map((c) => cell(c, key)).join(' | ')} |`).join('\n')}`;
}

/** Total instructions (Ir) of a callgrind output file. */
function totalIr(file) {
  const t = fs.readFileSync(file, 'latin1');
  const m = /^(?:summary|totals):\s+(\d+)/m.exec(t);
  return m ? Number(m[1]) : NaN;
}

/** valgrind's prefix and start options for httpd -X, writing into cgDir. */
function callgrindServer(cgDir) {
  return {
    prefix: ['valgrind', '--tool=callgrind', `--callgrind-out-file=${cgDir}/cg.out`,
      '--dump-before=ap_send_error_response', '--separate-threads=no'],
    extraArgs: ['-X'],
    startTimeoutMs: 120000,
    stopGraceMs: 120000,
  };
}

/**
 * The cookies of one server for --sessions (1 or N): two sign-ins (one
 * with --perf), then N more with N > 1; A gets cookies of B's shape
 * (fakeCookies), which it ignores. Resolves { windows: [{ label: '',
 * cookie }], afterSignIn, markerCookie() }.
 */
async function signedInCookies(srv, k, sessions) {
  let cookie = '';
  let afterSignIn = null;
  if (k !== 'A') {
    // two sign-ins: the first fetches discovery and JWKS, the second
    // is a warm one (under callgrind: dump parts 2 and 4, below)
    for (let i = 0; i < (o.callgrind ? 2 : 1); i++) {
      const r = await loginOnce(srv);
      if (!r.ok) throw new Error(`sign-in failed: ${r.why}`);
      cookie = r.cookie;
    }
  }
  if (sessions > 1 && k === 'A') cookie = fakeCookies(sessions);
  else if (sessions > 1) {
    log(`${SERVERS[k].name}: signing in ${sessions} sessions, ${LOGIN_CONC} at a time`);
    const r = await signInMany(srv, {
      n: sessions, login: (i) => sessionLogin(i, DISTINCT), concurrency: LOGIN_CONC, log, label: k,
    });
    log(`${SERVERS[k].name}: ${r.cookies.length} sessions in ${r.seconds.toFixed(1)} s (${r.perSecond.toFixed(1)}/s)`);
    cookie = r.cookies;
    afterSignIn = await checkSessions(srv.url, cookie);
    log(`${SERVERS[k].name}: after sign-in: ${afterSignIn.bad} of ${afterSignIn.asked} sessions answered non-200`);
  } else {
    if (k === 'A') [cookie] = fakeCookies(1);
    const check = await requests(srv.url, cookie, 3);
    if (check[200] !== 3) throw new Error(`the cookie does not get 200: ${JSON.stringify(check)}`);
  }
  // the markers need a session (/bench is protected): with many, one
  // signed in last; should it be lost by the second marker, that one is
  // a redirect, which ends the part as well
  const markerCookie = async () => {
    if (!Array.isArray(cookie)) return cookie;
    return k === 'A' ? fakeCookies(1)[0] : (await loginOnce(srv)).cookie;
  };
  return { windows: [{ label: '', cookie }], afterSignIn, markerCookie };
}

/**
 * The cookies of one server for --seed n: two real sign-ins of user n+1
 * (one for the markers), then B's store gets n sessions from
 * t/bench/seed.c (as run.mjs --seed) while httpd runs. Two windows: a random
 * sample of REQUESTS distinct seeded cookies (all but one of them when
 * REQUESTS >= n: the list then cycles), and one other seeded cookie
 * repeated. A: fakeCookies of the same counts. Resolves { windows,
 * markerCookie(), storeText }.
 */
async function seededCookies(bench, k, n, tmp) {
  const distinct = Math.min(REQUESTS, n - 1);
  if (k === 'A') {
    const [one] = fakeCookies(1);
    return {
      windows: [{ label: 'distinct', cookie: fakeCookies(distinct) }, { label: 'repeat-one', cookie: one }],
      markerCookie: async () => one,
    };
  }
  const srv = bench.srv[k];
  // the sign-ins first, as run.mjs: httpd listens before its
  // post_config has made the store's file (slow under valgrind), and a
  // finished sign-in shows that it has; parts 2 and 4 stay the callbacks
  const u = benchUser(n + 1);
  let signedIn = '';
  for (let i = 0; i < 2; i++) {
    const r = await loginOnce(srv, [u.username, u.password]);
    if (!r.ok) throw new Error(`sign-in of ${u.username} failed: ${r.why}\n--- error.log:\n${srv.errorLog().slice(-3000)}`);
    signedIn = r.cookie;
  }
  tmp.cookieDir = makeTmpDir('bench-cookies', 0o700);
  const sd = await seedStore(bench, k, { n, dir: tmp.cookieDir, idle: MANY_IDLE_S, maxAge: MANY_MAX_AGE_S, log });
  if (sd.cookies.length !== n) throw new Error(`seed.c wrote ${sd.cookies.length} of ${n} sessions`);
  log(`${SERVERS[k].name}: the store's file: ${path.join(srv.runDir, 'fedauth-sessions.shm')} (removed at the end)`);
  const used = await storeUsage(bench, k);
  const alike = await inspectRecords(bench, k, [...sd.cookies.slice(-5), signedIn], 5);
  const pick = samplePick(n, distinct + 1);
  const one = sd.cookies[pick.pop()];
  // the repeated one is asked now; the sample stays unseen by httpd
  const check = await requests(srv.url, one, 3);
  if (check[200] !== 3) throw new Error(`a seeded cookie does not get 200: ${JSON.stringify(check)}\n--- error.log:\n${srv.errorLog().slice(-3000)}`);
  const storeText = `2 sessions signed in through the IdP (${u.username}), then ${n} seeded by t/bench/seed.c in ${sd.seconds.toFixed(1)} s (${sd.perSecond.toFixed(0)}/s); store: ${used.text}; ${alike.text}`;
  log(`${SERVERS[k].name}: ${storeText}`);
  return {
    windows: [{ label: 'distinct', cookie: pick.map((i) => sd.cookies[i]) }, { label: 'repeat-one', cookie: one }],
    markerCookie: async () => signedIn,
    storeText,
  };
}

/**
 * Under --perf: wrk with the cookie (or cycling through the list) while
 * perf samples the children; writes perf-<tag>.txt. Resolves { k, rps }.
 */
async function perfRun(srv, k, cookie, tag, tmp) {
  const many = Array.isArray(cookie);
  const secs = Number(o.seconds);
  const pids = childrenOf(srv.pid);
  log(`wrk ${secs} s; perf on children ${pids.join(',')}`);
  let env = process.env;
  const wrkArgs = ['-t2', '-c32', `-d${secs}s`];
  if (many) {
    tmp.cookieDir = makeTmpDir('bench-cookies', 0o700);
    env = { ...env, BENCH_COOKIES: writeCookieFile(tmp.cookieDir, k, cookie), BENCH_THREADS: '2' };
    wrkArgs.push('-s', path.join(path.dirname(fileURLToPath(import.meta.url)), 'report.lua'));
  } else if (cookie) wrkArgs.push('-H', `Cookie: ${cookie}`);
  wrkArgs.push(srv.url);
  // --warmup S: wrk for S seconds first, unsampled (a store of a million
  // sessions: each process's first touch of each page is a page fault)
  const warm = Number(o.warmup);
  if (warm > 0) {
    const w0 = await run('wrk', wrkArgs.map((a) => (a === `-d${secs}s` ? `-d${warm}s` : a)), { env });
    log(`warm-up: ${/Requests\/sec:\s*([\d.]+)/.exec(w0.stdout)?.[1]} req/s for ${warm} s`);
  }
  const wrk = run('wrk', wrkArgs, { env });
  await sleep(1000);
  const data = path.join(OUT, `perf-${tag}.data`);
  const rec = await run('perf', ['record', '-e', 'cpu-clock', '-F', o.frequency, '--call-graph', 'dwarf,16384',
    '-o', data, '-p', pids.join(','), '--', 'sleep', String(Math.max(1, secs - 2))]);
  const w = await wrk;
  const rps = /Requests\/sec:\s*([\d.]+)/.exec(w.stdout)?.[1];
  const lost = /^WRKJSON .*"non200":(\d+)/m.exec(w.stdout)?.[1];
  log(`wrk: ${rps} req/s${lost !== undefined ? `, ${lost} not 200` : ''}; perf: ${rec.stderr.trim().split('\n').slice(-1)[0]}`);
  const self = await run('perf', ['report', '-i', data, '--no-children', '--sort', 'dso,sym', '--stdio',
    '-g', 'none', '--percent-limit', '0.3']);
  const incl = await run('perf', ['report', '-i', data, '--children', '--sort', 'sym', '--stdio',
    '-g', 'none', '--percent-limit', '0.5']);
  const byDso = await run('perf', ['report', '-i', data, '--no-children', '--sort', 'dso', '--stdio', '-g', 'none']);
  const share = await moduleShare(data, k);
  const what = many ? `, cycling through ${cookie.length} cookies${lost !== undefined ? ` (${lost} responses not 200)` : ''}` : '';
  const txt = `# perf profile of ${SERVERS[k].name}, ${rps} req/s under wrk -t2 -c32${what}; Cookie: ${cookieShape(cookie)}\n\n${share}\n\n## self time by DSO\n${byDso.stdout}\n\n## self time by symbol\n${self.stdout}\n\n## inclusive (children) time by symbol\n${incl.stdout}\n`;
  fs.writeFileSync(path.join(OUT, `perf-${tag}.txt`), txt);
  log(`written ${path.relative(process.cwd(), path.join(OUT, `perf-${tag}.txt`))} (and perf-${tag}.data)`);
  return { k, rps: Number(rps) };
}

/**
 * Under --callgrind: a marker, then for each window REQUESTS GETs with
 * its cookies and a marker after them; stops httpd. Resolves, per
 * window, { w, counts, parts (the dump parts that hold its requests) }.
 */
async function callgrindWindows(srv, cgDir, windows, markerCookie) {
  const marker = `${srv.base}/bench/missing-callgrind-marker`;
  const parts = () => fs.readdirSync(cgDir).map((f) => /^cg\.out\.(\d+)$/.exec(f)).filter(Boolean).map((m) => Number(m[1]));
  const m1 = await requests(marker, markerCookie, 1);
  if (!m1[404]) throw new Error(`marker request: ${JSON.stringify(m1)}`);
  // the dump before a marker's 404 is written before it is sent
  let last = Math.max(0, ...parts());
  const spans = [];
  for (const w of windows) {
    const t0 = Date.now();
    const counts = await requests(srv.url, w.cookie, REQUESTS);
    log(`${w.label ? `${w.label}: ` : ''}${REQUESTS} requests in ${Date.now() - t0} ms: ${JSON.stringify(counts)}`);
    const m = await requests(marker, markerCookie, 1);
    if (!m[404]) log(`the marker after them got ${JSON.stringify(m)}`);
    const end = Math.max(0, ...parts());
    spans.push({ w, counts, from: last, to: end });
    last = end;
  }
  await srv.stop();   // SIGTERM: callgrind writes the last part as httpd exits
  for (let i = 0; i < 100 && !fs.existsSync(path.join(cgDir, 'cg.out')); i++) await sleep(100);
  // parts: cg.out.1 (start, sign-in), cg.out.2 ..., cg.out (exit).
  // Every response httpd sends through ap_send_error_response (404s, and
  // the redirects of a sign-in) ends a part. The parts after a window's
  // first marker up to the one its closing marker ended hold its
  // requests: one part, unless some of them were redirects (lost
  // sessions), which end parts of their own. With a sign-in, part 2
  // ends with the first callback's redirect (cold: discovery, JWKS) and
  // part 4 with the second's (warm).
  const nums = parts().sort((a, b) => a - b);
  if (!nums.length) throw new Error(`no callgrind parts in ${cgDir}: ${fs.readdirSync(cgDir).join(' ')}`);
  return spans.map((x) => ({ ...x, parts: nums.filter((p) => p > x.from && p <= x.to) }));
}

/** Keeps and annotates the sign-in callbacks (parts 2 and 4). */
async function keepCallbacks(k, cgDir, tag) {
  for (const [num, label] of [[2, 'cold'], [4, 'warm']]) {
    const f = path.join(cgDir, `cg.out.${num}`);
    if (!fs.existsSync(f) || !/callback|redirect_uri/i.test(fs.readFileSync(f, 'latin1'))) continue;
    const out = path.join(OUT, `callgrind-${tag}-callback-${label}.out`);
    fs.copyFileSync(f, out);
    const a = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=99', out]);
    fs.writeFileSync(out.replace(/\.out$/, '.txt'), `# callgrind of ${SERVERS[k].name}: the sign-in callback, ${label}\n\n${a.stdout}\n`);
  }
}

/**
 * One window's result: the instructions of its parts over REQUESTS; the
 * biggest part (the only one without redirects) kept as
 * callgrind-<tag>.out and annotated into callgrind-<tag>.txt.
 */
async function windowResult(k, cgDir, span, tag, what) {
  const file = (x) => path.join(cgDir, `cg.out.${x}`);
  const n = REQUESTS;
  const irTotal = span.parts.reduce((a, x) => a + totalIr(file(x)), 0);
  const biggest = span.parts.reduce((a, x) => (totalIr(file(x)) > totalIr(file(a)) ? x : a), span.parts[span.parts.length - 1]);
  const cgOut = path.join(OUT, `callgrind-${tag}.out`);
  fs.copyFileSync(file(biggest), cgOut);
  const ann = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=99.5', cgOut]);
  const fns = await moduleFunctions(cgOut, n, k);
  const self = await run('callgrind_annotate', ['--inclusive=no', '--threshold=95', cgOut]);
  const partNote = span.parts.length > 1
    ? ` (the requests span ${span.parts.length} dump parts, as redirects end parts too: this is the biggest, ${totalIr(cgOut)} of ${irTotal} instructions)`
    : '';
  const byFn = fns.size ? `## the module's functions, inclusive, instructions per request\n${functionTable([{ head: 'per request', fns }])}\n\n` : '';
  fs.writeFileSync(path.join(OUT, `callgrind-${tag}.txt`),
    `# callgrind of ${SERVERS[k].name}: ${n} keep-alive GETs of ${FILE_PATH}${what}; Cookie: ${cookieShape(span.w.cookie)}; statuses ${JSON.stringify(span.counts)}${partNote}\n\n${byFn}## inclusive\n${ann.stdout}\n\n## self\n${self.stdout}\n`);
  return { irPerRequest: irTotal / n, fns };
}

/**
 * Profiles server K: with `sessions` sessions (1: one sign-in's cookie,
 * as before; N: N sign-ins and the requests cycle through their
 * cookies) or, with seed > 0, in a store of that many seeded sessions
 * (two windows). A gets cookies of B's shape. tag names the output files
 * (callgrind-<tag>[-<window>].out, perf-<tag>.txt). Resolves one row per
 * window { k, sessions, seed, label, cookieShape, requests, counts,
 * irPerRequest, fns, afterSignIn, storeText } (callgrind) or [{ k, rps }]
 * (perf).
 */
async function profileOne(k, { sessions = 1, seed = 0, tag }) {
  const av = available([k]);
  if (!av.wanted.length) throw new Error(av.notes.join(' '));
  let cgDir = null;
  const serverOpts = {};
  if (o.callgrind) {
    // httpd -X still switches to www-data: callgrind writes where it may
    cgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-callgrind-'));
    fs.chmodSync(cgDir, 0o777);
    serverOpts[k] = callgrindServer(cgDir);
  }
  const seeded = seed > 0 && k !== 'A';
  // --seed: B's store sized for the seeded and the 2 signed-in sessions
  // (its runtime directory, which holds the file, is under /dev/shm), and
  // the IdP knows only the account of the real sign-ins
  const bench = await startBench({
    wanted: [k], serverOpts, commonConf: o.conf.join('\n'), log,
    ...(seeded
      ? { sessions: seed + 2, distinctUsers: true, shmSize: o['shm-size'] || shmSizeFor(seed + 2), users: [benchUser(seed + 1)] }
      : { sessions, distinctUsers: DISTINCT && sessions > 1, shmSize: o['shm-size'] || null }),
  });
  live.add(bench);
  const tmp = { cookieDir: null };
  try {
    const srv = bench.srv[k];
    const c = seed ? await seededCookies(bench, k, seed, tmp) : await signedInCookies(srv, k, sessions);
    log(`${SERVERS[k].name}: Cookie ${cookieShape(c.windows[0].cookie)}${k === 'A' ? ' (fakeCookies: the shape of B\'s session cookie; A ignores it)' : ''}`);
    if (o.perf) return [await perfRun(srv, k, c.windows[0].cookie, tag, tmp)];
    const spans = await callgrindWindows(srv, cgDir, c.windows, await c.markerCookie());
    if (k !== 'A') await keepCallbacks(k, cgDir, tag);
    const rows = [];
    for (const span of spans) {
      const n = Array.isArray(span.w.cookie) ? span.w.cookie.length : 1;
      const what = seed ? `, ${span.w.label}: ${n} cookie(s)${seeded ? ` of ${seed} seeded` : ' of B\'s shape'}`
        : (sessions > 1 ? `, cycling through ${sessions} session cookies` : '');
      const t = span.w.label ? `${tag}-${span.w.label}` : tag;
      const r = await windowResult(k, cgDir, span, t, what);
      log(`${SERVERS[k].name}${what}: ${r.irPerRequest.toFixed(0)} instructions per request; written ${path.relative(process.cwd(), path.join(OUT, `callgrind-${t}.txt`))}`);
      rows.push({
        k, sessions, seed, label: span.w.label, cookieShape: cookieShape(span.w.cookie), distinct: n, requests: REQUESTS,
        counts: span.counts, ...r, afterSignIn: c.afterSignIn || null, storeText: c.storeText || null,
      });
    }
    return rows;
  } finally {
    await bench.stop();
    bench.cleanup();
    live.delete(bench);
    if (tmp.cookieDir) removeDir(tmp.cookieDir);
    if (cgDir && !process.env.FEDAUTH_KEEP_TMP) fs.rmSync(cgDir, { recursive: true, force: true });
  }
}

/** Benches still running: stopped on SIGINT/SIGTERM (a 1.9 GB store file). */
const live = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    for (const b of live) { await b.stop(); b.cleanup(); }
    process.exit(130);
  });
}

const notOk = (r) => r.requests - (r.counts[200] || 0);
const pct = (x, base) => `${x >= base ? '+' : ''}${((100 * (x - base)) / base).toFixed(1)}%`;

/**
 * The table of instructions per request: one line per row, "over A"
 * against the A row of the same window (label).
 */
function irTable(rows, what) {
  const overA = (r) => {
    const a = rows.find((x) => x.k === 'A' && x.label === r.label);
    return a && r.k !== 'A' ? pct(r.irPerRequest, a.irPerRequest) : '-';
  };
  return `| server | ${what.head} | Cookie | requests | not 200 | sessions non-200 after sign-in | instructions per request | over A |
|---|---|---|---:|---:|---:|---:|---:|
${rows.map((r) => `| ${SERVERS[r.k].name} | ${what.cell(r)} | ${r.cookieShape} | ${r.requests} | ${notOk(r)} | ${r.afterSignIn ? `${r.afterSignIn.bad} of ${r.afterSignIn.asked}` : '-'} | ${r.irPerRequest.toFixed(0)} | ${overA(r)} |`).join('\n')}`;
}

/** Runs the servers of a table one after another (each only if it can run here). */
async function runAll(runs) {
  const rows = [];
  for (const [k, opts] of runs) {
    const av = available([k]);
    if (!av.wanted.length) { log(`${k} skipped: ${av.notes.join(' ')}`); continue; }
    rows.push(...await profileOne(k, opts));
  }
  return rows;
}

/** Writes the markdown of a table run; prints the table. */
function writeTable(file, title, method, table, more = '') {
  const md = `# ${title}

Command: \`node t/bench/profile.mjs ${process.argv.slice(2).join(' ')}\`, ${new Date().toISOString()}; module ${modulePath()} (${moduleId()})

${method}

${table}
${more}`;
  fs.writeFileSync(file, md);
  process.stdout.write(`\n${table}\n\nwritten: ${path.relative(process.cwd(), file)}\n`);
}

/** --callgrind --sessions N: A, B with 1 and with N sessions, D. */
async function sessionsTable() {
  const rows = await runAll([
    ['A', { sessions: SESSIONS, tag: `A-sessions-${SESSIONS}` }],
    ['B', { sessions: 1, tag: 'B' }],
    ['B', { sessions: SESSIONS, tag: `B-sessions-${SESSIONS}` }],
    ['D', { sessions: SESSIONS, tag: `D-sessions-${SESSIONS}` }],
  ]);
  const table = irTable(rows, { head: 'sessions', cell: (r) => String(r.sessions) });
  writeTable(path.join(OUT, `callgrind-sessions-${SESSIONS}${DISTINCT ? '-distinct' : ''}.md`),
    `Instructions per request under callgrind, ${SESSIONS} sessions${DISTINCT ? ' of distinct users' : ' of one user'}`,
    `httpd -X under valgrind --tool=callgrind; ${REQUESTS} sequential keep-alive GETs of ${FILE_PATH}, cycling through the
cookies (A: cookies of mod_fedauth's shape, which it ignores); every instruction between two marker requests, divided by
the number of requests. A request that was not a 200 (a lost session: a redirect to the IdP) costs what a redirect costs.
${o['shm-size'] ? `B: FedAuthSessionStore shm:${o['shm-size']}.` : 'B: the default shm size.'}`, table);
  return rows;
}

/** --callgrind --seed N: A, then B in a store of N seeded sessions. */
async function seedTable() {
  const rows = await runAll([
    ['A', { seed: SEED, tag: `A-seed-${SEED}` }],
    ['B', { seed: SEED, tag: `B-seed-${SEED}` }],
  ]);
  const windowName = (r) => (r.label === 'distinct'
    ? `${r.distinct} distinct${r.distinct < r.requests ? ' (cycled)' : ''}` : 'one, repeated');
  const table = irTable(rows, { head: 'cookies', cell: windowName });
  const bRows = rows.filter((r) => r.k === 'B');
  const fns = bRows.length ? `\n## B's module functions, inclusive, instructions per request\n\n${functionTable(bRows.map((r) => ({ head: windowName(r), fns: r.fns })))}\n` : '';
  writeTable(path.join(OUT, `callgrind-seed-${SEED}.md`), `Instructions per request under callgrind, ${SEED} seeded sessions`,
    `httpd -X under valgrind --tool=callgrind, A then B. B: FedAuthSessionStore shm:${o['shm-size'] || shmSizeFor(SEED + 2)}
(runtime directory under /dev/shm); ${bRows[0]?.storeText || 'not run'}.
Two windows between marker requests, ${REQUESTS} sequential keep-alive GETs of ${FILE_PATH} each: "distinct", the cookies
of a random sample of distinct seeded sessions, each unseen by httpd before (a uniform cycle over all of them, as one
request of each user in turn); then "repeat-one", one other seeded cookie (asked 3 times before) every time.
A: cookies of B's shape (fakeCookies; A ignores them), as many distinct ones, then one repeated.
Instructions per request: all between the window's two markers over the number of requests.`, table, fns);
  return rows;
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  if (SEED && K !== 'A') await buildSeed(log);
  let rows;
  if (SEED_TABLE) rows = await seedTable();
  else if (TABLE) rows = await sessionsTable();
  else if (SEED) rows = await profileOne(K, { seed: SEED, tag: `${K}-seed-${SEED}` });
  else rows = await profileOne(K, { sessions: SESSIONS, tag: SESSIONS > 1 ? `${K}-sessions-${SESSIONS}` : K });
  // --seed: every response of the windows must be a 200
  const bad = SEED && o.callgrind ? rows.filter((r) => notOk(r) > 0) : [];
  if (bad.length) {
    throw new Error(`not every response was a 200: ${bad.map((r) => `${r.k} ${r.label} ${JSON.stringify(r.counts)}`).join('; ')}`);
  }
}

try {
  await main();
  process.exit(0);
} catch (e) {
  console.error(`[profile] FAILED: ${e.stack || e.message}`);
  process.exit(1);
}
