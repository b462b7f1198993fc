// SPDX-License-Identifier: Apache-2.0
// Redis by host name: the lookup runs on a thread of its own
// (fa_redis_net.c) and is given up at FedAuthRedisTimeout, so a resolver
// that does not answer costs a request that timeout, not the resolver's own
// (5 s per try and server by default). A name that resolves (localhost)
// signs in through httpd and lists accounts through fedauthctl; a name
// whose DNS server never answers fails in about the timeout. The second
// case needs root: fedauthctl runs in a mount namespace (unshare -m) where
// /etc/resolv.conf names a loopback address on which this test reads DNS
// queries and answers none.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startSite, Browser, dump, parseEnv, protectedLocation } from '../lib/index.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FEDAUTHCTL = process.env.FEDAUTHCTL || path.resolve(here, '../../fedauthctl');

/** fedauthctl.conf for a Redis store at spec (registry in Redis). */
function ctlConf(dir, spec, timeoutMs) {
  const file = path.join(dir, 'fedauthctl.conf');
  fs.writeFileSync(file, [
    'version 1', 'registry redis', `store ${spec}`, 'prefix t312:', `redis_timeout_ms ${timeoutMs}`,
    `cookie_key ${'ab'.repeat(32)}`, 'max_age 3600', 'idle_timeout 600', 'max_sessions 20', 'providers test', '',
  ].join('\n'), { mode: 0o600 });
  return file;
}

/** Runs argv[0] with the rest; resolves { code, out, err, ms }. */
function run(argv, timeout = 30000) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { timeout }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err, ms: Date.now() - t0 });
    });
  });
}

/** Why the namespace case cannot run here, or null. */
function namespaceSkip() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (a mount namespace)';
  try {
    execFileSync('unshare', ['-m', 'true'], { timeout: 5000, stdio: 'ignore' });
  } catch {
    return 'unshare -m is not allowed here';
  }
  return null;
}

describe('Redis by host name', { skip: !redisAvailable() && 'redis-server not installed' }, () => {
  let redis;
  let tmp;

  before(async () => {
    redis = await startRedis();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-t312-'));
  });
  after(async () => {
    await redis?.stop();
    redis?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('redis://localhost:<port>: httpd signs in through it, fedauthctl lists its accounts', async () => {
    const site = await startSite({
      providers: [{ id: 'test' }],
      serverConf: `FedAuthSessionStore redis://localhost:${redis.port}/0\nFedAuthRedisTimeout 1\n`,
      locationsConf: protectedLocation(),
    });
    try {
      const b = new Browser();
      const r = await b.login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1');
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
      assert.equal((await b.getOnce(`${site.base}/protected/env.cgi`)).status, 200);
      assert.ok((await redis.keys(0, 'fedauth:s:*')).length >= 1, 'the session is in that Redis');
      assert.deepEqual(site.troubles(), []);
    } finally {
      await site.stop();
      site.cleanup();
    }
    const conf = ctlConf(tmp, `redis://localhost:${redis.port}/0`, 1000);
    const r = await run([FEDAUTHCTL, '--conf', conf, '--json', 'users', 'list']);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.deepEqual(JSON.parse(r.out), []);
  });

  it('a DNS server that never answers: the lookup gives up at the timeout (1 s), not the resolver\'s 6 s or more', { skip: namespaceSkip() || false }, async () => {
    // a loopback address of its own (two runs never share it), port 53
    const ns = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    const sock = dgram.createSocket('udp4');
    let queries = 0;
    sock.on('message', () => { queries++; });
    await new Promise((resolve, reject) => { sock.once('error', reject); sock.bind(53, ns, resolve); });
    try {
      const resolv = path.join(tmp, 'resolv.conf');
      fs.writeFileSync(resolv, `nameserver ${ns}\noptions timeout:3 attempts:2\n`);
      const conf = ctlConf(tmp, 'redis://cache.fedauth-t312.test:6379/0', 1000);
      const r = await run(['unshare', '-m', 'sh', '-c',
        'mount --bind "$1" /etc/resolv.conf && exec "$2" --conf "$3" users list', 'sh', resolv, FEDAUTHCTL, conf]);
      assert.equal(r.code, 3, `exit ${r.code}\n${r.out}\n${r.err}`);
      assert.match(r.err, /redis cache\.fedauth-t312\.test:6379: name lookup timed out/);
      assert.ok(r.ms >= 900 && r.ms < 3000, `gave up after ${r.ms} ms`);
      assert.ok(queries >= 1, 'the lookup asked the DNS server');
    } finally {
      sock.close();
    }
  });
});
