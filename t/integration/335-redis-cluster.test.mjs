// SPDX-License-Identifier: Apache-2.0
// issue 13, Redis Cluster: FedAuthSessionStore redis-cluster://host:port
// with ONE seed node of a real cluster of 3 masters and 3 replicas on
// loopback (cluster-node-timeout 1500 ms). Two httpd hosts share it.
// Sessions work on both hosts; 30 users' sessions spread over all three
// masters, every key on the master of its slot (CLUSTER KEYSLOT); logout
// and back-channel logout end sessions everywhere; FedAuthMaxSessionsPerUser
// still ends a user's oldest session (the index and the sessions live in
// different slots), also when 8 sign-ins of one user arrive at once; a slot that is being migrated (ASK) and one that has
// moved (MOVED) are followed; a master killed with SIGKILL: its replica
// takes over, every request meanwhile answers 200 or 503 (never a 500, a
// crash or a sign-in prompt) and afterwards every session answers 200
// again on both hosts, without restarting httpd; then the seed node itself
// (the only address httpd was given) is killed the same way and the
// sessions come back from the map the other nodes tell. Then, lightly,
// rediss-cluster://: a TLS-only cluster of 3 masters (tls-cluster yes);
// and apache2 -t with redis-cluster:// URLs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import fs from 'node:fs';
import path from 'node:path';

import {
  Browser, parseEnv, dump, discovery, defaultUsers, testUser, sleep,
  writeHttpdConfig, configTest, requireModule, removeDir, signOut,
} from '../lib/index.mjs';
import {
  startCluster, redisAvailable, redisCli, waitUntil, makeTlsFiles,
} from '../lib/redis.mjs';
import {
  startHosts, logoutClaims, signAtIdp, postLogoutToken,
} from '../lib/cluster.mjs';

const PREFIX = 'fedauth:';
const N_USERS = 30;
const MAX_PER_USER = 2;

/** Runs fn(i) for i in [0, n) with at most `width` at a time. */
async function pool(n, width, fn) {
  let next = 0;
  const out = new Array(n);
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  return out;
}

