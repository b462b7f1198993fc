// SPDX-License-Identifier: Apache-2.0
// FedAuthSessionHostCache 16M 8: host copies in use are renewed before
// they end (each child's thread, mod_fedauth_host_copies.c). A copy serves
// 6 to 8 s (by its key); one read since it was made is read again from
// Redis at 5 s of its life, off the request path, behind a stamp and on a
// connection whose reads Redis tracks; one nobody read is dropped then.
// Each process's own copy lasts 0.5 s (FedAuthSessionLocalCache 0.5: not
// 0, which turns the invalidation listener and so every copy off), and
// requests come 0.7 s apart on fresh connections (any of the 4 processes):
// all but the request that reads Redis find the host's copy (FA00318) and
// mark it read. What a user and an admin must see:
//   - a session in use is read from Redis on the request path once, not
//     once per copy: alice asked for every 0.7 s for 22 s (nearly three
//     lifetimes): every answer 200 as alice; at most 2 reads of her on the
//     request path (FA00319; without renewal at least 3); FA00324 says
//     copies were renewed; Redis's GETs grew by the request path's reads
//     and the renewals' GETs, nothing else;
//   - a renewed copy is still Redis's to revoke: once her copy was renewed
//     by a process that never read her on the request path, the processes
//     that did (the other connections Redis tracks her key for) killed and
//     her key deleted behind the module's back: within a second no 200
//     among 12 requests on fresh connections (an untracked renewal would
//     serve her until the copy ends);
//   - a copy nobody reads any more is renewed while its session was used
//     within two turns (10 s), then left to end: bob's one request, then
//     23 s without one: 1 or 2 GETs reach Redis (the renewals at 5 and 10
//     s; nothing else runs then), FA00324 says so, and at the end the host
//     holds no copy (fedauth_host_cache_entries 0, where an ended copy
//     nobody removed would still count); his next request reads Redis
//     (FA00319), 200;
//   - on a Redis Cluster of 3 masters: 6 users, their sessions on at least
//     2 masters, each asked for every 0.7 s for 16 s: all 200, at most 2
//     request-path reads per user, at least 6 renewals (one pipelined round
//     trip per master); one user's key deleted on its master: refused by
//     every process within a second, the others still 200.
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  Browser, parseEnv, dump, sleep, SESSION_COOKIE, protectedLocation, defaultUsers, testUser,
} from '../lib/index.mjs';
import {
  startRedis, startCluster, redisAvailable, waitUntil,
} from '../lib/redis.mjs';
import { startHosts } from '../lib/cluster.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { logLines } from '../lib/tokens.mjs';
import { getFresh, many } from '../lib/fresh.mjs';

const PREFIX = 't977:';
// all 4 processes the harness allows (ServerLimit 4) from the start
const PROCS = 4;
const COPY_S = 8;
const SERVER_CONF = `LogLevel warn fedauth:trace1
FedAuthSessionHostCache 16M ${COPY_S}
StartServers ${PROCS}
<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthMetrics On`;
const LOCATIONS = `${protectedLocation()}<Location /fedauth/metrics>
    Require ip 127.0.0.1
</Location>
`;
// a process's own copy lasts 0.5 s: past it at the next request
const STORE_CONF = (url) => `FedAuthSessionStore ${url}
FedAuthRedisPrefix "${PREFIX}"
FedAuthRedisTimeout 1
FedAuthSessionLocalCache 0.5`;
const EVERY_MS = 700;         // between a session's requests
const LOAD_MS = 22000;        // case 1: nearly three lifetimes of a copy
const CLUSTER_LOAD_MS = 16000;
// the renewals at its turns (5 and 10 s: made within two turns, 10 s), the
// turn that leaves it (15 s), its end (at most 10 + 8 s) and the turn that
// removes it (20 s), with slack for a turn a second late
const QUIET_MS = 23000;
const REFUSE_AFTER_MS = 250;  // a change reaches every process within this

const FROM_OWN = 'FA00316';
const FROM_HOST = 'FA00318';
const FROM_STORE = 'FA00319';
const RENEWED = 'FA00324';
const NOT_RENEWED = 'FA00325';

