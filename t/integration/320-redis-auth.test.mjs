// SPDX-License-Identifier: Apache-2.0
// issue5.md, Redis with credentials: requirepass (redis://:pw@host:port)
// and an ACL user (redis://user:pw@host:port), %-encoded; a wrong or
// missing password gives 503 store_unavailable on use and the error log
// says why without printing the password; `apache2 -t` with a redis store
// but no FedAuthSecret fails naming FedAuthSessionStore and file:line and
// shows *** for the password; FedAuthRedisTimeout and store URL syntax.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  Browser, parseEnv, dump, errorCodes, writeHttpdConfig, configTest, requireModule, removeDir,
} from '../lib/index.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';
import { startHosts } from '../lib/cluster.mjs';

// Characters that must be %-encoded in the URL's userinfo.
const ADMIN_PW = 'Adm1n-req@pass:w/rd%x';
const ACL_USER = 'fedauth';
const ACL_PW = 'Acl-Pa55@w:rd/%x';
const WRONG_PW = 'Wr0ngPassw0rdXYZ';
const PREFIX = 't320:';
const enc = encodeURIComponent;

// one httpd host per store URL (same IdP, same FedAuthSecret)
const stores = [
  { name: 'requirepass', url: (p) => `redis://:${enc(ADMIN_PW)}@127.0.0.1:${p}/1` },
  { name: 'ACL user', url: (p) => `redis://${ACL_USER}:${enc(ACL_PW)}@127.0.0.1:${p}/3` },
  { name: 'wrong requirepass password', url: (p) => `redis://:${WRONG_PW}@127.0.0.1:${p}/1`, why: /AUTH/ },
  { name: 'ACL user, wrong password', url: (p) => `redis://${ACL_USER}:${WRONG_PW}@127.0.0.1:${p}/3`, why: /AUTH/ },
  { name: 'no password', url: (p) => `redis://127.0.0.1:${p}/1`, why: /NOAUTH|Authentication required/ },
  { name: 'ACL user without access to the prefix', url: (p) => `redis://elsewhere:${enc(ACL_PW)}@127.0.0.1:${p}/3`, why: /NOPERM|permission/i },
];
const REFUSED = [2, 3, 4, 5];

