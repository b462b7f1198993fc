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
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import { REPO } from '../lib/index.mjs';
import { sleep } from '../lib/procs.mjs';
import { makeTmpDir, removeDir } from '../lib/httpd.mjs';
import { childrenOf, FILE_PATH } from './servers.mjs';
import {
  SERVERS, available, startBench, loginOnce, signInMany, sessionLogin, checkSessions, writeCookieFile,
  fakeCookies,
} from './setup.mjs';

const OUT = path.join(REPO, 'build', 'out', 'bench');
const { values: o } = parseArgs({
  options: {
    server: { type: 'string' },
    perf: { type: 'boolean', default: false },
    callgrind: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '10' },
    requests: { type: 'string' },
    frequency: { type: 'string', default: '499' },
    conf: { type: 'string', multiple: true, default: [] },
    sessions: { type: 'string', default: '1' },
    'distinct-users': { type: 'boolean', default: false },
    'shm-size': { type: 'string' },
    'login-concurrency': { type: 'string' },
  },
});
const SESSIONS = Math.max(1, Math.floor(Number(o.sessions)) || 1);
const DISTINCT = o['distinct-users'];
if (DISTINCT && SESSIONS < 2) { console.error('--distinct-users needs --sessions N with N > 1'); process.exit(2); }
if (o['shm-size'] && !/^\d+[KkMm]?$/.test(o['shm-size'])) { console.error(`bad --shm-size ${o['shm-size']}`); process.exit(2); }
const REQUESTS = Number(o.requests ?? Math.max(5000, SESSIONS));
// under valgrind the threads take turns: more sign-ins at once do not help
const LOGIN_CONC = Math.max(1, Number(o['login-concurrency'] ?? (o.callgrind ? 4 : 16)) || 1);
const K = (o.server || 'B').toUpperCase();
if (!SERVERS[K]) { console.error(`--server ${Object.keys(SERVERS).join('|')}`); process.exit(2); }
if (o.perf === o.callgrind) { console.error('give one of --perf or --callgrind'); process.exit(2); }
// --callgrind --sessions N without --server: the table of A, B (1 and N), D
const TABLE = o.callgrind && SESSIONS > 1 && !o.server;
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
 * (n requests): the table by function that docs/performance.md quotes.
 * Empty for A (no module).
 */
async function moduleFunctions(file, n, k) {
  if (k === 'A') return '';
  const re = k === 'D' || k === 'E' ? /mod_auth_openidc|libcjose/ : /mod_fedauth/;
  const out = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file]);
  const seen = new Map();
  for (const line of out.stdout.split('\n')) {
    const m = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+?):(\S+)\s+\[(.*)\]\s*$/.exec(line);
    if (!m || !re.test(m[4])) continue;
    const key = `${path.basename(m[2])}:${m[3]}`;
    if (!seen.has(key)) seen.set(key, Number(m[1].replace(/,/g, '')));
  }
  const rows = [...seen.entries()].filter(([, v]) => v / n >= 10).sort((a, b) => b[1] - a[1])
    .map(([key, v]) => `| ${key} | ${(v / n).toFixed(0)} |`).join('\n');
  return `## the module's functions, inclusive, instructions per request\n| function | per request |\n|---|---:|\n${rows}\n\n`;
}

/** Total instructions (Ir) of a callgrind output file. */
function totalIr(file) {
  const t = fs.readFileSync(file, 'latin1');
  const m = /^(?:summary|totals):\s+(\d+)/m.exec(t);
  return m ? Number(m[1]) : NaN;
}

/**
 * Profiles server K with `sessions` sessions (1: one sign-in's cookie, as
 * before; N: N sign-ins and the requests cycle through their cookies;
 * for A, cookies of the same shape). tag names the output files
 * (callgrind-<tag>.out, perf-<tag>.txt). Resolves { k, sessions, requests,
 * counts, irPerRequest, afterSignIn } (callgrind) or { k, rps } (perf).
 */
