#!/usr/bin/env node
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
//       callgrind-B.out and callgrind-B.txt (inclusive and self cost per
//       function, instructions).
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { parseArgs } from 'node:util';

import { REPO } from '../lib/index.mjs';
import { sleep } from '../lib/procs.mjs';
import { childrenOf, FILE_PATH } from './servers.mjs';
import { SERVERS, available, startBench, loginOnce } from './setup.mjs';

const OUT = path.join(REPO, 'build', 'out', 'bench');
const { values: o } = parseArgs({
  options: {
    server: { type: 'string', default: 'B' },
    perf: { type: 'boolean', default: false },
    callgrind: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '10' },
    requests: { type: 'string', default: '5000' },
    frequency: { type: 'string', default: '499' },
    conf: { type: 'string', multiple: true, default: [] },
  },
});
const K = o.server.toUpperCase();
if (!SERVERS[K]) { console.error('--server A|B|C|D|E'); process.exit(2); }
if (o.perf === o.callgrind) { console.error('give one of --perf or --callgrind'); process.exit(2); }
const log = (...a) => console.error('[profile]', ...a);

function run(cmd, args, { timeoutMs = 600000 } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** n sequential keep-alive GETs with the cookie; resolves the status counts. */
async function requests(url, cookie, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const counts = {};
  for (let i = 0; i < n; i++) {
    const status = await new Promise((resolve) => {
      const req = http.get(url, { agent, headers: cookie ? { Cookie: cookie } : {}, timeout: 30000 }, (res) => {
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

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const av = available([K]);
  if (!av.wanted.length) throw new Error(av.notes.join(' '));
  const cgOut = path.join(OUT, `callgrind-${K}.out`);
  const serverOpts = {};
  let cgDir = null;
  if (o.callgrind) {
    // httpd -X still switches to www-data: callgrind writes where it may
    cgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-callgrind-'));
    fs.chmodSync(cgDir, 0o777);
    serverOpts[K] = {
      prefix: ['valgrind', '--tool=callgrind', `--callgrind-out-file=${cgDir}/cg.out`,
        '--dump-before=ap_send_error_response', '--separate-threads=no'],
      extraArgs: ['-X'],
      startTimeoutMs: 120000,
      stopGraceMs: 120000,
    };
  }
  const bench = await startBench({ wanted: [K], serverOpts, commonConf: o.conf.join('\n'), log });
  try {
    const srv = bench.srv[K];
    let cookie = '';
    if (K !== 'A') {
      // two sign-ins: the first fetches discovery and JWKS, the second
      // is a warm one (under callgrind: dump parts 2 and 4, below)
      for (let i = 0; i < (o.callgrind ? 2 : 1); i++) {
        const r = await loginOnce(srv);
        if (!r.ok) throw new Error(`sign-in failed: ${r.why}`);
        cookie = r.cookie;
      }
    }
    const check = await requests(srv.url, cookie, 3);
    if (!check[200] || check[200] !== 3) throw new Error(`the cookie does not get 200: ${JSON.stringify(check)}`);

    if (o.perf) {
      const secs = Number(o.seconds);
      const pids = childrenOf(srv.pid);
      log(`wrk ${secs} s; perf on children ${pids.join(',')}`);
      const wrkArgs = ['-t2', '-c32', `-d${secs}s`, ...(cookie ? ['-H', `Cookie: ${cookie}`] : []), srv.url];
      const wrk = run('wrk', wrkArgs);
      await sleep(1000);
      const data = path.join(OUT, `perf-${K}.data`);
      const rec = await run('perf', ['record', '-e', 'cpu-clock', '-F', o.frequency, '--call-graph', 'dwarf,16384',
        '-o', data, '-p', pids.join(','), '--', 'sleep', String(Math.max(1, secs - 2))]);
      const w = await wrk;
      const rps = /Requests\/sec:\s*([\d.]+)/.exec(w.stdout)?.[1];
      log(`wrk: ${rps} req/s; perf: ${rec.stderr.trim().split('\n').slice(-1)[0]}`);
      const self = await run('perf', ['report', '-i', data, '--no-children', '--sort', 'dso,sym', '--stdio',
        '-g', 'none', '--percent-limit', '0.3']);
      const incl = await run('perf', ['report', '-i', data, '--children', '--sort', 'sym', '--stdio',
        '-g', 'none', '--percent-limit', '0.5']);
      const byDso = await run('perf', ['report', '-i', data, '--no-children', '--sort', 'dso', '--stdio', '-g', 'none']);
      const share = await moduleShare(data, K);
      const txt = `# perf profile of ${SERVERS[K].name}, ${rps} req/s under wrk -t2 -c32\n\n${share}\n\n## self time by DSO\n${byDso.stdout}\n\n## self time by symbol\n${self.stdout}\n\n## inclusive (children) time by symbol\n${incl.stdout}\n`;
      fs.writeFileSync(path.join(OUT, `perf-${K}.txt`), txt);
      log(`written ${path.relative(process.cwd(), path.join(OUT, `perf-${K}.txt`))} (and perf-${K}.data)`);
    } else {
      const n = Number(o.requests);
      const marker = `${srv.base}/bench/missing-callgrind-marker`;
      const m1 = await requests(marker, cookie, 1);
      if (!m1[404]) throw new Error(`marker request: ${JSON.stringify(m1)}`);
      const t0 = Date.now();
      const counts = await requests(srv.url, cookie, n);
      log(`${n} requests in ${Date.now() - t0} ms: ${JSON.stringify(counts)}`);
      await requests(marker, cookie, 1);
      await srv.stop();   // SIGTERM: callgrind writes the last part as httpd exits
      // parts: cg.out.1 (start, sign-in), cg.out.2 (the n requests), cg.out (exit)
      // Every response httpd sends through ap_send_error_response (404s,
      // and the redirects of a sign-in) ends a part. The last numbered part
      // ends with the second marker: the n requests. With a sign-in, part 2
      // ends with the first callback's redirect (cold: discovery, JWKS) and
      // part 4 with the second's (warm).
      const parts = () => fs.readdirSync(cgDir).map((f) => /^cg\.out\.(\d+)$/.exec(f)).filter(Boolean).map((m) => Number(m[1]));
      for (let i = 0; i < 100 && !fs.existsSync(path.join(cgDir, 'cg.out')); i++) await sleep(100);
      const nums = parts().sort((a, b) => a - b);
      if (!nums.length) throw new Error(`no callgrind parts in ${cgDir}: ${fs.readdirSync(cgDir).join(' ')}`);
      fs.copyFileSync(path.join(cgDir, `cg.out.${nums[nums.length - 1]}`), cgOut);
      if (K !== 'A') {
        for (const [num, label] of [[2, 'cold'], [4, 'warm']]) {
          const f = path.join(cgDir, `cg.out.${num}`);
          if (fs.existsSync(f) && /callback|redirect_uri/i.test(fs.readFileSync(f, 'latin1'))) {
            fs.copyFileSync(f, path.join(OUT, `callgrind-${K}-callback-${label}.out`));
          }
        }
      }
      fs.rmSync(cgDir, { recursive: true, force: true });
      const ann = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=99.5', cgOut]);
      const self = await run('callgrind_annotate', ['--inclusive=no', '--threshold=95', cgOut]);
      fs.writeFileSync(path.join(OUT, `callgrind-${K}.txt`),
        `# callgrind of ${SERVERS[K].name}: ${n} keep-alive GETs of ${FILE_PATH}\n\n## inclusive\n${ann.stdout}\n\n## self\n${self.stdout}\n`);
      for (const label of ['cold', 'warm']) {
        const f = path.join(OUT, `callgrind-${K}-callback-${label}.out`);
        if (!fs.existsSync(f)) continue;
        const a = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=99', f]);
        fs.writeFileSync(f.replace(/\.out$/, '.txt'), `# callgrind of ${SERVERS[K].name}: the sign-in callback, ${label}\n\n${a.stdout}\n`);
      }
      log(`written ${path.relative(process.cwd(), path.join(OUT, `callgrind-${K}.txt`))} (and the callback's, when signed in)`);
    }
  } finally {
    await bench.stop();
    bench.cleanup();
    if (cgDir && !process.env.FEDAUTH_KEEP_TMP) fs.rmSync(cgDir, { recursive: true, force: true });
  }
}

try {
  await main();
  process.exit(0);
} catch (e) {
  console.error(`[profile] FAILED: ${e.stack || e.message}`);
  process.exit(1);
}
