// SPDX-License-Identifier: Apache-2.0
// /fedauth/status with the sessions in Redis (requirepass): the store's
// kind, db and server as the answering process knows it (up), with no
// Redis password anywhere in the page or the JSON; Redis stopped: the
// server shows down with the last connect error, and the failed store
// operations are counted; Redis back: up again. A Redis Cluster: the seed
// and the masters of the answering process's slot map, all slots owned.
// Sentinel: the sentinels and the master they named.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSite, Browser, dump, sleep } from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import {
  startRedis, startCluster, startSentinelGroup, redisAvailable,
} from '../lib/redis.mjs';
import { ONE_PROCESS } from '../lib/hostile.mjs';

const STATUS = '/fedauth/status';
const PW = 'St4tus-redis@pass:w/rd%x';

/**
 * A site whose sessions are in the store these directives name, with
 * FedAuthStatus On behind Require ip 127.0.0.1, and one worker process: the
 * Redis connections the page describes are that process's.
 */
const statusSite = (storeConf) => startSite({
  providers: [{ id: 'test' }],
  serverConf: `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthStatus On
${storeConf}
FedAuthRedisTimeout 1
`,
  extraConf: ONE_PROCESS,
  locationsConf: `<Location /protected>
    AuthType FedAuth
    Require valid-user
</Location>
<Location ${STATUS}>
    Require ip 127.0.0.1
</Location>
`,
});

/** Signs alice in (200), then reads the status as JSON: { body, doc }. */
async function signInThenStatus(base) {
  const a = await new Browser().login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
  assert.equal(a.status, 200, dump(a));
  const r = await new Browser().getOnce(`${base}${STATUS}?format=json`);
  assert.equal(r.status, 200, dump(r));
  return { body: r.body, doc: JSON.parse(r.body) };
}

describe('status: the Redis store', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  let redis;
  let site;
  let base;
  const prot = () => `${base}/protected/env.cgi`;
  const json = async () => {
    const r = await new Browser().getOnce(`${base}${STATUS}?format=json`);
    assert.equal(r.status, 200, dump(r));
    return { body: r.body, doc: JSON.parse(r.body) };
  };
  const html = async () => {
    const r = await new Browser().getOnce(`${base}${STATUS}`);
    assert.equal(r.status, 200, dump(r));
    return r.body;
  };

  before(async () => {
    redis = await startRedis({ requirepass: PW });
    site = await statusSite(`FedAuthSessionStore "redis://:${encodeURIComponent(PW)}@127.0.0.1:${redis.port}/2"
FedAuthRedisPrefix t391:`);
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    await redis?.stop();
    site?.cleanup();
    redis?.cleanup();
  });

  it('after a sign-in: kind redis, db 2, the server up, no password anywhere', async () => {
    const { body, doc } = await signInThenStatus(base);
    assert.equal(doc.store.kind, 'redis');
    assert.equal(doc.store.db, 2);
    assert.equal(doc.store.tls, false);
    assert.equal(doc.store.errors, 0);
    assert.equal(doc.store.fill, undefined, 'the fill of a Redis store is not known without a round trip');
    assert.deepEqual(doc.store.nodes, [{
      host: '127.0.0.1', port: redis.port, role: 'server', state: 'up', last_error: null,
    }]);
    assert.equal(doc.sessions.current, null, 'Redis: not counted');
    assert.equal(doc.sessions.created, 1);
    const page = await html();
    assert.match(page, /Kind <b>redis<\/b>/);
    assert.match(page, new RegExp(`<code>127\\.0\\.0\\.1:${redis.port}</code></td><td>server</td><td class="st-up">up</td>`));
    for (const text of [body, page]) {
      for (const s of [PW, encodeURIComponent(PW), 'St4tus', 'alice']) {
        assert.ok(!text.includes(s), `the status shows ${s}`);
      }
    }
  });

  it('Redis stopped: the server is down with its last error, failed operations counted; back: up', async () => {
    await redis.stop();
    // A request that needs the store: sign-in's state claim fails.
    const r = await new Browser().login(prot(), 'alice', 'alice-pass-1');
    assert.equal(r.status, 503, dump(r));
    const { body, doc } = await json();
    const [n] = doc.store.nodes;
    assert.equal(n.state, 'down', JSON.stringify(doc.store));
    assert.ok(n.last_error && n.last_error.includes(`127.0.0.1:${redis.port}`), n.last_error);
    assert.ok(doc.store.errors >= 1);
    assert.ok(!body.includes(PW) && !body.includes(encodeURIComponent(PW)));
    assert.match(await html(), /class="st-down">down<\/td>/);

    await redis.start();
    await sleep(1100); // past the store's one-second back-off
    const again = await new Browser().login(prot(), 'alice', 'alice-pass-1');
    assert.equal(again.status, 200, dump(again));
    assert.equal((await json()).doc.store.nodes[0].state, 'up');
  });

  it('no crash or sanitizer report in the error log', () => {
    assert.deepEqual(site.troubles(), []);
  });
});

// Redis Cluster and Sentinel: each group started, a site on it, what the
// page says of the servers after a sign-in.
const GROUPS = [
  {
    name: 'a Redis Cluster store',
    start: () => startCluster({ masters: 3, replicasPerMaster: 0 }),
    storeConf: (g) => `FedAuthSessionStore redis-cluster://127.0.0.1:${g.seedPort}`,
    title: 'after a sign-in: kind redis-cluster, the seed, and the masters with all 16384 slots',
    async check(store, g) {
      assert.equal(store.kind, 'redis-cluster');
      assert.deepEqual(store.nodes.filter((n) => n.role === 'seed').map((n) => n.port), [g.seedPort]);
      const nodes = store.nodes.filter((n) => n.role === 'node');
      const masters = (await g.masters()).map((m) => m.port).sort();
      assert.deepEqual(nodes.filter((n) => n.slots > 0).map((n) => n.port).sort(), masters);
      assert.equal(nodes.reduce((sum, n) => sum + n.slots, 0), 16384);
      for (const n of nodes) assert.equal(n.state, 'up');
    },
  },
  {
    name: 'a Redis Sentinel store',
    start: () => startSentinelGroup({ replicas: 0, sentinels: 1 }),
    storeConf: (g) => `FedAuthSessionStore redis-sentinel://${g.sentinelHosts}/${g.masterName}/4`,
    title: 'after a sign-in: kind redis-sentinel, its master name, the sentinel and the master it named, up',
    check(store, g) {
      assert.equal(store.kind, 'redis-sentinel');
      assert.equal(store.master_name, g.masterName);
      assert.equal(store.db, 4);
      assert.deepEqual(store.nodes.map((n) => [n.role, n.port, n.state]), [
        ...g.sentinels.map((x) => ['sentinel', x.port, 'up']),
        ['master', g.master.port, 'up'],
      ]);
    },
  },
];

for (const G of GROUPS) {
  describe(`status: ${G.name}`, { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
    let g;
    let site;

    before(async () => {
      g = await G.start();
      site = await statusSite(G.storeConf(g));
    });
    after(async () => {
      await site?.stop();
      await g?.stop();
      site?.cleanup();
      g?.cleanup();
    });

    it(G.title, async () => {
      const { doc } = await signInThenStatus(site.base);
      await G.check(doc.store, g);
      const page = await new Browser().getOnce(`${site.base}${STATUS}`);
      assert.ok(page.body.includes(`Kind <b>${doc.store.kind}</b>`));
    });

    it('no crash or sanitizer report in the error log', () => {
      assert.deepEqual(site.troubles(), []);
    });
  });
}
