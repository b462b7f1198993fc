#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Memory soak (issue 8): does a worker's RSS grow with authenticated
// requests? Starts the chosen benchmark servers (t/bench/setup.mjs), signs
// in once per server, warms up with --warmup requests, then sends --requests
// more in wrk runs of --chunk seconds and prints each child's VmRSS after
// the warm-up and after every run, and the growth. With --sessions N, N
// sign-ins per server (with --distinct-users each of its own IdP account)
// and wrk cycles through their cookies (t/bench/report.lua; A through
// cookies of the same shape, which it ignores).
//
//   node t/bench/soak.mjs [--only B,C] [--requests 1000000] [--warmup 100000]
//                         [--chunk 10] [--sessions N] [--distinct-users]
//                         [--shm-size 64M] [--login-concurrency 16]
// Exit status 1 when any response was not a 200 (a redirect included).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import { stopChild, spawnTracked } from '../lib/procs.mjs';
import { makeTmpDir, removeDir } from '../lib/httpd.mjs';
import { childrenOf } from './servers.mjs';
import {
  SERVERS, available, startBench, loginOnce, signInMany, sessionLogin, checkSessions, writeCookieFile,
  fakeCookies,
} from './setup.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const LUA = path.join(here, 'report.lua');
const { values: o } = parseArgs({
  options: {
    only: { type: 'string', default: 'A,B,C' },
    requests: { type: 'string', default: '1000000' },
    warmup: { type: 'string', default: '100000' },
    chunk: { type: 'string', default: '10' },
    sessions: { type: 'string', default: '1' },
    'distinct-users': { type: 'boolean', default: false },
    'shm-size': { type: 'string' },
    'login-concurrency': { type: 'string', default: '16' },
  },
});
const REQUESTS = Number(o.requests);
const WARMUP = Number(o.warmup);
const CHUNK = Number(o.chunk);
const SESSIONS = Math.max(1, Math.floor(Number(o.sessions)) || 1);
const MANY = SESSIONS > 1;
const DISTINCT = o['distinct-users'];
if (DISTINCT && !MANY) { console.error('--distinct-users needs --sessions N with N > 1'); process.exit(2); }
if (o['shm-size'] && !/^\d+[KkMm]?$/.test(o['shm-size'])) { console.error(`bad --shm-size ${o['shm-size']}`); process.exit(2); }
const log = (...a) => console.error('[soak]', ...a);

function rssOf(pid) {
  const out = {};
  for (const c of childrenOf(pid)) {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${c}/status`, 'utf8'));
      if (m) out[c] = Number(m[1]);
    } catch { /* gone */ }
  }
  return out;
}

/**
 * One wrk run: { requests, non200 }. cookie: one Cookie header, or
 * { file } of a cookie list (one a line) that report.lua cycles through.
 */
function wrk(url, cookie, seconds) {
  return new Promise((resolve) => {
    const args = ['-t2', '-c32', `-d${seconds}s`, '-s', LUA];
    if (typeof cookie === 'string' && cookie) args.push('-H', `Cookie: ${cookie}`);
    args.push(url);
    const env = { ...process.env, BENCH_COUNT_STATUS: '1', BENCH_COOKIES: cookie?.file || '', BENCH_THREADS: '2' };
    const child = spawnTracked('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const killer = setTimeout(() => { stopChild(child, 2000); }, (seconds + 30) * 1000);
    child.exited.then(() => {
      clearTimeout(killer);
      const m = /^WRKJSON (\{.*\})$/m.exec(out);
      const j = m ? JSON.parse(m[1]) : {};
      resolve({ requests: j.requests || 0, non200: j.non200 || 0 });
    });
  });
}

const sumRss = (pid) => Object.values(rssOf(pid)).reduce((a, b) => a + b, 0);

/**
 * Runs wrk until at least n requests were answered: { requests, non200,
 * series } (series: the children's summed RSS in MiB after each run).
 */
async function send(url, cookie, n, pid) {
  let total = 0;
  let bad = 0;
  const series = [];
  for (let i = 0; i < 1000 && total < n; i++) {
    const r = await wrk(url, cookie, CHUNK);
    if (!r.requests) break;
    total += r.requests;
    bad += r.non200;
    series.push((sumRss(pid) / 1024).toFixed(1));
  }
  return { requests: total, non200: bad, series };
}

const { wanted } = available(o.only.toUpperCase().split(','));
const bench = await startBench({
  wanted, sessions: SESSIONS, distinctUsers: DISTINCT, shmSize: o['shm-size'] || null, log,
});
const rows = [];
const lines = [];
let failed = false;
const cookieDir = MANY ? makeTmpDir('bench-cookies', 0o700) : null;
try {
  for (const k of wanted) {
    const srv = bench.srv[k];
    let cookie = '';
    if (MANY) {
      let list;
      if (k === 'A') list = fakeCookies(SESSIONS);
      else {
        const r = await signInMany(srv, {
          n: SESSIONS, login: (i) => sessionLogin(i, DISTINCT), concurrency: Number(o['login-concurrency']) || 16, log, label: k,
        });
        list = r.cookies;
        const c = await checkSessions(srv.url, list);
        lines.push(`${SERVERS[k].name}: ${list.length} sessions signed in in ${r.seconds.toFixed(1)} s; after sign-in: ${c.bad} of ${c.asked} sessions answered non-200`);
        console.log(lines[lines.length - 1]);
        if (c.bad) failed = true;
      }
      cookie = { file: writeCookieFile(cookieDir, k, list) };
    } else if (k !== 'A') {
      const l = await loginOnce(srv);
      if (!l.ok) throw new Error(`${SERVERS[k].name}: sign-in failed: ${l.why}`);
      cookie = l.cookie;
    }
    const w = await send(srv.url, cookie, WARMUP, srv.pid);
    const rss0 = rssOf(srv.pid);
    const s = await send(srv.url, cookie, REQUESTS, srv.pid);
    const rss1 = rssOf(srv.pid);
    if (s.non200 + w.non200 > 0 || s.requests < REQUESTS) failed = true;
    const pids = Object.keys(rss0);
    const growth = pids.map((p) => (rss1[p] === undefined ? 'gone' : `${((rss1[p] - rss0[p]) / 1024).toFixed(2)}`));
    rows.push(`| ${SERVERS[k].name} | ${w.requests} | ${s.requests} | ${s.non200 + w.non200} | ${pids.map((p) => (rss0[p] / 1024).toFixed(1)).join(' / ')} | ${pids.map((p) => (rss1[p] === undefined ? '-' : (rss1[p] / 1024).toFixed(1))).join(' / ')} | ${growth.join(' / ')} |`);
    console.log(rows[rows.length - 1]);
    console.log(`${SERVERS[k].name}: children's RSS (MiB, summed) after each ${CHUNK} s run: ${s.series.join(' ')}`);
  }
} finally {
  await bench.stop();
  bench.cleanup();
  if (cookieDir) removeDir(cookieDir);
}
console.log(`${MANY ? `\n${SESSIONS} sessions per server${DISTINCT ? ', each of its own user' : ', all of one user'}; wrk cycles through their cookies\n${lines.join('\n')}\n` : ''}
| server | warm-up requests | measured requests | non-200 | children RSS MiB after warm-up | after | growth MiB |
|---|---:|---:|---:|---|---|---|
${rows.join('\n')}`);
// exit 1 when a request was not answered 200 or too few were sent
if (failed) process.exitCode = 1;
