// SPDX-License-Identifier: Apache-2.0
// issue 24, per-process copies on a Redis Cluster as fresh as with one
// Redis: a real cluster of 3 masters and 3 replicas on loopback, two httpd
// hosts (A and B) on it, both with FedAuthSessionLocalCache 60 (a copy
// lasts up to 60 s while Redis vouches for it, 1 s while it cannot). Each process keeps one invalidation listener per master, and
// every data connection redirects its tracking to the listener of its own
// node. What the attacker (a user whose session was ended, a stolen cookie
// after a logout) must NOT get is a 200 from host B's copy:
//   - a logout on A (the real /fedauth/logout) reaches B within
//     LIMIT_MS, for sessions on each of the 3 masters (the old code kept
//     B's copy for up to 1 s);
//   - a back-channel logout POSTed to A reaches B as fast;
//   - while a copy is vouched for, B does not read Redis for it (the
//     copies are really there, so the above is not a test of nothing);
//   - the listeners of one master killed (CLIENT KILL TYPE pubsub) and the
//     session deleted at once, in the window where its invalidation is
//     lost: B does not serve its copy; the listeners come back;
//   - the listeners of one master kept down (SUBSCRIBE denied by an ACL):
//     B trusts a copy of its sessions for a second at most, even with
//     FedAuthSessionLocalCache 60 (that configured value used to hold
//     for copies nobody vouched for);
//   - a master killed (SIGKILL) and its replica promoted: a session
//     deleted on the new master is refused by B at once, the new master
//     gets listeners, and a logout after the fail-over reaches B fast.
// Then the same logout over TLS (rediss-cluster://).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  Browser, dump, defaultUsers, testUser, sleep, signOut, protectedLocation,
} from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import {
  startCluster, redisAvailable, waitUntil, makeTlsFiles,
} from '../lib/redis.mjs';
import {
  startHosts, logoutClaims, signAtIdp, postLogoutToken,
} from '../lib/cluster.mjs';

const PREFIX = 'fedauth:';
// how soon B must refuse a session ended elsewhere; the old code served
// its copy for up to 1000 ms (819-947 ms measured); measured with the
// listeners 5-115 ms on a busy machine: the limit leaves room for a
// sanitizer build on a loaded one
const LIMIT_MS = 500;
const POLL_LIMIT_MS = 5000;
const N_USERS = 18;
const prot = (base) => `${base}/protected/env.cgi`;
// a long copy lifetime, so that only invalidation can end a copy early
// (and, while a listener is down, the second a copy nobody vouches for
// lasts; docs/directives.md)
const LONG_COPY = 'FedAuthSessionLocalCache 60';

/** Every session key on every live master: Map key -> master port. */
const sessionKeys = (g) => g.keysOnMasters(`${PREFIX}s:*`);

/** Signs u in on base; { b, user, key, port } (the one new session key). */
async function signIn(g, base, u) {
  const known = await sessionKeys(g);
  const b = new Browser();
  const r = await b.login(prot(base), u.username, u.password);
  assert.equal(r.status, 200, dump(r));
  const fresh = [...(await sessionKeys(g))].filter(([k]) => !known.has(k));
  assert.equal(fresh.length, 1, `one new session key for ${u.username}`);
  return { b, user: u.username, key: fresh[0][0], port: fresh[0][1] };
}

/** Requests on B with the cookie the user had before the logout (as an
 * attacker who kept it replays it; the browser itself dropped it), on one
 * keep-alive connection (so the process that holds the copy), until B
 * stops answering 200; the ms it took since t0. Bounded. */
async function msUntilOut(s, base, t0) {
  for (;;) {
    const r = await s.b.request(prot(base), { method: 'GET', cookies: false, headers: { Cookie: s.cookie } });
    const at = Date.now() - t0;
    if (r.status !== 200) {
      assert.equal(r.status, 302, dump(r));
      return at;
    }
    if (at > POLL_LIMIT_MS) return at;
    await sleep(10);
  }
}

/** As msUntilOut, across a fail-over: 503 (the store not reachable yet)
 * is not the end; any 200 is. { ms to the first 302, seen: statuses }. */
async function msUntilRefused(s, base, t0) {
  const seen = {};
  for (;;) {
    const r = await s.b.request(prot(base), { method: 'GET', cookies: false, headers: { Cookie: s.cookie } });
    const at = Date.now() - t0;
    seen[r.status] = (seen[r.status] || 0) + 1;
    if (r.status === 302 || r.status === 200 || at > POLL_LIMIT_MS) return { ms: at, seen };
    assert.equal(r.status, 503, dump(r));
    await sleep(10);
  }
}

/** B answers 200 a few times: its process holds a fresh copy. The
 * session's cookie is kept for the replay. */
