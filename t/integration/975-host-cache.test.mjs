// SPDX-License-Identifier: Apache-2.0
// FedAuthSessionHostCache (issue 24): one copy of a session per host, in
// shared memory, read by every process of that httpd, next to each
// process's own copy (FedAuthSessionLocalCache). Two hosts, A and B, on
// one real redis-server, each with four worker processes and trace
// logging, so that the error log says which process answered from where
// (FA00316 its own copy, FA00318 the host's copy, FA00319 read from Redis
// and copied for the host). What a user and an admin must see:
//   - one GET serves every process: 40 requests on fresh connections, 8
//     at a time, all answered for alice with at most 4 GETs reaching
//     Redis, and at least two processes answering from the host's copy,
//     which holds the session's head (less than half of its record);
//   - a session ended elsewhere is refused by every process at once: a
//     logout on B, and the session's key deleted in Redis behind the
//     module's back (each: no 200 among 20 requests to A);
//   - copies made while the listeners were up stop counting when they go
//     down: CLIENT KILL TYPE pubsub and the key deleted at once (the
//     invalidation has no one to go to): 1.5 s later no 200;
//   - copies stop counting when Redis drops the data connections they
//     were read through (CLIENT KILL TYPE normal, as Redis's timeout does
//     to idle ones): Redis then says nothing of a change to what they
//     read, so each process's listener notices its dead idle connections
//     by itself (FA01720) and the key deleted after that is refused;
//   - a copy counts only while the process that made it still hears Redis:
//     that process stopped (SIGSTOP), then killed (SIGKILL), and the key
//     deleted, which no other process was told of: 1.5 s later no 200 from
//     the others (nor from the stopped one once it goes on), both when it
//     alone had read the session and when the others had answered from the
//     host's copy before (FA00318);
//   - the host's copy is a head: a request it answers after the idle
//     clock is due (no process has a copy of its own then) writes the
//     session back with its ID token (read whole from Redis first);
//   - the embedded shm store: the directive has no effect, a warning
//     FA00321 says so, and sessions work.
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  Browser, startSite, parseEnv, dump, sleep, signOut, SESSION_COOKIE, protectedLocation,
} from '../lib/index.mjs';
import { startRedis, redisAvailable, waitUntil } from '../lib/redis.mjs';
import { startHosts } from '../lib/cluster.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { logLines } from '../lib/tokens.mjs';
import { getFresh, many } from '../lib/fresh.mjs';

const PREFIX = 't975:';
// The harness starts 2 worker processes and allows 4 (ServerLimit 4): all
// 4 from the start, so that besides the one that reads Redis at least two
// others can find the host's copy.
const PROCS = 4;
const HOST_CACHE = 'FedAuthSessionHostCache 16M';
const SERVER_CONF = `LogLevel warn fedauth:trace1
${HOST_CACHE}
StartServers ${PROCS}
<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthMetrics On`;
// the metrics, for the host's copies' numbers (fedauth_host_cache_*)
const LOCATIONS = `${protectedLocation()}<Location /fedauth/metrics>
    Require ip 127.0.0.1
</Location>
`;
// a process's own copy lasts up to 60 s while its listener vouches for it
// (the harness sets FedAuthSessionLocalCache 0 otherwise, which opens no
// listener, and then no process could vouch for a host copy either)
const STORE_CONF = (port) => `FedAuthSessionStore redis://127.0.0.1:${port}
FedAuthRedisPrefix "${PREFIX}"
FedAuthRedisTimeout 1
FedAuthSessionLocalCache 60`;
// past the second a stopped process's heartbeat lasts
const PAST_HEARTBEAT_MS = 1500;

const FROM_OWN = 'FA00316';
const FROM_HOST = 'FA00318';
const FROM_STORE = 'FA00319';

const prot = (base) => `${base}/protected/env.cgi`;

