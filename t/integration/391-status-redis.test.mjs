// /fedauth/status with the sessions in Redis (requirepass): the store's
// kind, db and server as the answering process knows it (up), with no
// Redis password anywhere in the page or the JSON; Redis stopped: the
// server shows down with the last connect error, and the failed store
// operations are counted; Redis back: up again. A Redis Cluster: the seed
// and the masters of the answering process's slot map, all slots owned.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSite, Browser, dump, sleep } from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { startRedis, startCluster, redisAvailable } from '../lib/redis.mjs';
import { ONE_PROCESS } from '../lib/hostile.mjs';

const STATUS = '/fedauth/status';
const PW = 'St4tus-redis@pass:w/rd%x';

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
    site = await startSite({
      providers: [{ id: 'test' }],
      // One worker process: the Redis connections the page describes are
      // that process's.
      serverConf: `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthStatus On
FedAuthSessionStore "redis://:${encodeURIComponent(PW)}@127.0.0.1:${redis.port}/2"
FedAuthRedisPrefix t391:
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
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    await redis?.stop();
    site?.cleanup();
    redis?.cleanup();
  });

  it('after a sign-in: kind redis, db 2, the server up, no password anywhere', async () => {
    const a = await new Browser().login(prot(), 'alice', 'alice-pass-1');
    assert.equal(a.status, 200, dump(a));
    const { body, doc } = await json();
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

describe('status: a Redis Cluster store', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  let g;
  let site;
  let base;

  before(async () => {
    g = await startCluster({ masters: 3, replicasPerMaster: 0 });
    site = await startSite({
      providers: [{ id: 'test' }],
      serverConf: `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthStatus On
FedAuthSessionStore redis-cluster://127.0.0.1:${g.seedPort}
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
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    await g?.stop();
    site?.cleanup();
    g?.cleanup();
  });

  it('after a sign-in: kind redis-cluster, the seed, and the masters with all 16384 slots', async () => {
    const a = await new Browser().login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(a.status, 200, dump(a));
    const r = await new Browser().getOnce(`${base}${STATUS}?format=json`);
    assert.equal(r.status, 200, dump(r));
    const { store } = JSON.parse(r.body);
    assert.equal(store.kind, 'redis-cluster');
    assert.deepEqual(store.nodes.filter((n) => n.role === 'seed').map((n) => n.port), [g.seedPort]);
    const nodes = store.nodes.filter((n) => n.role === 'node');
    const masters = (await g.masters()).map((m) => m.port).sort();
    assert.deepEqual(nodes.filter((n) => n.slots > 0).map((n) => n.port).sort(), masters);
    assert.equal(nodes.reduce((s, n) => s + n.slots, 0), 16384);
    for (const n of nodes) assert.equal(n.state, 'up');
    const page = await new Browser().getOnce(`${base}${STATUS}`);
    assert.match(page.body, /Kind <b>redis-cluster<\/b>/);
  });

  it('no crash or sanitizer report in the error log', () => {
    assert.deepEqual(site.troubles(), []);
  });
});