describe('Redis Cluster: 3 masters, 3 replicas, one seed node', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  let g;
  let c;
  let A;
  let B;
  let meta;
  let clientId;
  const users = Array.from({ length: N_USERS }, (_, i) => testUser(`u${String(i).padStart(2, '0')}`, 'c'));
  const racer = testUser('racer', 'c');
  const browsers = [];           // [{ b, user }] signed in and expected to stay
  const prot = (base) => `${base}/protected/env.cgi`;

  before(async () => {
    g = await startCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1500 });
    c = await startHosts({
      hosts: 2,
      users: [...defaultUsers(), ...users, racer],
      providers: [{ id: 'test', client: { backchannel_logout_session_required: true } }],
      storeConf: `FedAuthSessionStore redis-cluster://127.0.0.1:${g.seedPort}
FedAuthRedisTimeout 1
FedAuthMaxSessionsPerUser ${MAX_PER_USER}`,
    });
    [A, B] = c.bases;
    meta = await discovery(c.idp.issuer);
    clientId = c.clients.test.client_id;
  });
  after(async () => {
    await c?.stop();
    await g?.stop();
    c?.cleanup();
    g?.cleanup();
  });

  /** Every key matching pattern on every live master: [{ key, port }]. */
  const keysOnMasters = async (pattern) => [...(await g.keysOnMasters(pattern))].map(([key, port]) => ({ key, port }));
  const sessionKeys = async () => (await keysOnMasters(`${PREFIX}s:*`)).map((x) => x.key).sort();

  async function assertIn(b, user, what) {
    for (const base of [A, B]) {
      const r = await b.getOnce(prot(base));
      assert.equal(r.status, 200, `${what} on ${base === A ? 'A' : 'B'}: ${dump(r)}`);
      assert.equal(parseEnv(r.body).REMOTE_USER, user);
    }
  }
  async function assertOut(b, what) {
    for (const base of [A, B]) {
      const r = await b.getOnce(prot(base));
      assert.equal(r.status, 302, `${what} on ${base === A ? 'A' : 'B'}: ${dump(r)}`);
      assert.ok(r.location.startsWith(meta.authorization_endpoint), `${what}: sent to sign in: ${r.location}`);
    }
  }

  const alice = new Browser();
  it('alice signs in on A (the store knows one seed node); the session works on B', async () => {
    const r = await alice.login(prot(A), 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    await assertIn(alice, 'alice', 'alice');
    browsers.push({ b: alice, user: 'alice' });
    assert.equal((await sessionKeys()).length, 1);
  });

  it(`${N_USERS} users sign in (4 at a time, alternating hosts): their sessions spread over all 3 masters`, async () => {
    const bs = await pool(N_USERS, 4, async (i) => {
      const b = new Browser();
      const base = i % 2 ? B : A;
      const r = await b.login(prot(base), users[i].username, users[i].password);
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, users[i].username);
      return b;
    });
    bs.forEach((b, i) => browsers.push({ b, user: users[i].username }));
    const keys = await keysOnMasters(`${PREFIX}s:*`);
    assert.equal(keys.length, N_USERS + 1, keys.map((k) => k.key).join(' '));
    const perMaster = {};
    for (const { port } of keys) perMaster[port] = (perMaster[port] || 0) + 1;
    const ms = await g.masters();
    for (const m of ms) assert.ok(perMaster[m.port] >= 2, `sessions per master: ${JSON.stringify(perMaster)}`);
  });

  it('every key (sessions, indexes) lives on the master that serves its slot per CLUSTER KEYSLOT', async () => {
    const ms = await g.masters();
    const all = await keysOnMasters(`${PREFIX}*`);
    assert.ok(all.length > N_USERS, `${all.length} keys`);
    const kinds = new Set(all.map((k) => k.key.slice(PREFIX.length, PREFIX.length + 2)));
    assert.ok(kinds.has('s:') && kinds.has('i:'), [...kinds].join(' '));
    for (const { key, port } of all.slice(0, 40)) {
      const slot = await g.keyslot(key);
      const owner = ms.find((m) => m.slots.some(([lo, hi]) => slot >= lo && slot <= hi));
      assert.equal(owner?.port, port, `${key} (slot ${slot}) on ${port}`);
    }
  });

  it('every session answers on A and on B', async () => {
    for (const { b, user } of browsers) await assertIn(b, user, user);
  });

  it(`FedAuthMaxSessionsPerUser ${MAX_PER_USER}: a third sign-in of bob ends his oldest session, on both hosts`, async () => {
    const bobs = [new Browser(), new Browser(), new Browser()];
    for (const b of bobs) {
      const r = await b.login(prot(A), 'bob', 'bob-pass-2');
      assert.equal(r.status, 200, dump(r));
    }
    await assertOut(bobs[0], 'bob (oldest)');
    await assertIn(bobs[1], 'bob@example.org', 'bob (second)');
    await assertIn(bobs[2], 'bob@example.org', 'bob (third)');
    // the index of bob's sessions keeps two members
    const idx = [];
    for (const { key, port } of await keysOnMasters(`${PREFIX}i:*`)) {
      if (await g.byPort(port).cli(['TYPE', key]) === 'zset') {
        const n = Number(await g.byPort(port).cli(['ZCARD', key]));
        assert.ok(n <= MAX_PER_USER, `${key}: ${n} members`);
        idx.push(key);
      }
    }
    assert.ok(idx.length > 0, 'indexes exist');
  });

  it('a sign-in cut off between its index steps (simulated in Redis: one member too many whose session lives, one whose session is gone) is repaired by bob\'s next sign-in', async () => {
    // bob's index: the one zset of two members (every other user has one
    // session, and each IdP session index one member)
    const pairs = [];
    for (const { key, port } of await keysOnMasters(`${PREFIX}i:*`)) {
      if (await g.byPort(port).cli(['TYPE', key]) === 'zset'
          && Number(await g.byPort(port).cli(['ZCARD', key])) === MAX_PER_USER) pairs.push({ key, port });
    }
    assert.equal(pairs.length, 1, `one index with ${MAX_PER_USER} members: ${JSON.stringify(pairs)}`);
    const idx = g.byPort(pairs[0].port);
    const range = (await idx.cli(['ZRANGE', pairs[0].key, '0', '-1', 'WITHSCORES'])).split('\n').filter(Boolean);
    const [first, firstScore] = range;
    const fake = (tail) => `${first.slice(0, -4)}${tail}`;
    const live = fake('LIVE');          // left by a cut-off sign-in: a session too many
    const gone = fake('GONE');          // left by a cut-off removal: its session already deleted
    const nodeOf = async (key) => g.byPort((await g.masterOfSlot(await g.keyslot(key))).port);
    await (await nodeOf(`${PREFIX}${live}`)).cli(['SET', `${PREFIX}${live}`, 'x', 'EX', '600']);
    await idx.cli(['ZADD', pairs[0].key, String(Number(firstScore) - 2), gone, String(Number(firstScore) - 1), live]);
    assert.equal(Number(await idx.cli(['ZCARD', pairs[0].key])), MAX_PER_USER + 2);
    const b = new Browser();
    const r = await b.login(prot(B), 'bob', 'bob-pass-2');
    assert.equal(r.status, 200, dump(r));
    const after = (await idx.cli(['ZRANGE', pairs[0].key, '0', '-1'])).split('\n').filter(Boolean);
    assert.equal(after.length, MAX_PER_USER, `the index is back to ${MAX_PER_USER}: ${after.join(' ')}`);
    assert.ok(!after.includes(live) && !after.includes(gone) && !after.includes(first), after.join(' '));
    assert.equal(await (await nodeOf(`${PREFIX}${live}`)).cli(['EXISTS', `${PREFIX}${live}`]), '0', 'the session too many was ended');
    await assertIn(b, 'bob@example.org', 'bob (fourth)');
  });

  it(`8 sign-ins of one user at the same moment, on both hosts: exactly ${MAX_PER_USER} of the 8 browsers stay signed in, and his index names exactly their sessions`, async () => {
    const before = new Set(await sessionKeys());
    const bs = Array.from({ length: 8 }, () => new Browser());
    // the IdP's part first (each browser's code in hand), so that the 8
    // callbacks, and their index steps, reach httpd together
    const callbacks = await Promise.all(bs.map(async (b, i) => {
      const base = i % 2 ? B : A;
      const r = await b.login(prot(base), racer.username, racer.password, { stopAt: (u) => u.startsWith(`${base}/signin-`) });
      assert.ok(r.stoppedAt, dump(r));
      return { b, url: r.stoppedAt };
    }));
    const done = await Promise.all(callbacks.map(({ b, url }) => b.getOnce(url)));
    for (const r of done) assert.equal(r.status, 302, dump(r));
    const signedIn = [];
    for (const b of bs) {
      const r = await b.getOnce(prot(A));
      if (r.status === 200) {
        assert.equal(parseEnv(r.body).REMOTE_USER, racer.username);
        signedIn.push(b);
      }
      else assert.equal(r.status, 302, dump(r));
    }
    assert.equal(signedIn.length, MAX_PER_USER, `browsers still signed in: ${signedIn.length}`);
    const added = (await sessionKeys()).filter((k) => !before.has(k));
    assert.equal(added.length, MAX_PER_USER, `new session keys: ${added.join(' ')}`);
    const idx = [];
    for (const { key, port } of await keysOnMasters(`${PREFIX}i:*`)) {
      if (await g.byPort(port).cli(['TYPE', key]) !== 'zset') continue;
      const members = (await g.byPort(port).cli(['ZRANGE', key, '0', '-1'])).split('\n').filter(Boolean);
      if (members.some((m) => added.includes(`${PREFIX}${m}`))) idx.push(members);
    }
    // the user's index and each IdP session's index name new sessions;
    // none names more than the limit or a session that is gone
    assert.ok(idx.length >= 1, 'an index names the new sessions');
    for (const members of idx) {
      assert.ok(members.length <= MAX_PER_USER, members.join(' '));
      for (const m of members) assert.ok(added.includes(`${PREFIX}${m}`), `${m} is one of the sessions that live`);
    }
    assert.ok(idx.some((members) => members.length === MAX_PER_USER), 'the user\'s index names both');
    for (const b of signedIn) await assertIn(b, racer.username, 'racer');
  });

  it('/fedauth/logout on A ends carol\'s session on B at once', async () => {
    const b = new Browser();
    const r = await b.login(prot(A), 'carol', 'carol-pass-3');
    assert.equal(r.status, 200, dump(r));
    const before = (await sessionKeys()).length;
    const out = await signOut(b, `${A}/fedauth/logout`);
    assert.ok([200, 302, 303].includes(out.status), dump(out));
    assert.equal((await sessionKeys()).length, before - 1, 'one session key less');
    const again = await b.getOnce(prot(B));
    assert.equal(again.status, 302, dump(again));
  });

  it('back-channel logout (a logout token with sub, POSTed to B) ends every session of that user on A and B; others stay', async () => {
    const b1 = new Browser();
    const b2 = new Browser();
    for (const b of [b1, b2]) {
      const r = await b.login(prot(A), 'alice', 'alice-pass-1');
      assert.equal(r.status, 200, dump(r));
    }
    const t = await signAtIdp(c.idp, clientId, logoutClaims(c.idp, clientId, { sub: 'alice-sub-0001' }));
    const r = await postLogoutToken(B, 'test', t);
    assert.equal(r.status, 200, r.body);
    await assertOut(b1, 'alice (b1)');
    await assertOut(b2, 'alice (b2)');
    // the first alice session was already ended by FedAuthMaxSessionsPerUser
    // (three alice sessions, two kept) or by this logout: either way gone
    await assertOut(alice, 'alice (first)');
    browsers.splice(browsers.findIndex((x) => x.b === alice), 1);
    for (const { b, user } of browsers.slice(0, 5)) await assertIn(b, user, user);
  });

  /** Moves slot `slot` from master `src` to master `dst` like
   * redis-cli --cluster reshard does; stops (mid) after the keys moved but
   * before the slot is handed over when mid is true. */
  async function migrate(slot, src, dst, { mid = false } = {}) {
    await redisCli(dst.port, ['CLUSTER', 'SETSLOT', slot, 'IMPORTING', src.id]);
    await redisCli(src.port, ['CLUSTER', 'SETSLOT', slot, 'MIGRATING', dst.id]);
    const keys = (await redisCli(src.port, ['CLUSTER', 'GETKEYSINSLOT', slot, 100])).split('\n').filter(Boolean);
    if (keys.length) {
      await redisCli(src.port, ['MIGRATE', '127.0.0.1', dst.port, '', 0, 5000, 'KEYS', ...keys]);
    }
    if (mid) return keys;
    for (const m of await g.masters()) {
      await redisCli(m.port, ['CLUSTER', 'SETSLOT', slot, 'NODE', dst.id]);
    }
    return keys;
  }
  const asking = async (port) => {
    const s = await g.byPort(port).info('commandstats');
    return Number(/calls=(\d+)/.exec(s.cmdstat_asking || '')?.[1] || 0);
  };

  it('a slot in migration (ASK: the key already moved) and then handed over (MOVED): the session is found on both hosts', async () => {
    const before = await sessionKeys();
    const b = new Browser();
    const r = await b.login(prot(A), 'u00', 'u00-pass-c');
    assert.equal(r.status, 200, dump(r));
    const key = (await sessionKeys()).find((k) => !before.includes(k));
    assert.ok(key, 'the new session key');
    const slot = await g.keyslot(key);
    const ms = await g.masters();
    const src = ms.find((m) => m.slots.some(([lo, hi]) => slot >= lo && slot <= hi));
    const dst = ms.find((m) => m !== src);
    const moved = await migrate(slot, src, dst, { mid: true });
    assert.ok(moved.includes(key), `migrated ${moved.join(' ')}`);
    const asked = await asking(dst.port);
    await assertIn(b, 'u00', 'u00 during the migration');
    assert.ok(await asking(dst.port) > asked, 'the module sent ASKING to the importing master');
    for (const m of await g.masters()) {
      await redisCli(m.port, ['CLUSTER', 'SETSLOT', slot, 'NODE', dst.id]);
    }
    await g.waitOk(30000);
    await assertIn(b, 'u00', 'u00 after the slot moved');
    assert.ok((await g.byPort(dst.port).keys(0, key)).length === 1, 'the key is on the new master');
    browsers.push({ b, user: 'u00' });
    // hand it back, so that the fail-over below sees the cluster as made
    await migrate(slot, dst, src);
    await g.waitOk(30000);
    await assertIn(b, 'u00', 'u00 after the slot moved back');
  });

  /**
   * SIGKILL one master (the seed, or the non-seed master with the most
   * sessions): requests answer 200 or 503 meanwhile, its replica takes
   * over, then every session answers 200 on both hosts, without a restart.
   */
  async function failOver(t, { seed }) {
    const ms = await g.masters();
    const keys = await keysOnMasters(`${PREFIX}s:*`);
    const victim = ms.filter((m) => (m.port === g.seedPort) === seed)
      .sort((x, y) => keys.filter((k) => k.port === y.port).length - keys.filter((k) => k.port === x.port).length)[0];
    assert.ok(victim, 'a master to kill');
    assert.ok(victim.replicas.length > 0, 'the victim has a replica');
    const onVictim = keys.filter((k) => k.port === victim.port).length;
    assert.ok(onVictim > 0, 'the victim holds sessions');
    // replication is asynchronous: wait until the replica has everything
    const vnode = g.byPort(victim.port);
    const caught = await waitUntil(async () => {
      const info = await vnode.info('replication');
      const off = Number(info.master_repl_offset);
      const rinfo = await g.byPort(victim.replicas[0]).info('replication');
      return Number(rinfo.slave_repl_offset) === off;
    }, { timeoutMs: 20000, intervalMs: 100 });
    assert.ok(caught, 'the replica caught up');
    process.kill(vnode.pid, 'SIGKILL');
    const statuses = {};
    const start = Date.now();
    let i = 0;
    let ok = false;
    while (Date.now() - start < 40000) {
      const { b } = browsers[i % browsers.length];
      const base = i % 2 ? B : A;
      i++;
      const r = await b.getOnce(prot(base));
      statuses[r.status] = (statuses[r.status] || 0) + 1;
      assert.ok(r.status === 200 || r.status === 503, `during the fail-over: ${dump(r)}`);
      if (!ok && (await g.masters()).some((m) => m.port === victim.replicas[0])) {
        ok = await g.waitOk(30000);
        break;
      }
      await sleep(100);
    }
    assert.ok(ok, `the replica ${victim.replicas[0]} became master (statuses ${JSON.stringify(statuses)})`);
    t.diagnostic(`answers while the replica took over: ${JSON.stringify(statuses)}`);
    // every session answers 200 again (bounded: the processes find the new
    // master on their next request for its slots)
    const back = await waitUntil(async () => {
      for (const { b } of browsers) {
        for (const base of [A, B]) {
          const r = await b.getOnce(prot(base));
          assert.ok(r.status === 200 || r.status === 503, `after the fail-over: ${dump(r)}`);
          if (r.status !== 200) return false;
        }
      }
      return true;
    }, { timeoutMs: 20000, intervalMs: 500 });
    assert.ok(back, 'every session answers 200 after the fail-over');
    for (const { b, user } of browsers) await assertIn(b, user, user);
    const now = (await keysOnMasters(`${PREFIX}s:*`)).filter((k) => k.port === victim.replicas[0]).length;
    assert.ok(now >= onVictim, `the new master holds the sessions (${now} of ${onVictim})`);
  }

  it('SIGKILL a master (not the seed): requests answer 200 or 503 meanwhile, its replica takes over, then every session answers 200 on both hosts', async (t) => {
    await failOver(t, { seed: false });
  });

  it('after the fail-over a new sign-in works and is seen on the other host', async () => {
    const b = new Browser();
    const r = await b.login(prot(B), 'u01', 'u01-pass-c');
    assert.equal(r.status, 200, dump(r));
    await assertIn(b, 'u01', 'u01');
  });

  it('SIGKILL the seed node itself (the only address httpd was given): the module learns the new map from the other nodes; every session answers 200', async (t) => {
    await failOver(t, { seed: true });
    const b = new Browser();
    const r = await b.login(prot(A), 'u02', 'u02-pass-c');
    assert.equal(r.status, 200, dump(r));
    await assertIn(b, 'u02', 'u02 signed in with the seed gone');
  });

  it('every node hung (SIGSTOP): requests answer 503 within a few seconds (fail closed, no worker waits long); resumed: every session answers 200 again, without restarting httpd', async () => {
    const hung = g.live();
    for (const n of hung) n.pause();
    try {
      for (let i = 0; i < 6; i++) {
        const { b } = browsers[i % browsers.length];
        const t0 = Date.now();
        const r = await b.getOnce(prot(i % 2 ? B : A));
        const ms = Date.now() - t0;
        assert.equal(r.status, 503, dump(r));
        assert.ok(ms < 5000, `answered in ${ms} ms`);
      }
    } finally {
      for (const n of hung) n.resume();
    }
    assert.ok(await g.waitOk(30000), 'the cluster is ok again');
    const back = await waitUntil(async () => {
      for (const { b } of browsers) {
        for (const base of [A, B]) {
          const r = await b.getOnce(prot(base));
          assert.ok(r.status === 200 || r.status === 503, `after the resume: ${dump(r)}`);
          if (r.status !== 200) return false;
        }
      }
      return true;
    }, { timeoutMs: 20000, intervalMs: 500 });
    assert.ok(back, 'every session answers 200 after the resume');
    for (const { b, user } of browsers) await assertIn(b, user, user);
  });

  it('httpd A and B stop cleanly; no crash lines in their error logs', async () => {
    for (const h of c.hosts) {
      const info = await h.stop();
      assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    }
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs()}`);
  });
});

describe('rediss-cluster://: a TLS-only cluster of 3 masters', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  let tls;
  let g;
  let c;
  const prot = () => `${c.base}/protected/env.cgi`;

  before(async () => {
    tls = makeTlsFiles();
    g = await startCluster({ masters: 3, replicasPerMaster: 0, tls: { files: tls } });
    c = await startHosts({
      hosts: 1,
      users: Array.from({ length: 9 }, (_, i) => testUser(`t${i}`, 's')),
      storeConf: `FedAuthSessionStore rediss-cluster://127.0.0.1:${g.seedPort}
FedAuthRedisCAFile "${tls.ca}"
FedAuthRedisTimeout 1`,
    });
  });
  after(async () => {
    await c?.stop();
    await g?.stop();
    c?.cleanup();
    g?.cleanup();
    tls?.cleanup();
  });

  it('9 users sign in over TLS; their sessions are on at least 2 masters; a logout deletes one', async () => {
    const bs = [];
    for (let i = 0; i < 9; i++) {
      const b = new Browser();
      const r = await b.login(prot(), `t${i}`, `t${i}-pass-s`);
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, `t${i}`);
      bs.push(b);
    }
    const per = {};
    for (const m of await g.masters()) {
      per[m.port] = (await g.byPort(m.port).keys(0, `${PREFIX}s:*`)).length;
    }
    assert.equal(Object.values(per).reduce((a, x) => a + x, 0), 9, JSON.stringify(per));
    assert.ok(Object.values(per).filter((x) => x > 0).length >= 2, JSON.stringify(per));
    for (const b of bs) assert.equal((await b.getOnce(prot())).status, 200);
    const out = await signOut(bs[0], `${c.base}/fedauth/logout`);
    assert.ok([200, 302, 303].includes(out.status), dump(out));
    assert.equal((await bs[0].getOnce(prot())).status, 302);
    assert.equal((await bs[1].getOnce(prot())).status, 200);
  });

  it('httpd stops cleanly; no crash lines', async () => {
    const info = await c.hosts[0].stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs()}`);
  });
});