async function profileOne(k, { sessions, tag }) {
  const av = available([k]);
  if (!av.wanted.length) throw new Error(av.notes.join(' '));
  const many = sessions > 1;
  const cgOut = path.join(OUT, `callgrind-${tag}.out`);
  const serverOpts = {};
  let cgDir = null;
  if (o.callgrind) {
    // httpd -X still switches to www-data: callgrind writes where it may
    cgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-callgrind-'));
    fs.chmodSync(cgDir, 0o777);
    serverOpts[k] = {
      prefix: ['valgrind', '--tool=callgrind', `--callgrind-out-file=${cgDir}/cg.out`,
        '--dump-before=ap_send_error_response', '--separate-threads=no'],
      extraArgs: ['-X'],
      startTimeoutMs: 120000,
      stopGraceMs: 120000,
    };
  }
  // A with many sessions: the list of B's shape, which it ignores
  const bench = await startBench({
    wanted: [k], serverOpts, commonConf: o.conf.join('\n'), log,
    sessions, distinctUsers: DISTINCT && many, shmSize: o['shm-size'] || null,
  });
  let cookieDir = null;
  try {
    const srv = bench.srv[k];
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
    if (many) {
      if (k === 'A') cookie = fakeCookies(sessions);
      else {
        log(`${SERVERS[k].name}: signing in ${sessions} sessions, ${LOGIN_CONC} at a time`);
        const r = await signInMany(srv, {
          n: sessions, login: (i) => sessionLogin(i, DISTINCT), concurrency: LOGIN_CONC, log, label: k,
        });
        log(`${SERVERS[k].name}: ${r.cookies.length} sessions in ${r.seconds.toFixed(1)} s (${r.perSecond.toFixed(1)}/s)`);
        cookie = r.cookies;
        afterSignIn = await checkSessions(srv.url, cookie);
        log(`${SERVERS[k].name}: after sign-in: ${afterSignIn.bad} of ${afterSignIn.asked} sessions answered non-200`);
      }
    } else {
      const check = await requests(srv.url, cookie, 3);
      if (!check[200] || check[200] !== 3) throw new Error(`the cookie does not get 200: ${JSON.stringify(check)}`);
    }

    if (o.perf) {
      const secs = Number(o.seconds);
      const pids = childrenOf(srv.pid);
      log(`wrk ${secs} s; perf on children ${pids.join(',')}`);
      let env = process.env;
      const wrkArgs = ['-t2', '-c32', `-d${secs}s`];
      if (many) {
        cookieDir = makeTmpDir('bench-cookies', 0o700);
        env = { ...env, BENCH_COOKIES: writeCookieFile(cookieDir, k, cookie), BENCH_THREADS: '2' };
        wrkArgs.push('-s', path.join(path.dirname(fileURLToPath(import.meta.url)), 'report.lua'));
      } else if (cookie) wrkArgs.push('-H', `Cookie: ${cookie}`);
      wrkArgs.push(srv.url);
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
      const what = many ? `, cycling through ${sessions} sessions${lost !== undefined ? ` (${lost} responses not 200)` : ''}` : '';
      const txt = `# perf profile of ${SERVERS[k].name}, ${rps} req/s under wrk -t2 -c32${what}\n\n${share}\n\n## self time by DSO\n${byDso.stdout}\n\n## self time by symbol\n${self.stdout}\n\n## inclusive (children) time by symbol\n${incl.stdout}\n`;
      fs.writeFileSync(path.join(OUT, `perf-${tag}.txt`), txt);
      log(`written ${path.relative(process.cwd(), path.join(OUT, `perf-${tag}.txt`))} (and perf-${tag}.data)`);
      return { k, rps: Number(rps) };
    }

    const n = REQUESTS;
    const marker = `${srv.base}/bench/missing-callgrind-marker`;
    const parts = () => fs.readdirSync(cgDir).map((f) => /^cg\.out\.(\d+)$/.exec(f)).filter(Boolean).map((m) => Number(m[1]));
    // the markers need a session (/bench is protected): with many, one
    // signed in last; should it be lost by the second marker, that one is
    // a redirect, which ends the part as well
    let markerCookie = cookie;
    if (Array.isArray(cookie)) {
      markerCookie = k === 'A' ? '' : (await loginOnce(srv)).cookie;
    }
    const m1 = await requests(marker, markerCookie, 1);
    if (!m1[404]) throw new Error(`marker request: ${JSON.stringify(m1)}`);
    // the dump before the marker's 404 is written before it is sent
    const first = Math.max(0, ...parts());
    const t0 = Date.now();
    const counts = await requests(srv.url, cookie, n);
    log(`${n} requests in ${Date.now() - t0} ms: ${JSON.stringify(counts)}`);
    const m2 = await requests(marker, markerCookie, 1);
    if (!m2[404]) log(`the second marker got ${JSON.stringify(m2)}`);
    await srv.stop();   // SIGTERM: callgrind writes the last part as httpd exits
    // parts: cg.out.1 (start, sign-in), cg.out.2 ..., cg.out (exit).
    // Every response httpd sends through ap_send_error_response (404s, and
    // the redirects of a sign-in) ends a part. The parts after the first
    // marker's, up to the last numbered one (ended by the second marker),
    // hold the n requests: one part, unless some of them were redirects
    // (lost sessions), which end parts of their own. With a sign-in, part 2
    // ends with the first callback's redirect (cold: discovery, JWKS) and
    // part 4 with the second's (warm).
    for (let i = 0; i < 100 && !fs.existsSync(path.join(cgDir, 'cg.out')); i++) await sleep(100);
    const nums = parts().sort((a, b) => a - b);
    if (!nums.length) throw new Error(`no callgrind parts in ${cgDir}: ${fs.readdirSync(cgDir).join(' ')}`);
    const window = nums.filter((x) => x > first);
    const irTotal = window.reduce((a, x) => a + totalIr(path.join(cgDir, `cg.out.${x}`)), 0);
    // annotated: the part with most of the requests (the only one without redirects)
    const biggest = window.reduce((a, x) => (totalIr(path.join(cgDir, `cg.out.${x}`)) > totalIr(path.join(cgDir, `cg.out.${a}`)) ? x : a), window[window.length - 1]);
    fs.copyFileSync(path.join(cgDir, `cg.out.${biggest}`), cgOut);
    if (k !== 'A') {
      for (const [num, label] of [[2, 'cold'], [4, 'warm']]) {
        const f = path.join(cgDir, `cg.out.${num}`);
        if (fs.existsSync(f) && /callback|redirect_uri/i.test(fs.readFileSync(f, 'latin1'))) {
          fs.copyFileSync(f, path.join(OUT, `callgrind-${tag}-callback-${label}.out`));
        }
      }
    }
    const ann = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=99.5', cgOut]);
    const byFn = await moduleFunctions(cgOut, n, k);
    const self = await run('callgrind_annotate', ['--inclusive=no', '--threshold=95', cgOut]);
    const partNote = window.length > 1
      ? ` (the requests span ${window.length} dump parts, as redirects end parts too: this is the biggest, ${totalIr(cgOut)} of ${irTotal} instructions)`
      : '';
    fs.writeFileSync(path.join(OUT, `callgrind-${tag}.txt`),
      `# callgrind of ${SERVERS[k].name}: ${n} keep-alive GETs of ${FILE_PATH}${many ? `, cycling through ${sessions} session cookies` : ''}; statuses ${JSON.stringify(counts)}${partNote}\n\n${byFn}## inclusive\n${ann.stdout}\n\n## self\n${self.stdout}\n`);
    for (const label of ['cold', 'warm']) {
      const f = path.join(OUT, `callgrind-${tag}-callback-${label}.out`);
      if (!fs.existsSync(f)) continue;
      const a = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=99', f]);
      fs.writeFileSync(f.replace(/\.out$/, '.txt'), `# callgrind of ${SERVERS[k].name}: the sign-in callback, ${label}\n\n${a.stdout}\n`);
    }
    const irPerRequest = irTotal / n;
    log(`${SERVERS[k].name}${many ? `, ${sessions} sessions` : ''}: ${irPerRequest.toFixed(0)} instructions per request; written ${path.relative(process.cwd(), path.join(OUT, `callgrind-${tag}.txt`))} (and the callback's, when signed in)`);
    return { k, sessions, requests: n, counts, irPerRequest, afterSignIn };
  } finally {
    await bench.stop();
    bench.cleanup();
    if (cookieDir) removeDir(cookieDir);
    if (cgDir && !process.env.FEDAUTH_KEEP_TMP) fs.rmSync(cgDir, { recursive: true, force: true });
  }
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  if (!TABLE) {
    await profileOne(K, { sessions: SESSIONS, tag: SESSIONS > 1 ? `${K}-sessions-${SESSIONS}` : K });
    return;
  }
  const runs = [
    ['A', SESSIONS, `A-sessions-${SESSIONS}`],
    ['B', 1, 'B'],
    ['B', SESSIONS, `B-sessions-${SESSIONS}`],
    ['D', SESSIONS, `D-sessions-${SESSIONS}`],
  ];
  const rows = [];
  for (const [k, n, tag] of runs) {
    const av = available([k]);
    if (!av.wanted.length) { log(`${k} skipped: ${av.notes.join(' ')}`); continue; }
    rows.push(await profileOne(k, { sessions: n, tag }));
  }
  const bad = (r) => r.requests - (r.counts[200] || 0);
  const table = `| server | sessions | requests | not 200 | sessions non-200 after sign-in | instructions per request |
|---|---:|---:|---:|---:|---:|
${rows.map((r) => `| ${SERVERS[r.k].name} | ${r.sessions} | ${r.requests} | ${bad(r)} | ${r.afterSignIn ? `${r.afterSignIn.bad} of ${r.afterSignIn.asked}` : '-'} | ${r.irPerRequest.toFixed(0)} |`).join('\n')}`;
  const md = `# Instructions per request under callgrind, ${SESSIONS} sessions${DISTINCT ? ' of distinct users' : ' of one user'}

Command: \`node t/bench/profile.mjs ${process.argv.slice(2).join(' ')}\`

httpd -X under valgrind --tool=callgrind; ${REQUESTS} sequential keep-alive GETs of ${FILE_PATH}, cycling through the
cookies (A: cookies of mod_fedauth's shape, which it ignores); every instruction between two marker requests, divided by
the number of requests. A request that was not a 200 (a lost session: a redirect to the IdP) costs what a redirect costs.
${o['shm-size'] ? `B: FedAuthSessionStore shm:${o['shm-size']}.` : 'B: the default shm size.'}

${table}
`;
  const f = path.join(OUT, `callgrind-sessions-${SESSIONS}${DISTINCT ? '-distinct' : ''}.md`);
  fs.writeFileSync(f, md);
  process.stdout.write(`\n${table}\n\nwritten: ${path.relative(process.cwd(), f)}\n`);
}

try {
  await main();
  process.exit(0);
} catch (e) {
  console.error(`[profile] FAILED: ${e.stack || e.message}`);
  process.exit(1);
}
