// SPDX-License-Identifier: Apache-2.0
// issue 23, secret rotation: FedAuthSecret <first> [<older> ...]. Two httpd
// hosts share a real Redis and go through the rolling procedure of
// docs/operating.md by rewriting their FedAuthSecret line and restarting
// (SIGHUP), one host a step ahead of the other, in both orders:
//   [old] -> [old,new] -> [new,old] -> [new]
// At every step the users stay signed in on both hosts; a sign-in begun on
// one host completes on the other; a back-channel logout reaches a session
// made under the older secret; FedAuthMaxSessionsPerUser counts the
// sessions made under it. After [new] alone, a cookie made only under the
// removed secret is refused (to the IdP, /fedauth/session 401, no session
// cookie), while a session moved before keeps working. The embedded shm
// store on one host does the same across SIGHUP. apache2 -t refuses an
// empty value, a too short one, the same secret twice, more than four and
// a second FedAuthSecret line, naming the file and line.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import {
  Browser, parseEnv, dump, discovery, SESSION_COOKIE, sessionCookiesSet, sleep, startSite, protectedLocation,
  writeHttpdConfig, configTest, requireModule, removeDir,
} from '../lib/index.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';
import {
  startHosts, logoutClaims, signAtIdp, postLogoutToken,
} from '../lib/cluster.mjs';
import { defaultUsers, testUser } from '../lib/idp.mjs';

const OLD = `old-${crypto.randomBytes(16).toString('hex')}`;
const NEW = `new-${crypto.randomBytes(16).toString('hex')}`;
const DB = 6;

const count = (text, re) => text.split('\n').filter((l) => re.test(l)).length;

/** Rewrites h's FedAuthSecret line to list and restarts it (SIGHUP), waiting (bounded) for the new generation. */
async function setSecrets(h, list) {
  const line = `FedAuthSecret ${list.map((s) => `"${s}"`).join(' ')}`;
  const conf = fs.readFileSync(h.confFile, 'utf8');
  assert.match(conf, /^FedAuthSecret .*$/m);
  fs.writeFileSync(h.confFile, conf.replace(/^FedAuthSecret .*$/m, line));
  const before = count(h.errorLog(), /FA00111/);
  process.kill(h.pid, 'SIGHUP');
  for (let i = 0; i < 150 && count(h.errorLog(), /FA00111/) <= before; i++) await sleep(100);
  assert.equal(count(h.errorLog(), /FA00111/), before + 1, `${h.base} restarted with ${list.length} secret(s):\n${h.errorLog()}`);
  await sleep(300);
}

/** The user of b's session at base (/fedauth/session), or null; the protected page must agree. */
async function userAt(b, base) {
  const s = await b.getOnce(`${base}/fedauth/session`);
  if (s.status !== 200) return null;
  const r = await b.getOnce(`${base}/protected/env.cgi`);
  assert.equal(r.status, 200, dump(r));
  return parseEnv(r.body).REMOTE_USER;
}