/** The error log of host h (the file itself: offsets into it stay valid). */
const errorLogOf = (h) => {
  try { return fs.readFileSync(path.join(h.dir, 'error.log'), 'utf8'); } catch { return ''; }
};
const mark = (h) => errorLogOf(h).length;
const since = (h, from) => errorLogOf(h).slice(from);
/** Distinct pids of the lines holding tag. */
const pidsOf = (text, tag) => [...new Set(logLines(text, `${tag}:`).map((l) => l.pid))];
/** pid -> requests served, from the access log lines after `from`. */
function servedBy(h, from) {
  const counts = {};
  for (const m of h.accessLog().slice(from).matchAll(/ pid=(\d+)/g)) counts[m[1]] = (counts[m[1]] || 0) + 1;
  return JSON.stringify(counts);
}

async function getCalls(redis) {
  const info = await redis.info('commandstats');
  const m = /calls=(\d+)/.exec(info.cmdstat_get || '');
  return m ? Number(m[1]) : 0;
}

async function pubsubClients(redis) {
  const out = await redis.cli(['CLIENT', 'LIST', 'TYPE', 'pubsub']);
  return out.split('\n').filter((l) => / sub=[1-9]/.test(l)).length;
}

describe('FedAuthSessionHostCache: one copy per host, vouched for by the process that made it', {
  skip: !redisAvailable() && 'redis-server/redis-cli not installed',
}, () => {
  let redis;
  let c;
  let A;
  let B;
  let hostA;
  const killed = [];

  before(async () => {
    redis = await startRedis();
    c = await startHosts({
      hosts: 2,
      storeConf: STORE_CONF(redis.port),
      serverConf: SERVER_CONF,
      locationsConf: LOCATIONS,
    });
    [A, B] = c.bases;
    [hostA] = c.hosts;
    // every process's listener is up before the first request
    const up = await waitUntil(async () => (await pubsubClients(redis)) >= 2 * PROCS, { timeoutMs: 10000, intervalMs: 100 });
    assert.ok(up, `listeners on Redis: ${await pubsubClients(redis)}, want ${2 * PROCS}`);
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  /**
   * alice signs in on base: { b, cookie, key } (the one new session key in
   * Redis). visit false: the browser stops at the callback's redirect to
   * the page, so no process has read the session yet.
   */
  async function signIn(base, { visit = true } = {}) {
    const known = new Set(await redis.keys(0, `${PREFIX}s:*`));
    const b = new Browser();
    const r = await b.login(prot(base), 'alice', 'alice-pass-1', visit ? {} : { stopAt: (u) => u === prot(base) });
    if (visit) {
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    } else {
      assert.ok(r.stoppedAt, dump(r));
    }
    const cookie = b.jar.get(SESSION_COOKIE)?.value;
    assert.ok(cookie, 'session cookie set');
    const fresh = (await redis.keys(0, `${PREFIX}s:*`)).filter((k) => !known.has(k));
    assert.equal(fresh.length, 1, `one new session key: ${fresh.join(' ')}`);
    return { b, cookie, key: fresh[0] };
  }

  /** n requests to A on fresh connections, 8 at a time: every one 200 for alice. */
  async function warm(cookie, n = 24) {
    const rs = await many(prot(A), cookie, n, 8);
    for (const r of rs) {
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'alice', r.body);
    }
  }

  /**
   * 20 (or n) requests to A on fresh connections, 4 at a time: every one a
   * 302 to sign in. When some are 200, the message names the processes
   * that answered them and where each process found the session.
   */
  async function allRefused(cookie, what, n = 20) {
    const from = mark(hostA);
    const fromAccess = hostA.accessLog().length;
    const rs = await many(prot(A), cookie, n, 4);
    const served = rs.filter((r) => r.status === 200).length;
    if (served) {
      const access = (await hostA.accessLogWhen((l) => (l.slice(fromAccess).match(/ pid=/g) || []).length >= n)).slice(fromAccess);
      const by = {};
      for (const m of access.matchAll(/" (\d{3}) \S+ pid=(\d+)/g)) by[m[2]] = `${by[m[2]] ? `${by[m[2]]},` : ''}${m[1]}`;
      const log = since(hostA, from);
      assert.fail(`${what}: the old cookie served ${served} of ${n} times; statuses by pid ${JSON.stringify(by)}; `
        + `in these requests own copy (FA00316) from ${pidsOf(log, FROM_OWN).join(' ') || '-'}, `
        + `host copy (FA00318) from ${pidsOf(log, FROM_HOST).join(' ') || '-'}, Redis (FA00319) from ${pidsOf(log, FROM_STORE).join(' ') || '-'}`);
    }
    for (const r of rs) {
      assert.equal(r.status, 302, `${what}: ${dump(r)}`);
      assert.ok(r.location.startsWith(c.idp.issuer), `${what}: to sign in: ${r.location}`);
    }
  }

  it('one Redis GET serves every process: 40 requests on fresh connections, 8 at a time, all 200 as alice; at most 4 GETs; the host copy read by at least 2 processes, and smaller than half the record (its head)', async (t) => {
    const s = await signIn(A);
    const from = mark(hostA);
    const fromAccess = hostA.accessLog().length;
    const before = await getCalls(redis);
    const rs = await many(prot(A), s.cookie, 40, 8);
    for (const r of rs) {
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'alice', r.body);
    }
    const gets = (await getCalls(redis)) - before;
    const log = since(hostA, from);
    const hostPids = pidsOf(log, FROM_HOST);
    const who = `requests by pid ${servedBy(hostA, fromAccess)}; host copy (FA00318) from ${hostPids.join(' ') || '-'}; `
      + `Redis (FA00319) from ${pidsOf(log, FROM_STORE).join(' ') || '-'}; own copy (FA00316) from ${pidsOf(log, FROM_OWN).join(' ') || '-'}`;
    t.diagnostic(`${gets} GETs for 40 requests; ${who}`);
    assert.ok(gets <= 4, `${gets} GETs reached Redis for 40 requests (${who})`);
    assert.ok(hostPids.length >= 2, `processes that answered from the host's copy: ${hostPids.length} (${who})`);
    // the metrics show the host's copies (16 MiB, less its tables, this
    // session among them)
    const m = await getFresh(`${A}/fedauth/metrics`, s.cookie);
    assert.equal(m.status, 200, dump(m));
    const val = (name) => Number((new RegExp(`^${name} (\\S+)$`, 'm').exec(m.body) || [])[1]);
    assert.ok(val('fedauth_host_cache_entries') >= 1, m.body);
    assert.ok(val('fedauth_host_cache_used_bytes') > 0, m.body);
    assert.ok(val('fedauth_host_cache_size_bytes') > 12 * 1048576
      && val('fedauth_host_cache_size_bytes') <= 16 * 1048576, m.body);
    assert.equal(val('fedauth_host_cache_evictions_total'), 0, m.body);
    // the host keeps each session's head, not its ID token: a copy takes
    // less than half of what the record takes in Redis (its ID token alone
    // is most of it)
    const rec = Number(await redis.cli(['STRLEN', s.key]));
    const per = val('fedauth_host_cache_used_bytes') / val('fedauth_host_cache_entries');
    assert.ok(rec > 900, `the record in Redis: ${rec} bytes`);
    assert.ok(per < rec / 2, `bytes per host copy ${per}, the record in Redis ${rec}\n${m.body}`);
  });

  it('a logout on host B ends the session on host A at once: 20 requests to A, 150 ms later, all 302', async () => {
    const s = await signIn(A);
    await warm(s.cookie);
    const out = await signOut(s.b, `${B}/fedauth/logout`);
    assert.ok([200, 302, 303].includes(out.status), dump(out));
    assert.equal(await redis.cli(['EXISTS', s.key]), '0', 'the logout on B deleted the session key');
    await sleep(150);
    await allRefused(s.cookie, 'after the logout on B');
  });

  it('the session key deleted in Redis behind the module\'s back: 20 requests to A, 150 ms later, all 302', async () => {
    const s = await signIn(A);
    await warm(s.cookie);
    assert.equal(await redis.cli(['DEL', s.key]), '1');
    await sleep(150);
    await allRefused(s.cookie, 'after the DEL');
  });

  it('without their listeners copies stop counting: CLIENT KILL TYPE pubsub, the key deleted at once; 1.5 s later 20 requests all 302; the listeners come back', async () => {
    const s = await signIn(A);
    await warm(s.cookie);
    const listeners = await pubsubClients(redis);
    assert.ok(listeners >= 2 * PROCS, `listeners on Redis: ${listeners}`);
    const dropped = Number(await redis.cli(['CLIENT', 'KILL', 'TYPE', 'pubsub']));
    // the invalidation of this DEL has no listener to go to
    assert.equal(await redis.cli(['DEL', s.key]), '1');
    assert.ok(dropped >= 2 * PROCS, `listeners dropped: ${dropped}`);
    await sleep(PAST_HEARTBEAT_MS);
    await allRefused(s.cookie, 'after the listeners were dropped and the key deleted');
    assert.ok(await waitUntil(async () => (await pubsubClients(redis)) >= listeners, { timeoutMs: 5000, intervalMs: 100 }),
      `the listeners came back: ${await pubsubClients(redis)} of ${listeners}`);
  });

  it('copies stop counting when Redis drops the connections they were read through: CLIENT KILL TYPE normal (as its timeout does to idle connections), the key deleted after it, which Redis then tells no listener of; 20 requests all 302; FA01720 from every process that had read Redis; a new sign-in works', async () => {
    const from = mark(hostA);
    const s = await signIn(A);
    await warm(s.cookie);
    const readers = pidsOf(since(hostA, from), FROM_STORE);
    assert.ok(readers.length >= 1, `a process read the session from Redis (FA00319)\n${since(hostA, from).slice(-2000)}`);
    const dropped = Number(await redis.cli(['CLIENT', 'KILL', 'TYPE', 'normal']));
    assert.ok(dropped >= readers.length, `data connections dropped: ${dropped}`);
    // no request meanwhile: each process's listener finds its dead idle
    // connections by itself (every 200 ms), not a request that takes one
    const closedRe = /\[fedauth:info\] .* FA01720: redis connection closed by the server while idle: what it read is vouched for no more, the copies of sessions made so far are dropped$/;
    const noticed = () => [...new Set(since(hostA, from).split('\n').filter((l) => closedRe.test(l))
      .map((l) => /\[pid (\d+)/.exec(l)?.[1]).filter(Boolean))];
    const all = await waitUntil(() => readers.every((p) => noticed().includes(p)), { timeoutMs: 5000, intervalMs: 50 });
    assert.ok(all, `FA01720 from ${noticed().join(' ') || 'no process'}, want every reader: ${readers.join(' ')}\n${since(hostA, from).slice(-3000)}`);
    assert.equal(await redis.cli(['DEL', s.key]), '1');
    await sleep(150);
    await allRefused(s.cookie, 'after the data connections were dropped and the key deleted');
    const again = await signIn(A);
    await warm(again.cookie, 8);
  });

  /**
   * alice signs in (the browser stops before the page), then ONE request on
   * a fresh connection: the process that logged FA00319 read the session
   * from Redis and made the host's copy, which it vouches for; no other
   * process holds a copy. warmOthers: then 16 more requests, which the
   * other processes answer from the host's copy (FA00318), none reading
   * Redis. { s, pid }.
   */
  async function copyVouchedByOne(warmOthers) {
    const s = await signIn(A, { visit: false });
    const from = mark(hostA);
    const one = await getFresh(prot(A), s.cookie);
    assert.equal(one.status, 200, dump(one));
    assert.equal(parseEnv(one.body).REMOTE_USER, 'alice');
    const made = pidsOf(since(hostA, from), FROM_STORE);
    assert.equal(made.length, 1, `processes that read the session from Redis and copied it for the host (FA00319): ${made.join(' ') || 'none'}\n${since(hostA, from).slice(-3000)}`);
    const pid = Number(made[0]);
    assert.ok(pid > 0 && pid !== hostA.pid, `FA00319 from a worker process: ${pid} (httpd's parent ${hostA.pid})`);
    if (warmOthers) {
      const fromWarm = mark(hostA);
      await warm(s.cookie, 16);
      const log = since(hostA, fromWarm);
      assert.deepEqual(pidsOf(log, FROM_STORE), [], 'no other process read Redis: the host copy served them');
      assert.ok(pidsOf(log, FROM_HOST).some((p) => Number(p) !== pid),
        `another process answered from the host's copy (FA00318 from ${pidsOf(log, FROM_HOST).join(' ') || '-'})`);
    }
    return { s, pid };
  }

  /** The process that vouches for the host's copy stopped (SIGSTOP, then
   * SIGCONT) or killed, the key deleted: 1.5 s later no 200. */
  async function voucherGone(signal, warmOthers) {
    const { s, pid } = await copyVouchedByOne(warmOthers);
    if (signal === 'SIGKILL') {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
      assert.equal(await redis.cli(['DEL', s.key]), '1');
      await sleep(PAST_HEARTBEAT_MS);
      await allRefused(s.cookie, `process ${pid} killed, the key deleted`, 10);
      return;
    }
    let stopped = false;
    try {
      process.kill(pid, 'SIGSTOP');
      stopped = true;
      // its listener cannot hear this; no other process tracked the key
      assert.equal(await redis.cli(['DEL', s.key]), '1');
      await sleep(PAST_HEARTBEAT_MS);
      // the stopped process cannot accept: the others answer
      await allRefused(s.cookie, `process ${pid} stopped, the key deleted`, 10);
    } finally {
      if (stopped) process.kill(pid, 'SIGCONT');
    }
    await sleep(300);
    await allRefused(s.cookie, `process ${pid} going on again`, 10);
  }

  it('a stopped process\'s copy stops counting within about a second: the process that made the host copy SIGSTOPped, the key deleted; 1.5 s later 10 requests all 302 (and none once it goes on)', async () => {
    await voucherGone('SIGSTOP', false);
  });

  it('SIGSTOP again, after other processes answered from the host copy (FA00318): 1.5 s later 10 requests all 302 (and none once it goes on)', async () => {
    await voucherGone('SIGSTOP', true);
  });

  it('a killed process\'s copy stops counting within about a second: the process that made the host copy SIGKILLed, the key deleted; 1.5 s later 10 requests all 302', async () => {
    await voucherGone('SIGKILL', false);
  });

  it('SIGKILL again, after other processes answered from the host copy (FA00318): 1.5 s later 10 requests all 302', async () => {
    await voucherGone('SIGKILL', true);
  });

  it('the error logs have no crash lines (but the child killed on purpose)', async () => {
    await c.stop();
    const allowed = killed.map((pid) => new RegExp(`child pid ${pid} exit signal Killed`));
    assert.deepEqual(c.troubles(allowed), [], `trouble:\n${c.troubles(allowed).join('\n')}`);
  });
});

describe('FedAuthSessionHostCache holds heads: a session answered from it keeps its ID token when its idle clock is written back', {
  skip: !redisAvailable() && 'redis-server/redis-cli not installed',
}, () => {
  let redis;
  let c;
  let base;

  before(async () => {
    redis = await startRedis();
    // idle 20 s: the idle clock is written back after 2 s; the processes'
    // own copies last 0.5 s, so 2.6 s after the sign-in only the host's
    // copy (a head, without the ID token) can answer
    c = await startHosts({
      hosts: 1,
      storeConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}
FedAuthRedisPrefix "${PREFIX}"
FedAuthRedisTimeout 1
FedAuthSessionLocalCache 0.5
FedAuthSessionIdleTimeout 20`,
      serverConf: SERVER_CONF,
      locationsConf: LOCATIONS,
    });
    [base] = c.bases;
    const up = await waitUntil(async () => (await pubsubClients(redis)) >= PROCS, { timeoutMs: 10000, intervalMs: 100 });
    assert.ok(up, `listeners on Redis: ${await pubsubClients(redis)}, want ${PROCS}`);
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  it('after 2.6 s a request answered from the host\'s copy (FA00318) writes the idle clock back: the record in Redis changes and still holds the same ID token; the next requests are 200', async () => {
    const b = new Browser();
    const r = await b.login(prot(base), 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    const cookie = b.jar.get(SESSION_COOKIE)?.value;
    assert.ok(cookie, 'session cookie set');
    const [key] = await redis.keys(0, `${PREFIX}s:*`);
    assert.ok(key, 'the session key in Redis');
    const rec0 = await redis.cli(['GET', key]);
    const jwt = /eyJ[\w-]+\.[\w-]+\.[\w-]+/.exec(rec0)?.[0];
    assert.ok(jwt && jwt.length > 300, `the record holds an ID token: ${rec0.slice(0, 400)}`);
    // the host's copy is made, and read by other processes
    for (const x of await many(prot(base), cookie, 12, 4)) assert.equal(x.status, 200, dump(x));
    await sleep(2600);
    const host = c.hosts[0];
    const from = mark(host);
    const one = await getFresh(prot(base), cookie);
    assert.equal(one.status, 200, dump(one));
    assert.equal(parseEnv(one.body).REMOTE_USER, 'alice');
    const log = since(host, from);
    assert.ok(pidsOf(log, FROM_HOST).length === 1, `answered from the host's copy (FA00318):\n${log.slice(-3000)}`);
    assert.equal(pidsOf(log, FROM_OWN).length, 0, `no process had a copy of its own:\n${log.slice(-3000)}`);
    const rec1 = await redis.cli(['GET', key]);
    assert.notEqual(rec1, rec0, 'the idle clock was written back');
    assert.ok(rec1.includes(jwt), `the record written back still holds the ID token (${rec1.length} bytes, was ${rec0.length})`);
    for (const x of await many(prot(base), cookie, 8, 4)) {
      assert.equal(x.status, 200, dump(x));
      assert.equal(parseEnv(x.body).REMOTE_USER, 'alice');
    }
  });

  it('no crash lines in the error log', async () => {
    await c.stop();
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}`);
  });
});

describe('FedAuthSessionHostCache with the embedded shm store', () => {
  let site;

  before(async () => {
    site = await startSite({ serverConf: `LogLevel warn fedauth:trace1\n${HOST_CACHE}` });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('httpd starts, serves sessions, and warns (FA00321) that the directive has no effect there', async () => {
    const log = site.httpd.errorLog();
    const warn = log.split('\n').filter((l) => /FA00321\b/.test(l));
    assert.ok(warn.length >= 1, `no FA00321 line:\n${log.slice(-3000)}`);
    for (const l of warn) {
      assert.match(l, /\[fedauth:warn\]/, l);
      assert.match(l, /FedAuthSessionHostCache/, l);
    }
    const b = new Browser();
    const r = await b.login(prot(site.base), 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    const cookie = b.jar.get(SESSION_COOKIE)?.value;
    assert.ok(cookie, 'session cookie set');
    const rs = await many(prot(site.base), cookie, 12, 4);
    for (const x of rs) {
      assert.equal(x.status, 200, dump(x));
      assert.equal(parseEnv(x.body).REMOTE_USER, 'alice');
    }
    assert.doesNotMatch(site.httpd.errorLog(), /FA0031[89]\b/, 'no host copy with the shm store');
  });

  it('no crash lines in the error log', async () => {
    await site.stop();
    assert.deepEqual(site.troubles(), []);
  });
});
