// SPDX-License-Identifier: Apache-2.0
// The harness of the 3xx suites on its own (no httpd): t/lib/redis.mjs
// (redis-server started and stopped by PID, data kept over a restart with
// appendonly, wiped on request, requirepass, SIGSTOP/SIGCONT) and the test
// IdP's POST /_admin/sign (t/lib/cluster.mjs signAtIdp), whose tokens
// verify with the IdP's published keys.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { startIdp, clientFor, waitForPort } from '../lib/index.mjs';
import { verifyIdToken } from '../lib/rp.mjs';
import { startRedis, redisAvailable, redisCli, waitUntil } from '../lib/redis.mjs';
import { logoutClaims, signAtIdp, BACKCHANNEL_EVENT } from '../lib/cluster.mjs';

describe('t/lib/redis.mjs', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  const started = [];
  after(async () => {
    for (const r of started) { await r.stop(); r.cleanup(); }
  });

  it('appendonly: data survives stop/start on the same port; start({ wipe: true }) comes back empty', async () => {
    const r = await startRedis({ appendonly: true });
    started.push(r);
    assert.equal(await r.cli(['SET', 'k', 'v'], { db: 3 }), 'OK');
    const pid = r.pid;
    const info = await r.stop();
    assert.equal(info.signal === 'SIGTERM' || info.code === 0, true, JSON.stringify(info));
    assert.equal(r.running(), false);
    assert.equal(await waitForPort(r.port, 300), false, 'port closed');
    await r.start();
    assert.notEqual(r.pid, pid);
    assert.equal(await r.cli(['GET', 'k'], { db: 3 }), 'v');
    await r.stop();
    await r.start({ wipe: true });
    assert.equal(await r.cli(['DBSIZE'], { db: 3 }), '0');
  });

  it('requirepass: the handle authenticates, redis-cli without a password gets NOAUTH', async () => {
    const r = await startRedis({ requirepass: 'p@ss w:rd' });
    started.push(r);
    assert.equal(await r.cli(['PING']), 'PONG');
    const out = await redisCli(r.port, ['GET', 'x']);
    assert.match(out, /NOAUTH/);
  });

  it('pause (SIGSTOP) makes commands time out; resume (SIGCONT) brings it back', async () => {
    const r = await startRedis();
    started.push(r);
    r.pause();
    await assert.rejects(redisCli(r.port, ['PING'], { timeoutMs: 500 }), /timed out/);
    r.resume();
    assert.equal(await waitUntil(async () => (await r.cli(['PING'])) === 'PONG', { timeoutMs: 3000 }), true);
  });

  it('waitUntil is bounded', async () => {
    const t = Date.now();
    assert.equal(await waitUntil(() => false, { timeoutMs: 300, intervalMs: 50 }), undefined);
    assert.ok(Date.now() - t < 1000);
  });

  it('stop() removes nothing but the process; cleanup() removes the temp dir', async () => {
    const r = await startRedis();
    await r.stop();
    assert.ok(fs.existsSync(r.dir));
    r.cleanup();
    if (!process.env.FEDAUTH_KEEP_TMP) assert.ok(!fs.existsSync(r.dir));
  });
});

describe('test IdP: POST /_admin/sign', () => {
  let idp;
  const clients = [
    clientFor({ id: 'rs', httpdBase: 'http://127.0.0.1:9' }),
    clientFor({ id: 'es', httpdBase: 'http://127.0.0.1:9', alg: 'ES256' }),
    clientFor({ id: 'hs', httpdBase: 'http://127.0.0.1:9', alg: 'HS256' }),
  ];
  after(async () => { await idp?.stop(); idp?.cleanup(); });

  it('signs exactly the claims given, with the key of the client\'s alg, typ logout+jwt; verifiable with the JWKS', async () => {
    idp = await startIdp({ clients, users: [] });
    const meta = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
    for (const cl of clients) {
      const claims = logoutClaims(idp, cl.client_id, { sub: 's-1', sid: 'sid-1', extra: '{issuer}/x' });
      const token = await signAtIdp(idp, cl.client_id, claims);
      const { header, payload } = await verifyIdToken(meta, token, { clientSecret: cl.client_secret });
      assert.equal(header.alg, cl.id_token_signed_response_alg);
      assert.equal(header.typ, 'logout+jwt');
      assert.deepEqual(payload, { ...claims, extra: `${idp.issuer}/x` });
      assert.deepEqual(payload.events, { [BACKCHANNEL_EVENT]: {} });
    }
  });

  it('an unknown client is refused', async () => {
    await assert.rejects(signAtIdp(idp, 'nope', { sub: 'x' }), /400/);
  });
});