function rotation(ahead) {
  const behind = 1 - ahead;
  describe(`two hosts share Redis; host ${'AB'[ahead]} goes a step ahead`, { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
    let redis;
    let c;
    let meta;
    const alice = new Browser();
    const bob = new Browser(); // signs in under the old secret and never comes back
    const carol = new Browser();
    const dave = [new Browser(), new Browser(), new Browser()];
    const frank = [new Browser(), new Browser()];
    let aliceOld;
    let bobOld;

    before(async () => {
      redis = await startRedis();
      c = await startHosts({
        hosts: 2,
        secret: OLD,
        storeConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/${DB}
FedAuthRedisPrefix "t910:"
FedAuthMaxSessionsPerUser 2
FedAuthMetrics On`,
        locationsConf: `${protectedLocation()}
<Location /fedauth/metrics>
    Require all granted
</Location>
`,
        backchannelHost: ahead,
        users: [...defaultUsers(), testUser('dave', 't910'), testUser('erin', 't910'), testUser('frank', 't910')],
      });
      meta = await discovery(c.idp.issuer);
    });
    after(async () => {
      await c?.stop();
      await redis?.stop();
      c?.cleanup();
      redis?.cleanup();
    });

    const H = () => [c.hosts[ahead], c.hosts[behind]];
    const both = async (b, who) => {
      for (const base of c.bases) assert.equal(await userAt(b, base), who, `${who} on ${base}\n${c.errorLogs().split('\n').filter((l) => /FA0(13|02)/.test(l)).join('\n')}`);
    };
    /** A sign-in started on host `from` (its state sealed there) and finished on host `to`. */
    const across = async (user, pass, from, to) => {
      const b = new Browser();
      const fromBase = c.bases[from];
      const toCb = await b.login(`${fromBase}/protected/env.cgi`, user, pass, { stopAt: (u) => u.startsWith(`${fromBase}/signin-test`) });
      assert.ok(toCb.stoppedAt, dump(toCb));
      const cb = new URL(toCb.stoppedAt);
      const r = await b.get(`${c.bases[to]}${cb.pathname}${cb.search}`);
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, user);
      return b;
    };

    it('[old] on both: alice, bob, carol, dave and frank (each in two browsers) sign in', async () => {
      assert.equal((await alice.login(`${c.base}/protected/env.cgi`, 'alice', 'alice-pass-1')).status, 200);
      assert.equal((await bob.login(`${c.bases[1]}/protected/env.cgi`, 'bob', 'bob-pass-2')).status, 200);
      assert.equal((await carol.login(`${c.base}/protected/env.cgi`, 'carol', 'carol-pass-3')).status, 200);
      for (const d of dave.slice(0, 2)) {
        assert.equal((await d.login(`${c.base}/protected/env.cgi`, 'dave', 'dave-pass-t910')).status, 200);
      }
      for (const f of frank) {
        assert.equal((await f.login(`${c.base}/protected/env.cgi`, 'frank', 'frank-pass-t910')).status, 200);
      }
      aliceOld = alice.jar.get(SESSION_COOKIE).value;
      bobOld = bob.jar.get(SESSION_COOKIE).value;
      await both(alice, 'alice');
    });

    it('step 1, one host at a time: [old,new] (no cookie changes, both hosts accept every session)', async () => {
      await setSecrets(H()[0], [OLD, NEW]);
      await both(alice, 'alice');
      // a sign-in begun on the host behind ([old]) ends on the one ahead, and back
      await across('erin', 'erin-pass-t910', behind, ahead);
      await across('erin', 'erin-pass-t910', ahead, behind);
      await setSecrets(H()[1], [OLD, NEW]);
      await both(alice, 'alice');
      assert.equal(alice.jar.get(SESSION_COOKIE).value, aliceOld, 'the cookie is still the one made under old');
    });

    it('step 2, one host at a time: [new,old]; alice stays signed in on both, her session moves to new', async () => {
      await setSecrets(H()[0], [NEW, OLD]);
      // the host ahead moves alice's session (a new cookie, same id), the
      // host behind ([old,new]) accepts it and moves it back: no one is
      // signed out while the hosts disagree
      for (let i = 0; i < 2; i++) {
        assert.equal(await userAt(alice, c.bases[ahead]), 'alice');
        const moved = alice.jar.get(SESSION_COOKIE).value;
        assert.notEqual(moved, aliceOld, 'a new cookie from the host ahead');
        assert.equal(moved.slice(0, 44), aliceOld.slice(0, 44), 'same session id');
        assert.equal(await userAt(alice, c.bases[behind]), 'alice');
        assert.equal(alice.jar.get(SESSION_COOKIE).value, aliceOld, 'the host behind moves it back to old');
      }
      const m = await new Browser().getOnce(`${c.bases[ahead]}/fedauth/metrics`);
      assert.equal(m.status, 200, dump(m));
      const moved = Number((/^fedauth_sessions_rekeyed_total (\d+)$/m.exec(m.body) || [])[1]);
      assert.ok(moved >= 2, `fedauth_sessions_rekeyed_total on the host ahead: ${moved}`);
      // login state sealed under either first secret completes on the other host
      await across('erin', 'erin-pass-t910', behind, ahead);
      await across('erin', 'erin-pass-t910', ahead, behind);
      await setSecrets(H()[1], [NEW, OLD]);
      await both(alice, 'alice');
      const logs = c.errorLogs();
      assert.ok(count(logs, /FA01301: session of alice moved from an older FedAuthSecret/) >= 1, logs);
      assert.ok(count(logs, /FA01303: FedAuthSecret .* lists 1 older value/) >= 1, logs);
    });

    it('[new,old]: a back-channel logout for carol (session and index made under old) ends her session on both hosts', async () => {
      const token = await signAtIdp(c.idp, c.clients.test.client_id, logoutClaims(c.idp, c.clients.test.client_id, { sub: 'carol-sub-0003' }));
      const r = await postLogoutToken(c.bases[ahead], 'test', token);
      assert.equal(r.status, 200, r.body);
      assert.ok(count(c.errorLogs(), /FA00213: back-channel logout from test ended [1-9]\d* session\(s\) of sub carol-sub-0003/) >= 1, c.errorLogs());
      for (const base of c.bases) {
        const s = await carol.getOnce(`${base}/fedauth/session`);
        assert.equal(s.status, 401, dump(s));
      }
    });

    it('[new,old]: FedAuthMaxSessionsPerUser 2 counts the sessions made under old (the oldest ends)', async () => {
      // dave's two sessions are still under old (his browsers did not come
      // back): a third sign-in, under new, ends the oldest of the three
      assert.equal((await dave[2].login(`${c.bases[ahead]}/protected/env.cgi`, 'dave', 'dave-pass-t910')).status, 200);
      const alive = [];
      for (const d of dave) alive.push(await userAt(d, c.bases[ahead]));
      assert.deepEqual(alive, [null, 'dave', 'dave'], 'the oldest of the three ended');
    });

    it('[new,old]: frank has the most sessions allowed (2, under old); moving his newer one does not end the older', async () => {
      assert.equal(await userAt(frank[1], c.bases[ahead]), 'frank');
      assert.equal(await userAt(frank[0], c.bases[ahead]), 'frank');
      assert.equal(await userAt(frank[1], c.bases[behind]), 'frank');
    });

    it('[new] alone: a cookie made only under the removed secret is refused; moved sessions go on', async () => {
      await setSecrets(H()[0], [NEW]);
      await setSecrets(H()[1], [NEW]);
      await both(alice, 'alice');
      for (const base of c.bases) {
        for (const v of [bobOld, aliceOld]) {
          const x = new Browser();
          x.jar.set(base, SESSION_COOKIE, v);
          const s = await x.getOnce(`${base}/fedauth/session`);
          assert.equal(s.status, 401, dump(s));
          const r = await x.getOnce(`${base}/protected/env.cgi`);
          assert.equal(r.status, 302, dump(r));
          assert.ok(r.location.startsWith(meta.authorization_endpoint), r.location);
          assert.deepEqual(sessionCookiesSet(r.setCookies), [], 'no session cookie');
          assert.deepEqual(sessionCookiesSet(s.setCookies), [], 'no session cookie');
        }
      }
      assert.equal(await userAt(bob, c.base), null, 'bob, who never came back during the rotation, signs in again');
    });

    it('the hosts stop cleanly; no crash lines', async () => {
      for (const h of c.hosts) {
        const info = await h.stop();
        assert.equal(info.signal, null, JSON.stringify(info));
      }
      assert.deepEqual(c.troubles(), [], c.errorLogs());
    });
  });
}

rotation(0);
rotation(1);

describe('the embedded shm store on one host: [old] -> [old,new] -> [new,old] -> [new] across SIGHUP', () => {
  let site;
  const alice = new Browser();
  const bob = new Browser();
  let bobOld;

  before(async () => {
    site = await startSite({ providers: [{ id: 'test' }], locationsConf: protectedLocation(), secret: OLD });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('signed in under old; alice stays in at every step, bob (never back) is refused after [new]', async () => {
    assert.equal((await alice.login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1')).status, 200);
    assert.equal((await bob.login(`${site.base}/protected/env.cgi`, 'bob', 'bob-pass-2')).status, 200);
    bobOld = bob.jar.get(SESSION_COOKIE).value;
    for (const list of [[OLD, NEW], [NEW, OLD]]) {
      await setSecrets(site.httpd, list);
      assert.equal(await userAt(alice, site.base), 'alice', list.join(','));
    }
    await setSecrets(site.httpd, [NEW]);
    assert.equal(await userAt(alice, site.base), 'alice');
    const x = new Browser();
    x.jar.set(site.base, SESSION_COOKIE, bobOld);
    assert.equal((await x.getOnce(`${site.base}/fedauth/session`)).status, 401);
    assert.equal(await userAt(bob, site.base), null);
  });
});

// The request path reads a session without its ID token and reads it
// whole before writing the idle clock back (issue 24); on the request that
// also moves a session made under an older secret, the whole read must
// use the key the session moved to, not check the old cookie again.
describe('shm: a cookie of the older secret on a request that also writes the idle clock back', () => {
  let site;

  before(async () => {
    site = await startSite({
      providers: [{ id: 'test' }], locationsConf: protectedLocation(), secret: OLD,
      serverConf: 'FedAuthSessionIdleTimeout 20',
    });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('signed in under old, [new,old], 2.2 s later the protected page: 200 as alice, one Set-Cookie moves the cookie to new, and she stays signed in', async () => {
    const alice = new Browser();
    assert.equal((await alice.login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1')).status, 200);
    const old = alice.jar.get(SESSION_COOKIE).value;
    await setSecrets(site.httpd, [NEW, OLD]);
    await sleep(2200);
    const r = await alice.getOnce(`${site.base}/protected/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    assert.notEqual(alice.jar.get(SESSION_COOKIE).value, old, 'the cookie moved to the new secret');
    const set = r.setCookies.filter((x) => x.name === SESSION_COOKIE);
    assert.equal(set.length, 1, `one session cookie: ${set.map((x) => x.header).join(' | ')}`);
    assert.equal(await userAt(alice, site.base), 'alice');
  });
});

describe('apache2 -t refuses bad FedAuthSecret lines, naming file and line', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));
  const provider = `<FedAuthProvider test>
    Issuer        http://127.0.0.1:9
    ClientID      client-test
    ClientSecret  secret-test
</FedAuthProvider>`;
  const run = async (secretLines) => {
    requireModule();
    const { dir, confFile } = await writeHttpdConfig({ providersConf: `${secretLines}\n${provider}`, locationsConf: '' });
    dirs.push(dir);
    const res = await configTest(confFile);
    const lines = fs.readFileSync(confFile, 'utf8').split('\n');
    return { res, out: `${res.stdout}${res.stderr}`, name: path.basename(confFile), lines, confFile };
  };
  const long = (s) => `${s}-0123456789abcdef`;

  it('control: one value, and an old and a new one, pass', async () => {
    for (const l of [`FedAuthSecret "${long('a')}"`, `FedAuthSecret "${long('a')}" "${long('b')}"`]) {
      const { res, out } = await run(l);
      assert.equal(res.code, 0, out);
    }
  });

  for (const [what, line, re] of [
    ['an empty value', `FedAuthSecret "${long('a')}" "" "${long('b')}"`, /FedAuthSecret has an empty value/],
    ['an empty value alone', 'FedAuthSecret ""', /FedAuthSecret has an empty value/],
    ['a too short value', `FedAuthSecret "${long('a')}" "short"`, /FedAuthSecret value 2 must be at least 16 characters long/],
    ['the same secret twice', `FedAuthSecret "${long('a')}" "${long('b')}" "${long('a')}"`, /FedAuthSecret value 3 is the same secret as value 1/],
    ['the same secret twice, once from a file', 'FILE', /FedAuthSecret value 2 is the same secret as value 1/],
    ['five values', `FedAuthSecret ${[1, 2, 3, 4, 5].map((i) => `"${long(String(i))}"`).join(' ')}`, /FedAuthSecret takes 1 to 4 values/],
  ]) {
    it(`${what}`, async () => {
      let l = line;
      if (l === 'FILE') {
        const f = path.join(fs.mkdtempSync('/tmp/fedauth-t910-'), 'secret');
        fs.writeFileSync(f, `${long('a')}\n`);
        dirs.push(path.dirname(f));
        l = `FedAuthSecret "${long('a')}" "file:${f}"`;
      }
      const { res, out, name, lines } = await run(l);
      assert.notEqual(res.code, 0, out);
      assert.match(out, re);
      const n = lines.findIndex((x) => x.startsWith('FedAuthSecret')) + 1;
      assert.match(out, new RegExp(`line ${n} of [^\\s:]*${name.replace('.', '\\.')}`), out);
    });
  }

  it('a second FedAuthSecret line: refused at that line, naming the first one', async () => {
    const { res, out, name, lines } = await run(`FedAuthSecret "${long('a')}"\nFedAuthSecret "${long('b')}"`);
    assert.notEqual(res.code, 0, out);
    const first = lines.findIndex((x) => x.startsWith('FedAuthSecret')) + 1;
    assert.match(out, new RegExp(`line ${first + 1} of [^\\s:]*${name.replace('.', '\\.')}`), out);
    assert.match(out, new RegExp(`FedAuthSecret is already set at [^\\s]*${name.replace('.', '\\.')}:${first}: list every secret on one line`), out);
  });
});
