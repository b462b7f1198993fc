// SPDX-License-Identifier: Apache-2.0
// run.mjs --seed N (issue 24): the benchmark's seeding tool (t/bench/seed.c,
// built by seed.sh into build/out/bench/seed, never part of mod_fedauth.so)
// run against the store of server B (shm), C (one Redis) or H (a Redis
// Cluster), what each store holds (shm counters, Redis used_memory), and
// the records behind a list of cookies (seeded and signed-in: alike?).
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';

import { REPO } from '../lib/index.mjs';
import { redisCli } from '../lib/redis.mjs';

const SEED_SH = path.join(REPO, 't', 'bench', 'seed.sh');
const SEED_BIN = path.join(REPO, 'build', 'out', 'bench', 'seed');

/**
 * B's FedAuthSessionStore size for n sessions by docs/operating.md's rule
 * (about 600 ordinary sessions per MiB), with 15 % to spare (the store
 * warns above 90 % of its blocks); at least the default 64M, at most 4G.
 */
export function shmSizeFor(n) {
  const mib = Math.ceil((n / 600) * 1.15);
  return `${Math.min(4095, Math.max(64, mib))}M`;
}

/** FedAuthSessionHostCache for n sessions: a host copy is a session's head
 * (no ID token) and its stamp, three or four blocks of the embedded store
 * (about 550 bytes with the blocks' links and buckets). */
export function hostCacheSizeFor(n) {
  const mib = Math.ceil((n * 550) / (1024 * 1024));
  return `${Math.min(4095, Math.max(64, mib))}M`;
}

const bytesOf = (size) => {
  const m = /^(\d+)([KkMm]?)$/.exec(size);
  const mult = { '': 1, k: 1024, m: 1024 * 1024 }[m[2].toLowerCase()];
  return Number(m[1]) * mult;
};

function run(cmd, args, timeoutMs = 30 * 60 * 1000) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs, cwd: REPO }, (e, stdout, stderr) => {
      if (e) reject(new Error(`${path.basename(cmd)} ${args.slice(0, 2).join(' ')}: ${e.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export async function buildSeed(log = () => {}) {
  log('building t/bench/seed.c (t/bench/seed.sh)');
  await run(SEED_SH, []);
}

/** seed.c's --store for server k of a bench (startBench's result). */
function storeSpec(bench, k) {
  if (k === 'B') {
    const size = bytesOf(bench.shmSize);
    return `shm:${path.join(bench.srv.B.runDir, 'fedauth-sessions.shm')}:${size}`;
  }
  if (k === 'C') return `redis://127.0.0.1:${bench.redis.port}`;
  if (k === 'H') return bench.clusterUrl;
  throw new Error(`--seed: no store for server ${k}`);
}

/**
 * Seeds n sessions (users 1..n) into k's store; resolves { cookies (Cookie
 * header values, in order), users, seconds, perSecond, threads }.
 */
export async function seedStore(bench, k, { n, dir, idle, maxAge, log = () => {} }) {
  const out = path.join(dir, `seeded-${k}.txt`);
  log(`${k}: seeding ${n} sessions (t/bench/seed.c)`);
  const j = JSON.parse(await run(SEED_BIN, [
    '--store', storeSpec(bench, k), '--secret', bench.secret, '--n', String(n),
    '--idle', String(idle), '--max-age', String(maxAge), '--out', out,
    '--threads', k === 'H' ? '12' : '8',
    '--iss', bench.idp.issuer, '--aud', `bench-${k}`,
  ]));
  const lines = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
  fs.rmSync(out);
  const cookies = [];
  const users = [];
  for (const l of lines) {
    const t = l.indexOf('\t');
    cookies.push(l.slice(0, t));
    users.push(l.slice(t + 1));
  }
  return { cookies, users, seconds: j.seconds, perSecond: j.per_second, threads: j.threads };
}

/** INFO memory's used_memory of one Redis port. */
async function usedMemory(port) {
  const out = await redisCli(port, ['INFO', 'memory']);
  return Number(/used_memory:(\d+)/.exec(out)?.[1] || NaN);
}

/**
 * What k's store holds: { bytes (shm: blocks used x 128 + their links;
 * Redis: used_memory, summed over a Cluster's masters), sessions (shm),
 * text }.
 */
export async function storeUsage(bench, k) {
  if (k === 'B') {
    const j = JSON.parse(await run(SEED_BIN, ['--store', storeSpec(bench, k), '--stats']));
    const bytes = j.blocks_used * (128 + 8);   // FA_SHM_BLOCK_BYTES
    return { bytes, sessions: j.sessions, entries: j.entries, blocksUsed: j.blocks_used, blocks: j.blocks, text: `${j.sessions} sessions, ${j.entries} entries, ${j.blocks_used} of ${j.blocks} blocks` };
  }
  const ports = k === 'C' ? [bench.redis.port] : bench.cluster.nodes.map((x) => x.port);
  let bytes = 0;
  for (const p of ports) bytes += await usedMemory(p);
  return { bytes, text: `used_memory ${(bytes / 1048576).toFixed(1)} MiB${ports.length > 1 ? ` over ${ports.length} masters` : ''}` };
}

/**
 * The records behind cookies (the first `seeded` of them seeded, the rest
 * signed in): { seeded: [...], signedIn: [...], alike, text }; alike when
 * every record is found, the field tags are the same and the sizes are
 * within 16 bytes of each other.
 */
export async function inspectRecords(bench, k, cookies, seeded) {
  const file = path.join(path.dirname(bench.srv[k].dir), `inspect-${k}-${process.pid}.txt`);
  fs.writeFileSync(file, `${cookies.join('\n')}\n`, { mode: 0o600 });
  let recs;
  try {
    recs = (await run(SEED_BIN, ['--store', storeSpec(bench, k), '--secret', bench.secret, '--inspect', file]))
      .split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } finally {
    fs.rmSync(file, { force: true });
  }
  const a = recs.slice(0, seeded);
  const b = recs.slice(seeded);
  const all = [...a, ...b];
  const sizes = all.map((r) => r.bytes);
  const tags = new Set(all.map((r) => r.tags));
  const alike = all.every((r) => r.found && r.bytes) && tags.size === 1
    && Math.max(...sizes) - Math.min(...sizes) <= 16;
  const jwtClaims = (r) => {
    try { return Object.keys(JSON.parse(Buffer.from(r.jwt.split('.')[1], 'base64url').toString())).join(','); } catch { return '?'; }
  };
  // the distinct shapes: size, field tags, attributes, the ID token's size and claim names
  const desc = (rs) => [...new Set(rs.map((r) => (r.found ? `${r.bytes} B ${r.tags} (${r.attrs} attributes, roles '${r.roles}', ID token ${r.id_token} B: ${jwtClaims(r)})` : 'not found')))].join('; ');
  return {
    seeded: a,
    signedIn: b,
    alike,
    text: `records ${alike ? 'alike' : 'NOT alike'}: seeded ${desc(a)}; signed in ${desc(b)}`,
  };
}
