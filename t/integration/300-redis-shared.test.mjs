// SPDX-License-Identifier: Apache-2.0
// issue5.md: two httpd hosts (same provider config and FedAuthSecret) share
// one real redis-server. A session made on A works on B (the browser sends
// its 127.0.0.1 cookies to both ports), /fedauth/logout on A ends it on B
// at once; every key carries FedAuthRedisPrefix and lives in the chosen
// /db; no key or value holds the cookie; the login state travels in the
// state cookie (nothing in Redis until the IdP vouched for the sign-in,
// then one "used" mark per state), and exactly one of two identical
// callbacks reaching both hosts at once makes a session; connections are
// kept and reused.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  Browser, parseEnv, dump, discovery, errorCodes, SESSION_COOKIE, sessionCookiesSet, signOut,
} from '../lib/index.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';
import { startHosts } from '../lib/cluster.mjs';

const PREFIX = 't300:';
const DB = 5;
const IDLE = 600;

describe('two hosts share one Redis', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  let redis;
  let c;
  let A;
  let B;
  let meta;

  before(async () => {
    redis = await startRedis();
    c = await startHosts({
      hosts: 2,
      storeConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/${DB}
FedAuthRedisPrefix "${PREFIX}"
FedAuthRedisTimeout 1
FedAuthSessionIdleTimeout ${IDLE}`,
    });
    [A, B] = c.bases;
    meta = await discovery(c.idp.issuer);
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  const prot = (base) => `${base}/protected/env.cgi`;
  const b = new Browser();
  let cookie;

  it('sign in on A: nothing in Redis while the browser is at the IdP; after the callback one used-state mark (<prefix>l:<32 chars>, TTL <= 660 s)', async () => {
    const toCallback = await b.login(prot(A), 'alice', 'alice-pass-1', { stopAt: (u) => u.startsWith(`${A}/signin-test`) });
    assert.ok(toCallback.stoppedAt, dump(toCallback));
    assert.deepEqual(await redis.keys(DB), [], 'starting a sign-in writes no key');
    const r = await b.get(toCallback.stoppedAt);
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.url, prot(A));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    cookie = b.jar.get(SESSION_COOKIE)?.value;
    assert.ok(cookie, 'session cookie set');
    const lkeys = await redis.keys(DB, `${PREFIX}l:*`);
    assert.equal(lkeys.length, 1, `used-state marks: ${lkeys.join(' ')}`);
    assert.match(lkeys[0], new RegExp(`^${PREFIX}l:[A-Za-z0-9_-]{32}$`));
    assert.equal(await redis.cli(['GET', lkeys[0]], { db: DB }), '1');
    const ttl = Number(await redis.cli(['TTL', lkeys[0]], { db: DB }));
    assert.ok(ttl > 0 && ttl <= 660, `TTL ${ttl}`);
  });

  it(`every key carries the prefix "${PREFIX}" and lives in db ${DB}; the session key has the idle TTL; no key or value holds the cookie`, async () => {
    assert.ok(cookie, 'signed in');
    const keys = await redis.keys(DB);
    assert.ok(keys.length > 0, 'keys in db 5');
    for (const k of keys) assert.ok(k.startsWith(PREFIX), `key without the prefix: ${k}`);
    const skeys = keys.filter((k) => k.startsWith(`${PREFIX}s:`));
    assert.equal(skeys.length, 1, `session keys: ${keys.join(' ')}`);
    assert.match(skeys[0], new RegExp(`^${PREFIX}s:[A-Za-z0-9_-]{22}$`));
    const ttl = Number(await redis.cli(['TTL', skeys[0]], { db: DB }));
    assert.ok(ttl > IDLE - 30 && ttl <= IDLE, `session TTL ${ttl}, idle timeout ${IDLE}`);
    for (const k of keys) {
      if (!/^[isl]:/.test(k.slice(PREFIX.length))) assert.fail(`unexpected key kind: ${k}`);
    }
    // only db 5 has keys
    const ks = await redis.info('keyspace');
    assert.deepEqual(Object.keys(ks), [`db${DB}`], JSON.stringify(ks));
    // the cookie (and each longer part of it) appears in no key and no value
    const parts = [cookie, ...cookie.split(/[.~|:]/).filter((p) => p.length >= 16)];
    for (const k of keys) {
      for (const p of parts) assert.ok(!k.includes(p), `key ${k} holds the cookie`);
      const type = await redis.cli(['TYPE', k], { db: DB });
      let values;
      if (type === 'string') values = [await redis.cli(['GET', k], { db: DB })];
      else if (type === 'zset') {
        // an index of a user's sessions: bounded (FedAuthMaxSessionsPerUser) and expiring
        values = (await redis.cli(['ZRANGE', k, '0', '-1'], { db: DB })).split('\n');
        assert.ok(values.length <= 20, `index ${k} holds ${values.length} members`);
        assert.ok(Number(await redis.cli(['TTL', k], { db: DB })) > 0, `index ${k} has no TTL`);
      } else assert.fail(`key ${k} has type ${type}`);
      for (const v of values) for (const p of parts) assert.ok(!v.includes(p), `value of ${k} holds the cookie`);
    }
  });

  it('the cookie works on B: same user, no new sign-in', async () => {
    assert.ok(cookie, 'signed in');
    const r = await b.getOnce(prot(B));
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    const s = await b.getOnce(`${B}/fedauth/session`);
    assert.equal(s.status, 200, dump(s));
    assert.equal(JSON.parse(s.body).user, 'alice');
  });

  it('connections are kept and reused: 40 requests across both hosts open at most 8 new connections', async () => {
    assert.ok(cookie, 'signed in');
    // warm every worker process up first
    for (let i = 0; i < 8; i++) await b.getOnce(prot(i % 2 ? B : A));
    const before = Number((await redis.info('stats')).total_connections_received);
    for (let i = 0; i < 40; i++) {
      const r = await b.getOnce(prot(i % 2 ? B : A));
      assert.equal(r.status, 200, dump(r));
    }
    const after = Number((await redis.info('stats')).total_connections_received);
    // the harness's own redis-cli INFO counts as one
    assert.ok(after - before <= 9, `${after - before} new Redis connections for 40 requests`);
  });

  it('/fedauth/logout on A: the session key is deleted and B refuses the old cookie at once', async () => {
    assert.ok(cookie, 'signed in');
    const out = await signOut(b, `${A}/fedauth/logout`);
    assert.ok([200, 302, 303].includes(out.status), dump(out));
    assert.deepEqual(await redis.keys(DB, `${PREFIX}s:*`), [], 'session key gone');
    const old = new Browser();
    old.jar.set(B, SESSION_COOKIE, cookie);
    const r = await old.getOnce(prot(B));
    assert.equal(r.status, 302, dump(r));
    assert.ok(r.location.startsWith(meta.authorization_endpoint), `B sends the browser to sign in: ${r.location}`);
    const s = await old.getOnce(`${B}/fedauth/session`);
    assert.equal(s.status, 401, dump(s));
    // and the browser that logged out is sent to sign in on B as well
    const again = await b.getOnce(prot(B));
    assert.equal(again.status, 302, dump(again));
    assert.ok(again.location.startsWith(meta.authorization_endpoint), again.location);
  });

  // Both hosts open the state cookie; the first to claim the state in
  // Redis sends the code to the IdP, the other is refused before it does
  // (a real IdP refuses both of a code sent twice at once).
  it('the same callback reaching A and B at once: exactly one session, the other gets state_mismatch', async () => {
    const x = new Browser();
    const toCallback = await x.login(prot(A), 'bob', 'bob-pass-2', { stopAt: (u) => u.startsWith(`${A}/signin-test`) });
    assert.ok(toCallback.stoppedAt, dump(toCallback));
    const cb = new URL(toCallback.stoppedAt);
    const onB = `${B}${cb.pathname}${cb.search}`;
    const [ra, rb] = await Promise.all([x.request(cb.href), x.request(onB)]);
    const ok = [ra, rb].filter((r) => r.status === 302 && sessionCookiesSet(r.setCookies).length === 1);
    const refused = [ra, rb].filter((r) => r.status >= 400 && r.status < 500 && errorCodes(r.body).includes('state_mismatch'));
    assert.equal(ok.length, 1, `exactly one session:\nA: ${dump(ra)}\nB: ${dump(rb)}`);
    assert.equal(refused.length, 1, `the other refused with state_mismatch:\nA: ${dump(ra)}\nB: ${dump(rb)}`);
    assert.equal((await redis.keys(DB, `${PREFIX}s:*`)).length, 1);
  });

  it('httpd A and B stop cleanly; no crash lines in their error logs', async () => {
    for (const h of c.hosts) {
      const info = await h.stop();
      assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    }
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs()}`);
  });
});