const prot = (base) => `${base}/protected/env.cgi`;

/** fn(i) every EVERY_MS (at once when behind) for ms; how many times. */
async function paced(ms, fn) {
  const t0 = Date.now();
  for (let i = 0; ; i++) {
    const at = t0 + i * EVERY_MS;
    if (at - t0 > ms) return i;
    const wait = at - Date.now();
    if (wait > 0) await sleep(wait);
    await fn(i);
  }
}

/** Host h's error log from byte offset `from` (mark: its size now). */
const logFile = (h) => path.join(h.dir, 'error.log');
const mark = (h) => { try { return fs.statSync(logFile(h)).size; } catch { return 0; } };
function since(h, from) {
  let fd;
  try { fd = fs.openSync(logFile(h), 'r'); } catch { return ''; }
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= from) return '';
    const buf = Buffer.alloc(size - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
const count = (text, tag) => logLines(text, `${tag}:`).length;
const pidsOf = (text, tag) => [...new Set(logLines(text, `${tag}:`).map((l) => l.pid))];

const RENEWED_RE = /FA00324: host copies in use renewed: (\d+) of (\d+) \((\d+) sessions ended, (\d+) not read\)/;
/** The FA00324 lines of text, summed: { lines, renewed, due, ended, unread, pids }. */
function renewals(text) {
  const out = {
    lines: 0, renewed: 0, due: 0, ended: 0, unread: 0, pids: [],
  };
  for (const { pid, line } of logLines(text, `${RENEWED}:`)) {
    const m = RENEWED_RE.exec(line);
    assert.ok(m, `an FA00324 line as documented: ${line}`);
    out.lines++;
    out.renewed += Number(m[1]);
    out.due += Number(m[2]);
    out.ended += Number(m[3]);
    out.unread += Number(m[4]);
    if (!out.pids.includes(pid)) out.pids.push(pid);
  }
  return out;
}
const renewalsText = (rn) => `${rn.lines} FA00324 lines: renewed ${rn.renewed} of ${rn.due} `
  + `(${rn.ended} ended, ${rn.unread} not read) by pids ${rn.pids.join(' ') || '-'}`;

async function getCalls(node) {
  const info = await node.info('commandstats');
  const m = /calls=(\d+)/.exec(info.cmdstat_get || '');
  return m ? Number(m[1]) : 0;
}

async function pubsubClients(node) {
  const out = await node.cli(['CLIENT', 'LIST', 'TYPE', 'pubsub']);
  return out.split('\n').filter((l) => / sub=[1-9]/.test(l)).length;
}

/** A gauge or counter of /fedauth/metrics. */
async function metric(base, name) {
  const m = await getFresh(`${base}/fedauth/metrics`);
  assert.equal(m.status, 200, dump(m));
  const v = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(m.body);
  assert.ok(v, `${name} in the metrics:\n${m.body.slice(0, 3000)}`);
  return Number(v[1]);
}

/**
 * u signs in on base and the browser stops at the callback's redirect to
 * the page (no process has read the session yet): { b, cookie, key, port }
 * (the one new session key; keysNow() -> Map key -> port).
 */
async function signIn(base, u, keysNow) {
  const known = await keysNow();
  const b = new Browser();
  const r = await b.login(prot(base), u.username, u.password, { stopAt: (x) => x === prot(base) });
  assert.ok(r.stoppedAt, dump(r));
  const cookie = b.jar.get(SESSION_COOKIE)?.value;
  assert.ok(cookie, `${u.username}: session cookie set`);
  const fresh = [...(await keysNow())].filter(([k]) => !known.has(k));
  assert.equal(fresh.length, 1, `${u.username}: one new session key: ${fresh.map(([k]) => k).join(' ')}`);
  return {
    b, user: u.username, cookie, key: fresh[0][0], port: fresh[0][1],
  };
}

/**
 * n (12) requests on fresh connections, 4 at a time: every one a 302 to
 * sign in at the IdP. What a 200 came from is in the message.
 */
async function allRefused(h, base, issuer, cookie, what, n = 12) {
  const from = mark(h);
  const rs = await many(prot(base), cookie, n, 4);
  const served = rs.filter((r) => r.status === 200).length;
  if (served) {
    const log = since(h, from);
    assert.fail(`${what}: the old cookie served ${served} of ${n} times; in these requests own copy (FA00316) from `
      + `${pidsOf(log, FROM_OWN).join(' ') || '-'}, host copy (FA00318) from ${pidsOf(log, FROM_HOST).join(' ') || '-'}, `
      + `Redis (FA00319) from ${pidsOf(log, FROM_STORE).join(' ') || '-'}`);
  }
  for (const r of rs) {
    assert.equal(r.status, 302, `${what}: ${dump(r)}`);
    assert.ok(r.location.startsWith(issuer), `${what}: to sign in: ${r.location}`);
  }
}

const user = (name) => defaultUsers().find((u) => u.username === name);

/** One host of PROCS processes on one real redis-server, started before
 * the describe's cases and stopped after them: env.redis, env.c,
 * env.base, env.host (set by then), env.keysNow(). */
function oneRedisHost() {
  const env = {};
  before(async () => {
    env.redis = await startRedis();
    env.c = await startHosts({
      hosts: 1,
      storeConf: STORE_CONF(`redis://127.0.0.1:${env.redis.port}`),
      serverConf: SERVER_CONF,
      locationsConf: LOCATIONS,
    });
    [env.base] = env.c.bases;
    [env.host] = env.c.hosts;
    const up = await waitUntil(async () => (await pubsubClients(env.redis)) >= PROCS, { timeoutMs: 10000, intervalMs: 100 });
    assert.ok(up, `listeners on Redis: ${await pubsubClients(env.redis)}, want ${PROCS}`);
  });
  after(async () => {
    await env.c?.stop();
    await env.redis?.stop();
    env.c?.cleanup();
    env.redis?.cleanup();
  });
  env.keysNow = async () => new Map((await env.redis.keys(0, `${PREFIX}s:*`)).map((k) => [k, env.redis.port]));
  return env;
}

describe('FedAuthSessionHostCache 16M 8 on one Redis: a copy in use is renewed before it ends, and Redis can still revoke it', {
  skip: !redisAvailable() && 'redis-server/redis-cli not installed',
}, () => {
  const env = oneRedisHost();
  let alice;                  // from case 1: { cookie, key, from }
  const killed = [];

  it(`alice asked for every ${EVERY_MS} ms for ${LOAD_MS / 1000} s on fresh connections: all 200 as alice, at most 2 reads of Redis on the request path (FA00319), copies renewed (FA00324), Redis's GETs those reads plus the renewals'`, async (t) => {
    const { redis, c, base, host, keysNow } = env;
    const s = await signIn(base, user('alice'), keysNow);
    const RENEWED_TOTAL = 'fedauth_host_cache_renewals_total{outcome="renewed"}';
    const renewed0 = await metric(base, RENEWED_TOTAL);
    const from = mark(host);
    const get0 = await getCalls(redis);
    const bad = [];
    const n = await paced(LOAD_MS, async () => {
      const r = await getFresh(prot(base), s.cookie);
      if (r.status !== 200 || parseEnv(r.body).REMOTE_USER !== 'alice') bad.push(r);
    });
    const gets = (await getCalls(redis)) - get0;
    const log = since(host, from);
    const reads = count(log, FROM_STORE);
    const rn = renewals(log);
    // counted before each FA00324 is logged; one batch more may come
    // between reading the log and the metrics (one every 5-6 s here)
    const counted = (await metric(base, RENEWED_TOTAL)) - renewed0;
    const seen = `${n} requests: from Redis on the request path (FA00319) ${reads} by ${pidsOf(log, FROM_STORE).join(' ') || '-'}, `
      + `host copy (FA00318) ${count(log, FROM_HOST)} by ${pidsOf(log, FROM_HOST).length} processes, own copy (FA00316) ${count(log, FROM_OWN)}; `
      + `${renewalsText(rn)}; FA00325 ${count(log, NOT_RENEWED)}; Redis GETs +${gets}`;
    t.diagnostic(seen);
    alice = { ...s, from };
    assert.equal(bad.length, 0, `${bad.length} of ${n} answers not 200 as alice (${seen}); the first: ${bad[0] && dump(bad[0])}`);
    assert.ok(reads >= 1 && reads <= 2, `reads of alice from Redis on the request path: ${reads}, want 1 or 2 (one per copy's life without renewal) (${seen})\n${log.slice(-3000)}`);
    assert.ok(rn.renewed >= 1, `no copy renewed (${seen})\n${log.slice(-3000)}`);
    assert.ok(counted >= rn.renewed && counted <= rn.renewed + 1,
      `${RENEWED_TOTAL} grew by ${counted}, the log says ${rn.renewed} renewed (${seen})`);
    assert.ok(count(log, FROM_HOST) >= n / 2, `the host's copy answered most requests (${seen})`);
    // every GET is a request-path read or a renewal's (one per copy due)
    assert.ok(gets >= reads + rn.renewed && gets <= reads + rn.due + 1,
      `Redis GETs +${gets}: want the ${reads} request-path reads plus the renewals' (${rn.renewed} to ${rn.due}) (${seen})`);
  });

  it('her copy renewed by a process that never read her on the request path, those that did killed, her key deleted in Redis: within a second no 200 among 12 requests on fresh connections', async (t) => {
    const { redis, c, base, host, keysNow } = env;
    assert.ok(alice, 'alice signed in and asked for (the test before)');
    // Where the copy that serves now comes from: the last FA00319 or
    // FA00324 (renewed >= 1: only alice has a session here) before, and an
    // FA00318 after it. The processes that read her from Redis on the
    // request path track her key too; once they are gone only the
    // renewals' reads can tell of the change.
    const state = () => {
      const readers = new Set();
      let cur = null;
      for (const line of since(host, alice.from).split('\n')) {
        const pid = /\[pid (\d+)/.exec(line)?.[1];
        if (line.includes(`${FROM_STORE}:`)) {
          readers.add(pid);
          cur = { kind: 'read', pid, served: 0 };
        }
        else if (line.includes(`${RENEWED}:`) && Number(RENEWED_RE.exec(line)?.[1]) >= 1) {
          cur = { kind: 'renewal', pid, served: 0 };
        }
        else if (line.includes(`${FROM_HOST}:`) && cur) {
          cur.served++;
        }
      }
      return { readers: [...readers], cur };
    };
    const dead = new Set();
    let st = state();
    const alive = () => st.readers.filter((p) => !dead.has(p));
    const ready = () => st.cur?.kind === 'renewal' && st.cur.served >= 1 && !dead.has(st.cur.pid)
      && !alive().includes(st.cur.pid);
    const t0 = Date.now();
    // renewals come every 5-6 s; which process's thread takes one is
    // chance (and tends to stay the same process for a while): when the
    // process that read her also renewed her copy, it is killed, and its
    // copy with it (a copy counts only while its process beats), so that
    // another reads her and the next renewal is likely another's
    while (!ready() && Date.now() - t0 < 4 * COPY_S * 1000) {
      if (st.cur?.kind === 'renewal' && st.cur.served >= 1 && !dead.has(st.cur.pid)) {
        process.kill(Number(st.cur.pid), 'SIGKILL');
        killed.push(st.cur.pid);
        dead.add(st.cur.pid);
      }
      await sleep(EVERY_MS);
      const r = await getFresh(prot(base), alice.cookie);
      assert.equal(r.status, 200, dump(r));
      st = state();
    }
    t.diagnostic(`after ${Date.now() - t0} ms: copy from ${st.cur?.kind} by ${st.cur?.pid} (served ${st.cur?.served} times from the host's copy since); `
      + `request-path readers ${st.readers.join(' ')}; killed on the way: ${killed.join(' ') || '-'}`);
    assert.ok(ready(), `a copy renewed by a process that never read alice from Redis on the request path, and served since: `
      + `now ${JSON.stringify(st)}, killed ${killed.join(' ') || '-'}\n${since(host, alice.from).slice(-3000)}`);
    for (const pid of alive()) {
      process.kill(Number(pid), 'SIGKILL');
      killed.push(pid);
    }
    await sleep(100);
    assert.equal(await redis.cli(['DEL', alice.key]), '1');
    const del = Date.now();
    await sleep(REFUSE_AFTER_MS);
    await allRefused(host, base, c.idp.issuer, alice.cookie, `after the DEL (renewed by ${st.cur.pid}, killed ${killed.join(' ')})`);
    t.diagnostic(`12 requests all refused, answered by ${Date.now() - del} ms after the DEL`);
  });

  it('the error log has no crash lines (but the children killed on purpose)', async () => {
    const { redis, c, base, host, keysNow } = env;
    await c.stop();
    const allowed = killed.map((pid) => new RegExp(`child pid ${pid} exit signal Killed`));
    assert.deepEqual(c.troubles(allowed), [], `trouble:\n${c.troubles(allowed).join('\n')}`);
  });
});

describe('FedAuthSessionHostCache 16M 8 on one Redis: a copy nobody reads any more is renewed for two turns, then ends', {
  skip: !redisAvailable() && 'redis-server/redis-cli not installed',
}, () => {
  const env = oneRedisHost();

  it(`bob's one request makes the host's copy; ${QUIET_MS / 1000} s without a request: renewed once or twice, then no copy left; his next request reads Redis (FA00319), 200`, async (t) => {
    const { redis, c, base, host, keysNow } = env;
    const s = await signIn(base, user('bob'), keysNow);
    const from = mark(host);
    const one = await getFresh(prot(base), s.cookie);
    assert.equal(one.status, 200, dump(one));
    assert.equal(parseEnv(one.body).REMOTE_USER, 'bob@example.org', one.body);
    assert.equal(count(since(host, from), FROM_STORE), 1, `bob read from Redis and copied for the host (FA00319):\n${since(host, from).slice(-3000)}`);
    assert.equal(await metric(base, 'fedauth_host_cache_entries'), 1, 'the host holds his copy');
    const get0 = await getCalls(redis);
    const quiet = mark(host);
    await sleep(QUIET_MS);
    const gets = (await getCalls(redis)) - get0;
    const entries = await metric(base, 'fedauth_host_cache_entries');
    const quietLog = since(host, quiet);
    const rn = renewals(quietLog);
    t.diagnostic(`${QUIET_MS / 1000} s without a request: Redis GETs +${gets}; ${renewalsText(rn)}; host copies left ${entries}`);
    assert.ok(rn.renewed >= 1 && rn.renewed <= 2, `renewed while his session was used within two turns, then no more: ${renewalsText(rn)}`);
    assert.equal(gets, rn.renewed, `the GETs that reached Redis while nobody asked for bob are the renewals': ${gets} (${renewalsText(rn)})`);
    assert.equal(entries, 0, 'the copy nobody used any more ended and was removed at its next turn (an ended copy nobody removed would still count)');
    const next = mark(host);
    const again = await getFresh(prot(base), s.cookie);
    assert.equal(again.status, 200, dump(again));
    assert.equal(parseEnv(again.body).REMOTE_USER, 'bob@example.org', again.body);
    assert.equal(count(since(host, next), FROM_STORE), 1, `his next request read Redis (FA00319):\n${since(host, next).slice(-3000)}`);
    assert.equal((await getCalls(redis)) - get0, gets + 1, 'one GET more: that read');
  });

  it('the error log has no crash lines', async () => {
    const { redis, c, base, host, keysNow } = env;
    await c.stop();
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}`);
  });
});

describe('FedAuthSessionHostCache 16M 8 on a Redis Cluster of 3 masters: copies in use renewed per master, and revoked', {
  skip: !redisAvailable() && 'redis-server/redis-cli not installed',
}, () => {
  let g;
  let c;
  let base;
  let host;
  const users = Array.from({ length: 6 }, (_, i) => testUser(`rn${i}`, 'c'));
  const signed = [];          // { b, user, cookie, key, port, reads }

  before(async () => {
    g = await startCluster({ masters: 3, replicasPerMaster: 0 });
    c = await startHosts({
      hosts: 1,
      users: [...defaultUsers(), ...users],
      storeConf: STORE_CONF(`redis-cluster://127.0.0.1:${g.seedPort}`),
      serverConf: SERVER_CONF,
      locationsConf: LOCATIONS,
    });
    [base] = c.bases;
    [host] = c.hosts;
    const up = await waitUntil(async () => {
      for (const m of await g.masters()) {
        if ((await pubsubClients(g.byPort(m.port))) < PROCS) return false;
      }
      return true;
    }, { timeoutMs: 15000, intervalMs: 200 });
    assert.ok(up, `a listener of every process on every master: ${JSON.stringify(await Promise.all(
      (await g.masters()).map(async (m) => [m.port, await pubsubClients(g.byPort(m.port))]),
    ))}`);
  });
  after(async () => {
    await c?.stop();
    await g?.stop();
    c?.cleanup();
    g?.cleanup();
  });

  const allGets = async () => {
    let n = 0;
    for (const m of await g.masters()) n += await getCalls(g.byPort(m.port));
    return n;
  };

  it(`${users.length} users, sessions on at least 2 masters, each asked for every ${EVERY_MS} ms for ${CLUSTER_LOAD_MS / 1000} s: all 200, at most 2 request-path reads each, at least ${users.length} renewals`, async (t) => {
    for (const u of users) signed.push({ ...await signIn(base, u, () => g.keysOnMasters(`${PREFIX}s:*`)), reads: 0 });
    const ports = [...new Set(signed.map((s) => s.port))];
    assert.ok(ports.length >= 2, `masters holding the sessions: ${ports.join(' ')}`);
    const from = mark(host);
    const get0 = await allGets();
    const bad = [];
    const rounds = await paced(CLUSTER_LOAD_MS, async () => {
      for (const s of signed) {
        const at = mark(host);
        const r = await getFresh(prot(base), s.cookie);
        if (r.status !== 200 || parseEnv(r.body).REMOTE_USER !== s.user) bad.push({ s, r });
        s.reads += count(since(host, at), FROM_STORE);
      }
    });
    const gets = (await allGets()) - get0;
    const log = since(host, from);
    const rn = renewals(log);
    const reads = signed.map((s) => `${s.user}@${s.port}:${s.reads}`).join(' ');
    const seen = `${rounds} rounds of ${signed.length} requests; request-path reads (FA00319) per user ${reads} (${count(log, FROM_STORE)} in all); `
      + `host copy (FA00318) ${count(log, FROM_HOST)}; ${renewalsText(rn)}; FA00325 ${count(log, NOT_RENEWED)}; GETs on the masters +${gets}`;
    t.diagnostic(seen);
    assert.equal(bad.length, 0, `${bad.length} answers not 200 as their user (${seen}); the first, ${bad[0]?.s.user}: ${bad[0] && dump(bad[0].r)}`);
    for (const s of signed) {
      assert.ok(s.reads >= 1 && s.reads <= 2, `${s.user} (master ${s.port}) read from Redis on the request path ${s.reads} times (${seen})`);
    }
    assert.ok(rn.renewed >= signed.length, `renewed ${rn.renewed}, want at least ${signed.length} (${seen})\n${log.slice(-3000)}`);
    assert.ok(gets >= count(log, FROM_STORE) + rn.renewed && gets <= count(log, FROM_STORE) + rn.due + 2,
      `GETs on the masters +${gets} (${seen})`);
  });

  it('one user\'s key deleted on its master: refused by every process within a second; the others still 200', async (t) => {
    assert.equal(signed.length, users.length, 'the users signed in (the test before)');
    const [victim, ...others] = signed;
    const node = g.byPort(victim.port);
    assert.equal(await node.cli(['DEL', victim.key]), '1');
    const del = Date.now();
    await sleep(REFUSE_AFTER_MS);
    await allRefused(host, base, c.idp.issuer, victim.cookie, `${victim.user} after the DEL on master ${victim.port}`);
    t.diagnostic(`${victim.user}: 12 requests all refused, answered by ${Date.now() - del} ms after the DEL`);
    for (const s of others) {
      for (const r of await many(prot(base), s.cookie, 4, 4)) {
        assert.equal(r.status, 200, `${s.user}: ${dump(r)}`);
        assert.equal(parseEnv(r.body).REMOTE_USER, s.user, r.body);
      }
    }
  });

  it('the error log has no crash lines', async () => {
    await c.stop();
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}`);
  });
});
