// SPDX-License-Identifier: Apache-2.0
// Real Redis servers, replicas and Sentinels for the integration tests
// (Debian's redis-server / redis-sentinel / redis-cli, Redis >= 6.2).
// Every instance listens on 127.0.0.1 on a free port, keeps its config,
// data and log in its own temp dir (/tmp/fedauth-redis-*), and is stopped
// by PID with bounded waits. Nothing here talks to a Redis the test did
// not start.
import fs from 'node:fs';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';

import { freePort, waitForPort } from './ports.mjs';
import { spawnTracked, stopChild, isRunning, sleep } from './procs.mjs';
import { makeTmpDir, removeDir } from './httpd.mjs';

export const REDIS_SERVER = process.env.REDIS_SERVER || '/usr/bin/redis-server';
export const REDIS_CLI = process.env.REDIS_CLI || '/usr/bin/redis-cli';

/** True when redis-server and redis-cli are installed (the tests skip otherwise). */
export function redisAvailable() {
  try {
    execFileSync(REDIS_SERVER, ['--version'], { stdio: 'ignore', timeout: 5000 });
    execFileSync(REDIS_CLI, ['--version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Poll fn() (sync or async) every intervalMs until it returns a truthy
 * value, for at most timeoutMs. Resolves that value, or undefined on time
 * out. Exceptions from fn count as "not yet".
 */
export async function waitUntil(fn, { timeoutMs = 10000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch { /* not yet */ }
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

/**
 * redis-cli against 127.0.0.1:port, bounded (timeoutMs). Resolves the raw
 * output (--raw, trimmed); rejects when redis-cli fails or times out.
 * auth: { user?, password? }; db: -n.
 */
export function redisCli(port, args, { auth, db, timeoutMs = 5000, tls } = {}) {
  const a = ['-h', '127.0.0.1', '-p', String(port), '--raw'];
  // tls: { ca, cert?, key? } (files from makeTlsFiles): redis-cli --tls
  if (tls) {
    a.push('--tls', '--cacert', tls.ca);
    if (tls.cert) a.push('--cert', tls.cert, '--key', tls.key);
    if (tls.insecure) a.push('--insecure');
  }
  if (auth?.user) a.push('--user', auth.user);
  if (auth?.password) a.push('--pass', auth.password, '--no-auth-warning');
  if (db !== undefined) a.push('-n', String(db));
  a.push(...args.map(String));
  return new Promise((resolve, reject) => {
    execFile(REDIS_CLI, a, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const e = new Error(`redis-cli -p ${port} ${args.join(' ')}: ${err.killed ? 'timed out' : err.message} ${stderr}`);
        e.stdout = stdout;
        reject(e);
        return;
      }
      resolve(String(stdout).replace(/\n+$/, ''));
    });
  });
}

/**
 * startRedis({
 *   port?,                 // default: a free port
 *   appendonly?,           // true: AOF with appendfsync always (data survives a restart)
 *   requirepass?,          // password of the default user
 *   users?: ['name on >pw ~fedauth:* +@all', ...],   // ACL `user` lines
 *   replicaOf?: port,      // replica of 127.0.0.1:<port>
 *   extra?: 'more redis.conf lines',
 *   tls?: { files: makeTlsFiles(...) result, server?: 'server' (which of
 *           its server certificates), authClients?: 'no'|'yes'|'optional',
 *           insecureCli?: the handle's redis-cli does not verify (for a
 *           server with a certificate made to be refused) },
 *                          // TLS only: port 0, tls-port <port>; the
 *                          // handle's cli uses redis-cli --tls with the
 *                          // client certificate
 *   startTimeoutMs?
 * }) -> handle:
 *   { port, dir, pid, auth, cli(args, {db}), keys(db, pattern), info(section),
 *     stop(), start({ wipe? }), pause(), resume(), running(), log(), cleanup() }
 * The handle's own commands authenticate as the default user with
 * requirepass (or `auth` given explicitly).
 */
export async function startRedis(opts = {}) {
  const dir = makeTmpDir('redis', 0o700);
  const port = opts.port || await freePort();
  const conf = path.join(dir, 'redis.conf');
  const lines = [
    `bind 127.0.0.1`,
    `port ${port}`,
    'daemonize no',
    `dir "${dir}"`,
    `logfile "${path.join(dir, 'redis.log')}"`,
    'save ""',
    `appendonly ${opts.appendonly ? 'yes' : 'no'}`,
    'appendfsync always',
    'databases 16',
    opts.requirepass ? `requirepass "${opts.requirepass}"` : '',
    ...(opts.users || []).map((u) => `user ${u}`),
    opts.replicaOf ? `replicaof 127.0.0.1 ${opts.replicaOf}` : '',
    opts.replicaOf ? 'repl-diskless-sync no' : '',
    ...tlsConfLines(opts.tls, port),
    opts.extra || '',
  ].filter(Boolean);
  if (opts.tls) lines.splice(1, 1, 'port 0');
  fs.writeFileSync(conf, `${lines.join('\n')}\n`);
  const h = {
    port,
    dir,
    confFile: conf,
    child: null,
    pid: null,
    auth: opts.auth || (opts.requirepass ? { password: opts.requirepass } : undefined),
  };
  const logFile = path.join(dir, 'redis.log');
  h.log = () => { try { return fs.readFileSync(logFile, 'utf8'); } catch { return ''; } };
  h.running = () => isRunning(h.child);
  h.tls = opts.tls ? { ...tlsCliOpts(opts.tls.files), insecure: !!opts.tls.insecureCli } : undefined;
  h.cli = (args, o = {}) => redisCli(port, args, { auth: h.auth, tls: h.tls, ...o });
  /** Key names in db matching pattern (SCAN, so also on big dbs). */
  h.keys = async (db = 0, pattern = '*') => {
    const out = await h.cli(['--scan', '--pattern', pattern], { db });
    return out ? out.split('\n').filter(Boolean) : [];
  };
  /** INFO <section> as { field: value }. */
  h.info = async (section = 'all') => {
    const out = await h.cli(['INFO', section]);
    const o = {};
    for (const l of out.split(/\r?\n/)) {
      const i = l.indexOf(':');
      if (i > 0 && !l.startsWith('#')) o[l.slice(0, i)] = l.slice(i + 1).trim();
    }
    return o;
  };
  /** (Re)start on the same port with the same config and data dir; wipe: delete the data first. */
  h.start = async ({ wipe = false, startTimeoutMs = opts.startTimeoutMs || 10000 } = {}) => {
    if (h.running()) throw new Error(`redis on ${port} is running`);
    if (wipe) {
      for (const f of fs.readdirSync(dir)) {
        if (f !== 'redis.conf' && f !== 'redis.log') fs.rmSync(path.join(dir, f), { recursive: true, force: true });
      }
    }
    const child = spawnTracked(REDIS_SERVER, [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { stderr += d; });
    h.child = child;
    h.pid = child.pid;
    const up = await waitForPort(port, startTimeoutMs, () => isRunning(child));
    const pong = up && await waitUntil(async () => (await h.cli(['PING'], { timeoutMs: 2000 })) === 'PONG', { timeoutMs: startTimeoutMs });
    if (!pong) {
      await stopChild(child, 3000);
      throw new Error(`redis-server did not start on 127.0.0.1:${port}\n--- stderr:\n${stderr}\n--- redis.log:\n${h.log()}`);
    }
    return h;
  };
  /** SIGTERM (a clean shutdown: the AOF is flushed), bounded; SIGCONT first if paused. */
  h.stop = async () => {
    if (!h.child) return undefined;
    if (h.paused) h.resume();
    return stopChild(h.child, 5000);
  };
  /** SIGSTOP: the port still accepts connections (kernel backlog), nothing answers. */
  h.pause = () => {
    if (h.running()) { process.kill(h.pid, 'SIGSTOP'); h.paused = true; }
  };
  h.resume = () => {
    if (h.paused) { try { process.kill(h.pid, 'SIGCONT'); } catch { /* gone */ } h.paused = false; }
  };
  h.cleanup = () => removeDir(dir);
  try {
    await h.start();
  } catch (e) {
    h.cleanup();
    throw e;
  }
  return h;
}

/**
 * startSentinel({ masterPort, masterName = 'mymaster', quorum = 1,
 *   downAfterMs = 1000, failoverTimeoutMs = 5000, port?,
 *   tls?: as startRedis's (TLS only; it talks TLS to the servers too) }) -> handle:
 *   { port, dir, pid, cli(args), masterAddr() -> { host, port } | null,
 *     replicas() -> [{ ip, port, flags }], stop(), log(), cleanup() }
 * Sentinel rewrites its config file, so it lives in the handle's temp dir.
 */
export async function startSentinel(opts) {
  const dir = makeTmpDir('sentinel', 0o700);
  const port = opts.port || await freePort();
  const name = opts.masterName || 'mymaster';
  const conf = path.join(dir, 'sentinel.conf');
  fs.writeFileSync(conf, [
    'bind 127.0.0.1',
    opts.tls ? 'port 0' : `port ${port}`,
    ...tlsConfLines(opts.tls, port),
    'daemonize no',
    `dir "${dir}"`,
    `logfile "${path.join(dir, 'sentinel.log')}"`,
    `sentinel monitor ${name} 127.0.0.1 ${opts.masterPort} ${opts.quorum || 1}`,
    `sentinel down-after-milliseconds ${name} ${opts.downAfterMs || 1000}`,
    `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs || 5000}`,
    `sentinel parallel-syncs ${name} 1`,
    '',
  ].join('\n'));
  const child = spawnTracked(REDIS_SERVER, [conf, '--sentinel'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr += d; });
  const logFile = path.join(dir, 'sentinel.log');
  const h = {
    port, dir, child, pid: child.pid, masterName: name,
    log: () => { try { return fs.readFileSync(logFile, 'utf8'); } catch { return ''; } },
    running: () => isRunning(child),
    tls: opts.tls ? tlsCliOpts(opts.tls.files) : undefined,
    cli: (args, o = {}) => redisCli(port, args, { tls: opts.tls ? tlsCliOpts(opts.tls.files) : undefined, ...o }),
    cleanup: () => removeDir(dir),
    stop: () => stopChild(child, 5000),
  };
  h.masterAddr = async () => {
    const out = await h.cli(['SENTINEL', 'get-master-addr-by-name', name]);
    const [host, p] = out.split('\n');
    return p ? { host, port: Number(p) } : null;
  };
  h.replicas = async () => {
    // --raw prints a flat list: key, value, key, value ... per replica,
    // replicas one after the other; every record starts with "name".
    const out = await h.cli(['SENTINEL', 'replicas', name]);
    const items = out.split('\n');
    const recs = [];
    for (let i = 0; i + 1 < items.length; i += 2) {
      if (items[i] === 'name') recs.push({});
      if (recs.length) recs[recs.length - 1][items[i]] = items[i + 1];
    }
    return recs.map((r) => ({ ip: r.ip, port: Number(r.port), flags: r.flags || '' }));
  };
  const up = await waitForPort(port, 10000, () => isRunning(child));
  if (!up) {
    await stopChild(child, 3000);
    const msg = `redis sentinel did not start on 127.0.0.1:${port}\n--- stderr:\n${stderr}\n--- log:\n${h.log()}`;
    h.cleanup();
    throw new Error(msg);
  }
  return h;
}

/**
 * A master, `replicas` replicas (default 1) and `sentinels` Sentinels
 * (default 1; quorum = majority), all on loopback; resolves once every
 * replica is in sync and every Sentinel knows the master and all replicas
 * (bounded by readyTimeoutMs). { master, replicas: [...], sentinels: [...],
 *   sentinelHosts: '127.0.0.1:p1,127.0.0.1:p2', masterName, stop(), cleanup(),
 *   currentMaster() -> port per the first Sentinel that answers }
 */
export async function startSentinelGroup({
  replicas = 1, sentinels = 1, masterName = 'mymaster', downAfterMs = 1000,
  failoverTimeoutMs = 5000, readyTimeoutMs = 20000,
} = {}) {
  const g = { master: null, replicas: [], sentinels: [], masterName };
  g.all = () => [...g.sentinels, g.master, ...g.replicas].filter(Boolean);
  g.stop = async () => {
    // Sentinels first, so that they do not react to the servers going away.
    for (const s of g.sentinels) await s.stop();
    for (const r of [...g.replicas, g.master].filter(Boolean)) await r.stop();
  };
  g.cleanup = () => g.all().forEach((x) => x.cleanup());
  try {
    g.master = await startRedis({});
    for (let i = 0; i < replicas; i++) g.replicas.push(await startRedis({ replicaOf: g.master.port }));
    const quorum = Math.floor(sentinels / 2) + 1;
    for (let i = 0; i < sentinels; i++) {
      g.sentinels.push(await startSentinel({
        masterPort: g.master.port, masterName, quorum, downAfterMs, failoverTimeoutMs,
      }));
    }
    g.sentinelHosts = g.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
    const synced = await waitUntil(async () => {
      for (const r of g.replicas) {
        const info = await r.info('replication');
        if (info.master_link_status !== 'up') return false;
      }
      for (const s of g.sentinels) {
        const m = await s.masterAddr();
        if (!m || m.port !== g.master.port) return false;
        const known = await s.replicas();
        for (const r of g.replicas) {
          const k = known.find((x) => x.port === r.port);
          if (!k || /s_down|o_down|disconnected/.test(k.flags)) return false;
        }
      }
      return true;
    }, { timeoutMs: readyTimeoutMs, intervalMs: 200 });
    if (!synced) {
      throw new Error(`sentinel group not ready within ${readyTimeoutMs} ms\n${g.sentinels.map((s) => `--- sentinel ${s.port}:\n${s.log().slice(-3000)}`).join('\n')}`);
    }
  } catch (e) {
    await g.stop();
    g.cleanup();
    throw e;
  }
  g.currentMaster = async () => {
    for (const s of g.sentinels) {
      try {
        const m = await s.masterAddr();
        if (m) return m.port;
      } catch { /* next */ }
    }
    return null;
  };
  g.byPort = (p) => [g.master, ...g.replicas].find((x) => x.port === p);
  return g;
}

/** redis.conf lines for a TLS-only server (see startRedis's tls option). */
function tlsConfLines(tls, port) {
  if (!tls) return [];
  const f = tls.files;
  const srv = f.servers[tls.server || 'server'];
  if (!srv) throw new Error(`makeTlsFiles made no server certificate ${tls.server}`);
  return [
    `tls-port ${port}`,
    `tls-cert-file "${srv.cert}"`,
    `tls-key-file "${srv.key}"`,
    `tls-ca-cert-file "${f.ca}"`,
    `tls-auth-clients ${tls.authClients || 'no'}`,
    'tls-replication yes',
  ];
}

/** redis-cli options (for redisCli's tls) from makeTlsFiles's result. */
export function tlsCliOpts(files) {
  return { ca: files.ca, cert: files.client.cert, key: files.client.key };
}

function openssl(args, cwd) {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
}

/**
 * makeTlsFiles({ servers?: { name: { sans: ['IP:127.0.0.1', 'DNS:localhost'],
 *   days?: 2, expired?: false } } }) -> {
 *   dir, ca, caKey, otherCa, servers: { name: { cert, key } },
 *   client: { cert, key }, cleanup() }
 * A throwaway CA (and a second, unrelated one: otherCa), server
 * certificates signed by it (default: one named "server" for 127.0.0.1 and
 * localhost) and a client certificate, made with the openssl command in a
 * temp dir (mode 0700) that cleanup() removes. expired: a certificate that
 * was valid yesterday only.
 */
export function makeTlsFiles({ servers = { server: { sans: ['IP:127.0.0.1', 'DNS:localhost'] } } } = {}) {
  const dir = makeTmpDir('redis-tls', 0o700);
  const p = (f) => path.join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const mkCa = (name, cn) => openssl(['req', '-x509', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.pem`),
    '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  mkCa('ca', 'fedauth test CA');
  mkCa('other-ca', 'unrelated test CA');
  const sign = (name, cn, ext, { expired = false, days = 2 } = {}) => {
    openssl(['req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`], dir);
    fs.writeFileSync(p(`${name}.ext`), `${ext}\n`);
    const args = ['x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'),
      '-CAcreateserial', '-out', p(`${name}.pem`), '-extfile', p(`${name}.ext`)];
    if (expired) {
      // valid from two days ago until yesterday (openssl 3.0's x509 has no
      // -not_before, so the ca command with explicit dates)
      fs.writeFileSync(p('index.txt'), '');
      fs.writeFileSync(p('ca.cnf'), [
        '[ca]', 'default_ca = tca', '[tca]', `dir = ${dir}`, 'database = $dir/index.txt',
        'new_certs_dir = $dir', 'serial = $dir/ca.srl', 'default_md = sha256', 'policy = any',
        'unique_subject = no', 'copy_extensions = none', '[any]', 'commonName = supplied', '',
      ].join('\n'));
      if (!fs.existsSync(p('ca.srl'))) fs.writeFileSync(p('ca.srl'), '1000\n');
      const fmt = (d) => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
      const now = Date.now();
      openssl(['ca', '-batch', '-config', p('ca.cnf'), '-cert', p('ca.pem'), '-keyfile', p('ca.key'),
        '-in', p(`${name}.csr`), '-out', p(`${name}.pem`), '-extfile', p(`${name}.ext`), '-notext',
        '-startdate', fmt(new Date(now - 2 * 86400000)), '-enddate', fmt(new Date(now - 86400000))], dir);
    } else {
      openssl([...args, '-days', String(days)], dir);
    }
    return { cert: p(`${name}.pem`), key: p(`${name}.key`) };
  };
  const out = { dir, ca: p('ca.pem'), caKey: p('ca.key'), otherCa: p('other-ca.pem'), servers: {} };
  for (const [name, o] of Object.entries(servers)) {
    out.servers[name] = sign(`srv-${name}`, o.cn || name,
      `subjectAltName=${o.sans.join(',')}\nextendedKeyUsage=serverAuth,clientAuth`, o);
  }
  out.client = sign('client', 'fedauth-client', 'extendedKeyUsage=clientAuth');
  out.cleanup = () => removeDir(dir);
  return out;
}

/**
 * startCluster({ masters = 3, replicasPerMaster = 1, nodeTimeoutMs = 1500,
 *   readyTimeoutMs = 60000, tls?: { files } (TLS-only nodes) }) -> {
 *   nodes: [startRedis handles, each with .busPort], seedPort (the first node),
 *   byPort(port), clusterInfo(port) -> { cluster_state, ... },
 *   masters() -> [{ port, slots: [[lo, hi], ...], replicas: [port, ...] }]
 *     (per CLUSTER SHARDS... via CLUSTER SLOTS of the first live node),
 *   keysOnMasters(pattern) -> Map key -> port (every live master's keys),
 *   keyslot(key) -> CLUSTER KEYSLOT, waitOk(timeoutMs) (every running node
 *   says cluster_state:ok and agrees on the masters), stop(), cleanup() }
 * A Redis Cluster on loopback: every node on a free port with a free
 * cluster bus port (cluster-port), joined by redis-cli --cluster create
 * (replicas assigned by it); resolves once every node reports
 * cluster_state:ok and every replica's link to its master is up.
 */
export async function startCluster({
  masters = 3, replicasPerMaster = 1, nodeTimeoutMs = 1500, readyTimeoutMs = 60000, tls,
  fullCoverage = true,
} = {}) {
  // tls: { files: makeTlsFiles(...) result }: TLS-only nodes (tls-port,
  // tls-cluster and tls-replication yes); the handles' redis-cli use TLS
  const g = { nodes: [], tls: tls ? tlsCliOpts(tls.files) : undefined };
  const cli = (port, args) => redisCli(port, args, { tls: g.tls });
  const used = new Set();
  const pick = async () => {
    for (let i = 0; i < 50; i++) {
      const p = await freePort();
      if (!used.has(p)) { used.add(p); return p; }
    }
    throw new Error('no free port');
  };
  g.stop = async () => { for (const n of g.nodes) await n.stop(); };
  g.cleanup = () => g.nodes.forEach((n) => n.cleanup());
  g.byPort = (p) => g.nodes.find((n) => n.port === p);
  g.live = () => g.nodes.filter((n) => n.running());
  g.clusterInfo = async (port) => {
    const out = await cli(port, ['CLUSTER', 'INFO']);
    const o = {};
    for (const l of out.split(/\r?\n/)) {
      const i = l.indexOf(':');
      if (i > 0) o[l.slice(0, i)] = l.slice(i + 1).trim();
    }
    return o;
  };
  // CLUSTER SLOTS in --raw form is a flat list; CLUSTER NODES is a line per
  // node: "<id> <ip:port@bus> <flags> <master id|-> ... <slot ranges>".
  g.nodesTable = async (port) => {
    const out = await cli(port, ['CLUSTER', 'NODES']);
    return out.split('\n').filter(Boolean).map((l) => {
      const f = l.split(' ');
      return {
        id: f[0],
        port: Number(f[1].split('@')[0].split(':').pop()),
        flags: f[2].split(','),
        masterId: f[3],
        slots: f.slice(8).filter((s) => /^\d+(-\d+)?$/.test(s)).map((s) => s.split('-').map(Number)),
      };
    });
  };
  g.masters = async () => {
    for (const n of g.live()) {
      try {
        const t = await g.nodesTable(n.port);
        const ms = t.filter((x) => x.flags.includes('master') && !x.flags.includes('fail') && x.slots.length);
        return ms.map((m) => ({
          port: m.port,
          id: m.id,
          slots: m.slots.map((s) => (s.length === 1 ? [s[0], s[0]] : s)),
          replicas: t.filter((x) => x.masterId === m.id && !x.flags.includes('fail')).map((x) => x.port),
        }));
      } catch { /* next */ }
    }
    return [];
  };
  // every key matching pattern on every live master: Map key -> port
  g.keysOnMasters = async (pattern) => {
    const out = new Map();
    for (const m of await g.masters()) {
      for (const key of await g.byPort(m.port).keys(0, pattern)) out.set(key, m.port);
    }
    return out;
  };
  g.masterOfSlot = async (slot) => {
    const ms = await g.masters();
    return ms.find((m) => m.slots.some(([lo, hi]) => slot >= lo && slot <= hi));
  };
  g.keyslot = async (key) => Number(await cli(g.live()[0].port, ['CLUSTER', 'KEYSLOT', key]));
  g.waitOk = async (timeoutMs = 30000) => waitUntil(async () => {
    let masters;
    for (const n of g.live()) {
      const info = await g.clusterInfo(n.port);
      if (info.cluster_state !== 'ok') return false;
      const t = await g.nodesTable(n.port);
      const m = t.filter((x) => x.flags.includes('master') && !x.flags.includes('fail') && x.slots.length)
        .map((x) => x.port).sort().join(',');
      if (masters !== undefined && m !== masters) return false;
      masters = m;
    }
    return true;
  }, { timeoutMs, intervalMs: 200 });
  try {
    const total = masters * (1 + replicasPerMaster);
    for (let i = 0; i < total; i++) {
      const port = await pick();
      const busPort = await pick();
      const n = await startRedis({
        port,
        extra: [
          'cluster-enabled yes',
          'cluster-config-file nodes.conf',
          `cluster-node-timeout ${nodeTimeoutMs}`,
          `cluster-port ${busPort}`,
          'cluster-replica-validity-factor 0',
          `cluster-require-full-coverage ${fullCoverage ? 'yes' : 'no'}`,
          tls ? 'tls-cluster yes' : '',
        ].filter(Boolean).join('\n'),
        tls: tls ? { files: tls.files } : undefined,
      });
      n.busPort = busPort;
      g.nodes.push(n);
    }
    g.seedPort = g.nodes[0].port;
    await new Promise((resolve, reject) => {
      const tlsArgs = g.tls ? ['--tls', '--cacert', g.tls.ca, '--cert', g.tls.cert, '--key', g.tls.key] : [];
      execFile(REDIS_CLI, [...tlsArgs, '--cluster', 'create', ...g.nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
      { timeout: readyTimeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) reject(new Error(`redis-cli --cluster create: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const ok = await g.waitOk(readyTimeoutMs);
    const linked = ok && await waitUntil(async () => {
      const ms = await g.masters();
      if (ms.length !== masters) return false;
      for (const m of ms) {
        if (m.replicas.length !== replicasPerMaster) return false;
        for (const r of m.replicas) {
          if ((await g.byPort(r).info('replication')).master_link_status !== 'up') return false;
        }
      }
      return true;
    }, { timeoutMs: readyTimeoutMs, intervalMs: 200 });
    if (!linked) {
      throw new Error(`redis cluster not ready within ${readyTimeoutMs} ms\n${g.nodes.map((n) => `--- ${n.port}:\n${n.log().slice(-2000)}`).join('\n')}`);
    }
  } catch (e) {
    await g.stop();
    g.cleanup();
    throw e;
  }
  return g;
}
