#!/usr/bin/env node
// Memory soak (issue 8): does a worker's RSS grow with authenticated
// requests? Starts the chosen benchmark servers (t/bench/setup.mjs), signs
// in once per server, warms up with --warmup requests, then sends --requests
// more in wrk runs of --chunk seconds and prints each child's VmRSS after
// the warm-up and after every run, and the growth.
//
//   node t/bench/soak.mjs [--only B,C] [--requests 1000000] [--warmup 100000]
//                         [--chunk 10]
// Exit status 1 when any response was not a 200 (a redirect included).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import { stopChild, spawnTracked } from '../lib/procs.mjs';
import { childrenOf } from './servers.mjs';
import { SERVERS, available, startBench, loginOnce } from './setup.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const LUA = path.join(here, 'report.lua');
const { values: o } = parseArgs({
  options: {
    only: { type: 'string', default: 'A,B,C' },
    requests: { type: 'string', default: '1000000' },
    warmup: { type: 'string', default: '100000' },
    chunk: { type: 'string', default: '10' },
  },
});
const REQUESTS = Number(o.requests);
const WARMUP = Number(o.warmup);
const CHUNK = Number(o.chunk);

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

/** One wrk run: { requests, non200 }. */
function wrk(url, cookie, seconds) {
  return new Promise((resolve) => {
    const args = ['-t2', '-c32', `-d${seconds}s`, '-s', LUA];
    if (cookie) args.push('-H', `Cookie: ${cookie}`);
    args.push(url);
    const child = spawnTracked('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BENCH_COUNT_STATUS: '1' } });
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
const bench = await startBench({ wanted });
const rows = [];
let failed = false;
try {
  for (const k of wanted) {
    const srv = bench.srv[k];
    let cookie = '';
    if (k !== 'A') {
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
}
console.log(`
| server | warm-up requests | measured requests | non-200 | children RSS MiB after warm-up | after | growth MiB |
|---|---:|---:|---:|---|---|---|
${rows.join('\n')}`);
// exit 1 when a request was not answered 200 or too few were sent
if (failed) process.exitCode = 1;