describe('apache2 -t with a redis-cluster:// store', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));
  const PW = 'Cl5sterPw';
  const PROVIDER = `<FedAuthProvider test>
    Issuer        http://127.0.0.1:9
    ClientID      client-test
    ClientSecret  secret-test
</FedAuthProvider>`;

  async function check(conf, { secret = true } = {}) {
    requireModule();
    const { dir, confFile } = await writeHttpdConfig({
      providersConf: `${secret ? 'FedAuthSecret "a long enough test passphrase for config tests"\n' : ''}${conf}\n${PROVIDER}`,
      locationsConf: '<Location /protected>\n    AuthType FedAuth\n    Require valid-user\n</Location>',
    });
    dirs.push(dir);
    const res = await configTest(confFile);
    const lines = fs.readFileSync(confFile, 'utf8').split('\n');
    const out = `${res.stdout}${res.stderr}`;
    const line = lines.findIndex((l) => l.includes('FedAuthSessionStore')) + 1;
    const name = path.basename(confFile).replace('.', '\\.');
    const re = new RegExp(`${name}:(\\d+)|line (\\d+) of [^\\s:]*${name}`, 'g');
    const hits = [...out.matchAll(re)].map((m) => Number(m[1] || m[2]));
    return { res, out, namesLine: hits.includes(line) };
  }

  it('control: redis-cluster:// with three seeds and rediss-cluster:// with /0 pass (no Redis needed for -t)', async () => {
    for (const url of ['redis-cluster://127.0.0.1:7000,127.0.0.1:7001,[::1]:7002', `rediss-cluster://fedauth:${PW}@127.0.0.1:7000/0`]) {
      const c = await check(`FedAuthSessionStore ${url}`);
      assert.equal(c.res.code, 0, c.out);
      assert.match(c.out, /Syntax OK/);
    }
  });

  for (const [what, conf, re, opts] of [
    ['/1 (a Cluster has only db 0)', 'FedAuthSessionStore redis-cluster://127.0.0.1:7000/1', /only database 0/],
    ['an empty seed', 'FedAuthSessionStore redis-cluster://127.0.0.1:7000,,127.0.0.1:7001', /host is missing/],
    ['no FedAuthSecret', `FedAuthSessionStore redis-cluster://fedauth:${PW}@127.0.0.1:7000`, /FedAuthSecret/, { secret: false }],
    ['FedAuthRedisCAFile with a plain redis-cluster://', 'FedAuthSessionStore redis-cluster://127.0.0.1:7000\nFedAuthRedisCAFile /etc/ssl/certs/ca-certificates.crt', /rediss-cluster:\/\//],
  ]) {
    it(`${what}: apache2 -t fails naming FedAuthSessionStore and file:line`, async () => {
      const c = await check(conf, opts);
      assert.notEqual(c.res.code, 0, c.out);
      assert.match(c.out, /FedAuthSessionStore/, c.out);
      assert.match(c.out, re, c.out);
      assert.ok(c.namesLine, `names the FedAuthSessionStore line:\n${c.out}`);
      assert.ok(!c.out.includes(PW), `the password is printed:\n${c.out}`);
    });
  }
});