async function warm(s, base) {
  s.cookie = s.b.jar.header(prot(base));
  assert.match(s.cookie, /fedauth_session=/);
  for (let i = 0; i < 3; i++) {
    const r = await s.b.getOnce(prot(base));
    assert.equal(r.status, 200, `${s.user} on ${base}: ${dump(r)}`);
  }
}

async function getCalls(node) {
  const info = await node.info('commandstats');
  const m = /calls=(\d+)/.exec(info.cmdstat_get || '');
  return m ? Number(m[1]) : 0;
}

/** The status page's store.tracking, as one of base's processes says. */
async function tracking(base) {
  const r = await fetch(`${base}/fedauth/status`, { headers: { Accept: 'application/json' } });
  assert.equal(r.status, 200);
  return (await r.json()).store.tracking;
}

async function pubsubClients(node) {
  const out = await node.cli(['CLIENT', 'LIST', 'TYPE', 'pubsub']);
  return out.split('\n').filter((l) => l.includes('sub=1')).length;
}

describe('Redis Cluster: a session ended on one host is refused by the other within milliseconds', {
  skip: !redisAvailable() && 'redis-server/redis-cli not installed',
}, () => {
  let g;
  let c;
  let A;
  let B;
  const users = Array.from({ length: N_USERS }, (_, i) => testUser(`ci${String(i).padStart(2, '0')}`, 'c'));
  const signed = [];            // { b, user, key, port }

  before(async () => {
    g = await startCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1000, fullCoverage: false });
    c = await startHosts({
      hosts: 2,
      users: [...defaultUsers(), ...users],
      storeConf: `FedAuthSessionStore redis-cluster://127.0.0.1:${g.seedPort}
FedAuthRedisTimeout 1
${LONG_COPY}`,
      serverConf: `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthStatus On`,
      locationsConf: `${protectedLocation()}<Location /fedauth/status>
    Require ip 127.0.0.1
</Location>
`,
    });
    [A, B] = c.bases;
  });
  after(async () => {
    await c?.stop();
    await g?.stop();
    c?.cleanup();
    g?.cleanup();
  });

  const take = (port) => {
    const i = signed.findIndex((s) => s.port === port);
    assert.ok(i >= 0, `a session left on master ${port}`);
    return signed.splice(i, 1)[0];
  };

  it(`${N_USERS} users sign in on A; sessions on all 3 masters; B keeps copies and does not read Redis for them`, async () => {
    for (const u of users) signed.push(await signIn(g, A, u));
    const ports = new Set(signed.map((s) => s.port));
    assert.equal(ports.size, 3, `masters holding sessions: ${[...ports].join(' ')}`);
    assert.equal(await tracking(B), 'up', 'the status page: every master\'s listener up');
    const s = signed[0];
    await warm(s, B);
    await sleep(1500);            // past the 1 s of a copy nobody vouches for
    const node = g.byPort(s.port);
    const before = await getCalls(node);
    for (let i = 0; i < 20; i++) {
      const r = await s.b.getOnce(prot(B));
      assert.equal(r.status, 200, dump(r));
    }
    assert.equal(await getCalls(node) - before, 0, 'no GET: the copy is vouched for by the master\'s listener');
  });

  it('a logout on A reaches B\'s copy within the limit, for a session on each master', async (t) => {
    const took = [];
    for (const port of [...new Set(signed.map((s) => s.port))].sort()) {
      const s = take(port);
      await warm(s, B);
      const t0 = Date.now();
      const out = await signOut(s.b, `${A}/fedauth/logout`);
      assert.ok([200, 302, 303].includes(out.status), dump(out));
      const ms = await msUntilOut(s, B, t0);
      took.push(`${port}: ${ms} ms`);
      assert.ok(ms < LIMIT_MS, `${s.user} (master ${port}) still served by B ${ms} ms after the logout on A`);
    }
    t.diagnostic(`logout on A to refusal on B: ${took.join(', ')}`);
  });

  it('a back-channel logout POSTed to A reaches B\'s copy within the limit', async () => {
    const s = await signIn(g, A, { username: 'alice', password: 'alice-pass-1' });
    await warm(s, B);
    const clientId = c.clients.test.client_id;
    const token = await signAtIdp(c.idp, clientId, logoutClaims(c.idp, clientId, { sub: 'alice-sub-0001' }));
    const t0 = Date.now();
    const r = await postLogoutToken(A, 'test', token);
    assert.equal(r.status, 200, r.body);
    const ms = await msUntilOut(s, B, t0);
    assert.ok(ms < LIMIT_MS, `alice still served by B ${ms} ms after the back-channel logout on A`);
  });

  it('the listeners of one master killed and the session deleted at once: B does not serve its copy; the listeners come back', async () => {
    const s = take(signed[0].port);
    const node = g.byPort(s.port);
    const listeners = await pubsubClients(node);
    assert.ok(listeners >= 2, `listeners on master ${s.port}: ${listeners}`);
    await warm(s, B);
    const t0 = Date.now();
    await node.cli(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    // the invalidation of this DEL has no listener to go to
    assert.equal(await node.cli(['DEL', s.key]), '1');
    const ms = await msUntilOut(s, B, t0);
    assert.ok(ms < LIMIT_MS, `${s.user} still served by B ${ms} ms after the DEL`);
    assert.ok(await waitUntil(async () => (await pubsubClients(node)) >= listeners, { timeoutMs: 5000, intervalMs: 100 }),
      'the listeners came back');
    // and vouch again: a logout after their return reaches B fast
    const s2 = take(s.port);
    await warm(s2, B);
    const t1 = Date.now();
    await signOut(s2.b, `${A}/fedauth/logout`);
    const ms2 = await msUntilOut(s2, B, t1);
    assert.ok(ms2 < LIMIT_MS, `${s2.user} still served by B ${ms2} ms after the logout`);
  });

  it('the listeners of one master kept down (SUBSCRIBE denied): B trusts a copy of its sessions for at most a second; they come back when allowed', async (t) => {
    const counts = (port) => signed.filter((x) => x.port === port).length;
    const port = [...new Set(signed.map((x) => x.port))].sort((x, y) => counts(y) - counts(x))[0];
    const s = take(port);
    const s2 = take(port);
    const node = g.byPort(port);
    const listeners = await pubsubClients(node);
    await warm(s, B);
    await node.cli(['ACL', 'SETUSER', 'default', '-subscribe']);
    try {
      await node.cli(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await sleep(300);
      assert.equal(await pubsubClients(node), 0, 'no listener on the node');
      assert.equal(await tracking(B), 'down (2 of 3 masters\' listeners up)', 'the status page');
      // B reads the session again and keeps a copy nobody vouches for
      await warm(s, B);
      const t0 = Date.now();
      assert.equal(await node.cli(['DEL', s.key]), '1');
      const ms = await msUntilOut(s, B, t0);
      t.diagnostic(`listeners kept down: the DEL refused by B after ${ms} ms`);
      assert.ok(ms < 1300, `${s.user} served from an unvouched copy ${ms} ms after the DEL (at most a second)`);
    } finally {
      await node.cli(['ACL', 'SETUSER', 'default', '+subscribe']);
    }
    assert.ok(await waitUntil(async () => (await pubsubClients(node)) >= listeners, { timeoutMs: 5000, intervalMs: 100 }),
      'the listeners came back');
    assert.ok(await waitUntil(async () => (await tracking(B)) === 'up', { timeoutMs: 5000, intervalMs: 100 }), 'the status page: up again');
    // B's log: the node's listener down once, at warning (FA01717), then
    // back at info (FA01716), each line with its own tag and no other
    const nodeRe = (tag, level) => new RegExp(`\\[fedauth:${level}\\] .* ${tag}: redis cluster node 127\\.0\\.0\\.1:${port}: invalidation listener`);
    const bLog = () => c.hosts[1].errorLog();
    const back = await waitUntil(() => nodeRe('FA01716', 'info').test(bLog()), { timeoutMs: 3000 });
    const down = bLog().split('\n').filter((l) => nodeRe('FA01717', 'warn').test(l));
    t.diagnostic(`B's listener lines: ${down.length} down, e.g. ${(down[0] || '').replace(/^.*FA01717/, 'FA01717')}`);
    assert.ok(down.length >= 1 && down.every((l) => /listener down: .*a copy of a session lasts a second at most until it is back$/.test(l)),
      `FA01717 lines:\n${down.join('\n')}\n${bLog().slice(-3000)}`);
    assert.ok(back, `no FA01716 (back, info) line:\n${bLog().slice(-3000)}`);
    assert.doesNotMatch(bLog(), /FA00306|FA\d{5}: FA\d{5}/, 'one tag per line');
    await warm(s2, B);
    const t1 = Date.now();
    await signOut(s2.b, `${A}/fedauth/logout`);
    const ms2 = await msUntilOut(s2, B, t1);
    assert.ok(ms2 < LIMIT_MS, `${s2.user} still served by B ${ms2} ms after the logout`);
  });

  it('a master killed, its replica promoted: a copy from before is not trusted, the new master gets listeners, a logout reaches B fast', async (t) => {
    const ms = await g.masters();
    const counts = (port) => signed.filter((s) => s.port === port).length;
    const victim = ms.filter((m) => counts(m.port) >= 2 && m.replicas.length)
      .sort((x, y) => counts(y.port) - counts(x.port))[0];
    assert.ok(victim, `a master with two sessions left: ${JSON.stringify(ms.map((m) => [m.port, counts(m.port)]))}`);
    const s = take(victim.port);
    const s2 = take(victim.port);
    const vnode = g.byPort(victim.port);
    const replica = g.byPort(victim.replicas[0]);
    const caught = await waitUntil(async () => {
      const off = Number((await vnode.info('replication')).master_repl_offset);
      return Number((await replica.info('replication')).slave_repl_offset) === off;
    }, { timeoutMs: 20000, intervalMs: 100 });
    assert.ok(caught, 'the replica caught up');
    const other = ms.find((m) => m.port !== victim.port);
    const listeners = await pubsubClients(g.byPort(other.port));
    await warm(s, B);
    await warm(s2, B);
    const t0 = Date.now();
    process.kill(vnode.pid, 'SIGKILL');
    const promoted = await waitUntil(async () => (await g.masters()).some((m) => m.port === replica.port),
      { timeoutMs: 30000, intervalMs: 100 });
    assert.ok(promoted, 'the replica became a master');
    // a logout written straight to the new master: B's copy from before
    // the fail-over must not answer for it
    assert.equal(await replica.cli(['DEL', s.key]), '1');
    const t1 = Date.now();
    const { ms: out1, seen } = await msUntilRefused(s, B, t1);
    assert.ok(!seen[200], `${s.user} served by B from a copy after the DEL on the new master: ${JSON.stringify(seen)}`);
    assert.ok(out1 < 1000, `${s.user} refused by B only ${out1} ms after the DEL on the new master: ${JSON.stringify(seen)}`);
    // s2 answers again (its session is on the new master)
    assert.ok(await waitUntil(async () => (await s2.b.getOnce(prot(B))).status === 200, { timeoutMs: 15000, intervalMs: 100 }),
      `${s2.user} answers again on B`);
    assert.ok(await waitUntil(async () => (await pubsubClients(replica)) >= listeners, { timeoutMs: 10000, intervalMs: 100 }),
      'the new master has as many listeners as the others');
    await warm(s2, B);
    const t2 = Date.now();
    await signOut(s2.b, `${A}/fedauth/logout`);
    const out2 = await msUntilOut(s2, B, t2);
    t.diagnostic(`fail-over: promoted ${t1 - t0} ms after the kill; DEL on the new master refused in ${out1} ms `
      + `(${JSON.stringify(seen)}); logout after it in ${out2} ms`);
    assert.ok(out2 < LIMIT_MS, `${s2.user} still served by B ${out2} ms after the logout on A`);
    // everyone else still signed in
    for (const x of signed.slice(0, 4)) {
      assert.ok(await waitUntil(async () => (await x.b.getOnce(prot(B))).status === 200, { timeoutMs: 10000, intervalMs: 100 }), x.user);
    }
  });

  it('the error logs have no crash lines', async () => {
    await c.stop();
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}`);
  });
});

describe('Redis Cluster over TLS (rediss-cluster://): a logout on A reaches B within milliseconds', {
  skip: !redisAvailable() && 'redis-server/redis-cli not installed',
}, () => {
  let g;
  let c;
  let tls;
  const users = Array.from({ length: 9 }, (_, i) => testUser(`ct${i}`, 'c'));

  before(async () => {
    tls = makeTlsFiles();
    g = await startCluster({ masters: 3, replicasPerMaster: 0, tls: { files: tls } });
    c = await startHosts({
      hosts: 2,
      users,
      storeConf: `FedAuthSessionStore rediss-cluster://127.0.0.1:${g.seedPort}
FedAuthRedisCAFile "${tls.ca}"
FedAuthRedisTimeout 1
${LONG_COPY}`,
    });
  });
  after(async () => {
    await c?.stop();
    await g?.stop();
    c?.cleanup();
    g?.cleanup();
    tls?.cleanup();
  });

  it('sessions on at least two masters; each logout on A is refused by B within the limit', async (t) => {
    const [A, B] = c.bases;
    const signed = [];
    for (const u of users) signed.push(await signIn(g, A, u));
    const ports = [...new Set(signed.map((s) => s.port))];
    assert.ok(ports.length >= 2, ports.join(' '));
    const took = [];
    for (const port of ports) {
      const s = signed.find((x) => x.port === port);
      await warm(s, B);
      const t0 = Date.now();
      await signOut(s.b, `${A}/fedauth/logout`);
      const ms = await msUntilOut(s, B, t0);
      took.push(`${port}: ${ms} ms`);
      assert.ok(ms < LIMIT_MS, `${s.user} still served by B ${ms} ms after the logout on A (TLS)`);
    }
    t.diagnostic(`TLS: ${took.join(', ')}`);
    await c.stop();
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}`);
  });
});
