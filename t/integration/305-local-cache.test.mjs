// SPDX-License-Identifier: Apache-2.0
// The per-process copy with a Redis store: a worker reuses a session it
// read until Redis says the key changed (CLIENT TRACKING invalidation
// messages, at most 60 s by default), so requests cost no Redis round
// trip, and yet a session deleted elsewhere (logout on another host,
// back-channel logout) or a Redis outage is noticed at once. Which process
// answers a request is not up to the test, so it asserts what is certain:
// how many GETs reach Redis, and that a deleted session is refused and a
// stopped Redis gives 503 within a fraction of a second.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Browser, parseEnv, dump, sleep, SESSION_COOKIE } from '../lib/index.mjs';
import { startRedis, redisAvailable, waitUntil } from '../lib/redis.mjs';
import { startHosts } from '../lib/cluster.mjs';

const DB = 6;
const N = 60;
const SERVER_LIMIT = 4; // the harness's MPM ServerLimit

async function getCalls(redis) {
  const info = await redis.info('commandstats');
  const m = /calls=(\d+)/.exec(info.cmdstat_get || '');
  assert.ok(m, `no GET counter in INFO commandstats: ${JSON.stringify(info)}`);
  return Number(m[1]);
}

describe('FedAuthSessionLocalCache with Redis', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  let redis;
  let c;
  let base;
  let baseOff;
  const b = new Browser();

  before(async () => {
    redis = await startRedis();
    c = await startHosts({
      hosts: 2,
      // host 0: the default (copies vouched for by Redis); host 1: no copy
      storeConf: ({ index }) => `FedAuthSessionStore redis://127.0.0.1:${redis.port}/${DB}
FedAuthRedisTimeout 0.5
${index === 1 ? 'FedAuthSessionLocalCache 0' : '# FedAuthSessionLocalCache: the default (t/lib/cluster.mjs adds none then)'}`,
    });
    [base, baseOff] = c.bases;
    const r = await b.login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  it(`${N} requests within the window: at most a few GETs reach Redis (one per worker process); without the copy, one per request`, async () => {
    let before = await getCalls(redis);
    const t0 = Date.now();
    for (let i = 0; i < N; i++) {
      const r = await b.getOnce(`${base}/protected/env.cgi`);
      assert.equal(r.status, 200, dump(r));
    }
    const seconds = Math.ceil((Date.now() - t0) / 1000);
    const cached = (await getCalls(redis)) - before;
    before = await getCalls(redis);
    for (let i = 0; i < N; i++) {
      const r = await b.getOnce(`${baseOff}/protected/env.cgi`);
      assert.equal(r.status, 200, dump(r));
    }
    const uncached = (await getCalls(redis)) - before;
    // each worker process (at most SERVER_LIMIT) asks at most once per
    // second of the loop, plus once
    const bound = SERVER_LIMIT * (seconds + 1);
    assert.ok(cached <= bound, `GETs with the local copy: ${cached} for ${N} requests in ${seconds} s (bound ${bound})`);
    assert.ok(uncached >= N, `GETs without the copy: ${uncached} for ${N} requests`);
    assert.ok(cached * 3 <= uncached, `the copy saves most round trips: ${cached} vs ${uncached}`);
  });

  it('the copy outlives a second while nothing changes: after 2 s of quiet, 30 more requests cost no GET', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await b.getOnce(`${base}/protected/env.cgi`)).status, 200);
    await sleep(2000);
    const before = await getCalls(redis);
    for (let i = 0; i < 30; i++) {
      const r = await b.getOnce(`${base}/protected/env.cgi`);
      assert.equal(r.status, 200, dump(r));
    }
    // the same keep-alive connection, so the same worker, which holds a copy
    assert.equal(await getCalls(redis) - before, 0);
  });

  it('a session deleted in Redis (as by a logout elsewhere) is refused at once, by a worker that holds a copy', async () => {
    const cookie = b.jar.get(SESSION_COOKIE)?.value;
    assert.ok(cookie);
    const warm = await b.getOnce(`${base}/protected/env.cgi`);
    assert.equal(warm.status, 200, dump(warm));
    const keys = await redis.keys(DB, 'fedauth:s:*');
    assert.equal(keys.length, 1, keys.join(' '));
    await redis.cli(['DEL', keys[0]], { db: DB });
    await sleep(200);
    for (let i = 0; i < 6; i++) {
      const r = await b.getOnce(`${base}/protected/env.cgi`);
      assert.equal(r.status, 302, `request ${i}: ${dump(r)}`);
      assert.ok(r.location.startsWith(c.idp.issuer), dump(r));
    }
  });

  it('Redis stopped: at once every protected request gets 503; a public page 200', async () => {
    const again = new Browser();
    const r0 = await again.login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r0.status, 200, dump(r0));
    assert.equal(parseEnv(r0.body).REMOTE_USER, 'alice');
    for (let i = 0; i < 5; i++) assert.equal((await again.getOnce(`${base}/protected/env.cgi`)).status, 200);
    await redis.stop();
    await sleep(300);
    for (let i = 0; i < 6; i++) {
      const r = await again.getOnce(`${base}/protected/env.cgi`);
      assert.equal(r.status, 503, `request ${i}: ${dump(r)}`);
      assert.match(r.body, /<code>store_unavailable<\/code>/);
    }
    const pub = await again.getOnce(`${base}/index.html`);
    assert.equal(pub.status, 200, dump(pub));
  });

  it('the listener\'s lines have their own tags: up (FA01713, debug) at start, down (FA01715, warning, once per process) after Redis stopped; none on the host without copies', async () => {
    const [withCopies, without] = c.hosts.map((h) => () => h.errorLog());
    assert.match(withCopies(), /\[fedauth:debug\] .* FA01713: redis invalidation listener up \(client \d+\)/);
    const downRe = /\[fedauth:warn\] .* FA01715: redis invalidation listener down(: .*)?: a copy of a session lasts a second at most until it is back$/;
    const down = await waitUntil(() => withCopies().split('\n').filter((l) => downRe.test(l)).length, { timeoutMs: 3000 });
    assert.ok(down >= 1, withCopies().slice(-3000));
    assert.doesNotMatch(without(), /FA0171[345]/, 'FedAuthSessionLocalCache 0 opens no listener');
    assert.doesNotMatch(withCopies() + without(), /FA00306|FA\d{5}: FA\d{5}/, 'one tag per line');
  });

  it('the error logs have no crash lines', async () => {
    await c.stop();
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs ? c.errorLogs() : ''}`);
  });
});