describe('Redis with requirepass and an ACL user', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  let redis;
  let c;

  before(async () => {
    redis = await startRedis({
      requirepass: ADMIN_PW,
      users: [
        `${ACL_USER} on >${ACL_PW} ~${PREFIX}* +@all`,
        `elsewhere on >${ACL_PW} ~other:* +@all`,
      ],
    });
    c = await startHosts({
      hosts: stores.length,
      storeConf: ({ index }) => `FedAuthSessionStore "${stores[index].url(redis.port)}"
FedAuthRedisPrefix ${PREFIX}
FedAuthRedisTimeout 1`,
    });
    stores.forEach((s, i) => { s.base = c.bases[i]; });
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  it('requirepass (redis://:<%-encoded pw>@host:port/1): sign in, the session works, keys in db 1', async () => {
    const s = stores[0];
    const b = new Browser();
    const r = await b.login(`${s.base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    assert.equal((await b.getOnce(`${s.base}/protected/env.cgi`)).status, 200);
    const keys = await redis.keys(1, `${PREFIX}s:*`);
    assert.equal(keys.length, 1, keys.join(' '));
  });

  it(`ACL user (redis://${ACL_USER}:<%-encoded pw>@host:port/3, ~${PREFIX}* +@all): sign in, the session works, keys in db 3`, async () => {
    const s = stores[1];
    const b = new Browser();
    const r = await b.login(`${s.base}/protected/env.cgi`, 'bob', 'bob-pass-2');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'bob@example.org');
    assert.equal((await b.getOnce(`${s.base}/protected/env.cgi`)).status, 200);
    const keys = await redis.keys(3);
    assert.ok(keys.some((k) => k.startsWith(`${PREFIX}s:`)), keys.join(' '));
    for (const k of keys) assert.ok(k.startsWith(PREFIX), k);
  });

  for (const i of REFUSED) {
    // Starting a sign-in needs no store (the login state is in the state
    // cookie); its callback does, and fails.
    it(`refused credentials: ${stores[i].name} -> a sign-in ends 503 store_unavailable at the callback, public pages 200`, async () => {
      const s = stores[i];
      const r = await new Browser().login(`${s.base}/protected/env.cgi`, 'alice', 'alice-pass-1');
      assert.equal(r.status, 503, dump(r));
      assert.ok(r.url.startsWith(`${s.base}/signin-`), dump(r));
      assert.ok(errorCodes(r.body).includes('store_unavailable'), r.body);
      assert.ok(r.ms < 2000, `took ${r.ms} ms`);
      const pub = await new Browser().getOnce(`${s.base}/somewhere.html`);
      assert.equal(pub.status, 200, dump(pub));
    });
  }

  it('the error logs say why (AUTH / NOAUTH / NOPERM) and never print a password', async () => {
    const logs = c.hosts.map((h) => h.allLogs());
    for (const i of REFUSED) {
      const log = logs[i];
      assert.match(log, stores[i].why, `${stores[i].name}: ${log.slice(-3000)}`);
      assert.match(log, /session store redis unavailable|store_unavailable|cannot claim the state/, log.slice(-3000));
    }
    for (const [i, log] of logs.entries()) {
      for (const pw of [ADMIN_PW, ACL_PW, WRONG_PW, enc(ADMIN_PW), enc(ACL_PW)]) {
        assert.ok(!log.includes(pw), `host ${i} (${stores[i].name}) logs a password:\n${log.split('\n').filter((l) => l.includes(pw)).join('\n')}`);
      }
    }
  });

  it('httpds stop cleanly; no crash lines in the error logs', async () => {
    for (const h of c.hosts) {
      const info = await h.stop();
      assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    }
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs()}`);
  });
});

// ------------------------------------------------------------ apache2 -t

const PROVIDER = `<FedAuthProvider test>
    Issuer        http://127.0.0.1:9
    ClientID      client-test
    ClientSecret  secret-test
    Scopes        "openid email profile"
</FedAuthProvider>`;
const LOCATION = `<Location /protected>
    AuthType FedAuth
    Require valid-user
</Location>`;
const PW = 'Sup3rSecretPw';

describe('apache2 -t with a Redis store', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));

  async function check(conf, { secret = true } = {}) {
    requireModule();
    const { dir, confFile } = await writeHttpdConfig({
      providersConf: `${secret ? 'FedAuthSecret "a long enough test passphrase for config tests"\n' : ''}${conf}\n${PROVIDER}`,
      locationsConf: LOCATION,
    });
    dirs.push(dir);
    const res = await configTest(confFile);
    const lines = fs.readFileSync(confFile, 'utf8').split('\n');
    return {
      res, confFile, out: `${res.stdout}${res.stderr}`, lineOf: (m) => lines.findIndex((l) => l.includes(m)) + 1,
    };
  }
  function assertFileLine(out, confFile, line) {
    const name = path.basename(confFile).replace('.', '\\.');
    const re = new RegExp(`${name}:(\\d+)|line (\\d+) of [^\\s:]*${name}`, 'g');
    const hits = [...out.matchAll(re)].map((m) => Number(m[1] || m[2]));
    assert.ok(hits.includes(line), `names ${path.basename(confFile)}:${line}; got ${hits.join(', ') || 'none'}:\n${out}`);
  }

  it('control: redis:// with FedAuthSecret passes (no Redis needed for -t)', async () => {
    const c = await check(`FedAuthSessionStore redis://fedauth:${PW}@127.0.0.1:6399/2\nFedAuthRedisPrefix app1:\nFedAuthRedisTimeout 0.5`);
    assert.equal(c.res.code, 0, c.out);
    assert.match(c.out, /Syntax OK/);
  });

  it('control: redis-sentinel:// with FedAuthSecret passes', async () => {
    const c = await check('FedAuthSessionStore redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster/1');
    assert.equal(c.res.code, 0, c.out);
  });

  for (const url of [
    `redis://fedauth:${PW}@127.0.0.1:6399/2`,
    `redis://:${PW}@127.0.0.1:6399`,
    `redis-sentinel://fedauth:${PW}@127.0.0.1:26379,127.0.0.1:26380/mymaster/1`,
    'redis://127.0.0.1:6399',
  ]) {
    it(`${url.replace(PW, '<pw>')} without FedAuthSecret: fails naming FedAuthSessionStore and file:line${url.includes(PW) ? ', password shown as ***' : ''}`, async () => {
      const c = await check(`FedAuthSessionStore ${url}`, { secret: false });
      assert.notEqual(c.res.code, 0, c.out);
      assert.doesNotMatch(c.out, /Syntax OK/);
      assert.match(c.out, /FedAuthSessionStore/, c.out);
      assert.match(c.out, /FedAuthSecret/, c.out);
      assertFileLine(c.out, c.confFile, c.lineOf('FedAuthSessionStore'));
      assert.ok(!c.out.includes(PW), `the password is printed:\n${c.out}`);
      if (url.includes(PW)) assert.match(c.out, /\*\*\*/, c.out);
    });
  }

  for (const [what, conf, directive] of [
    ['FedAuthRedisTimeout 0.01 (below 0.05)', 'FedAuthRedisTimeout 0.01', 'FedAuthRedisTimeout'],
    ['FedAuthRedisTimeout 31 (above 30)', 'FedAuthRedisTimeout 31', 'FedAuthRedisTimeout'],
    ['FedAuthRedisTimeout soon', 'FedAuthRedisTimeout soon', 'FedAuthRedisTimeout'],
    ['a port above 65535', `FedAuthSessionStore redis://fedauth:${PW}@127.0.0.1:99999`, 'FedAuthSessionStore'],
    ['two hosts in redis://', 'FedAuthSessionStore redis://127.0.0.1:6379,127.0.0.1:6380', 'FedAuthSessionStore'],
    ['redis-sentinel:// without a master name', 'FedAuthSessionStore redis-sentinel://127.0.0.1:26379', 'FedAuthSessionStore'],
    ['a db that is not a number', 'FedAuthSessionStore redis://127.0.0.1:6379/abc', 'FedAuthSessionStore'],
    ['an unknown scheme', 'FedAuthSessionStore memcache://127.0.0.1:11211', 'FedAuthSessionStore'],
  ]) {
    it(`${what}: apache2 -t fails naming ${directive} and file:line`, async () => {
      const c = await check(conf);
      assert.notEqual(c.res.code, 0, c.out);
      assert.match(c.out, new RegExp(directive), c.out);
      assertFileLine(c.out, c.confFile, c.lineOf(conf.split('\n')[0]));
      assert.ok(!c.out.includes(PW), `the password is printed:\n${c.out}`);
    });
  }

  for (const v of ['0.05', '30', '0.5']) {
    it(`FedAuthRedisTimeout ${v} is accepted`, async () => {
      const c = await check(`FedAuthSessionStore redis://127.0.0.1:6399\nFedAuthRedisTimeout ${v}`);
      assert.equal(c.res.code, 0, c.out);
    });
  }
});
