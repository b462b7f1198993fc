// SPDX-License-Identifier: Apache-2.0
// Many users at once in the embedded store (issue 15): 500 distinct users
// signed in to a store sized for them all keep their sessions; a store too
// small for everyone ends the sessions not used lately (not those in use) and
// says so once; one user signing in again and again ends only their own
// oldest sessions (FedAuthMaxSessionsPerUser); sessions outlive a graceful
// and a full restart of httpd.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, protectedLocation, sleep, signOut,
} from '../lib/index.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';

/** n users user0001.. with ordinary claims (about 6 attributes, groups). */
function manyUsers(n) {
  const out = [];
  for (let i = 1; i <= n; i++) {
    const id = String(i).padStart(4, '0');
    out.push({
      username: `user${id}`,
      password: `pass-${id}`,
      claims: {
        sub: `sub-${id}-${'x'.repeat(20)}`,
        email: `user${id}@example.org`,
        email_verified: true,
        preferred_username: `user${id}`,
        name: `User Number ${id}`,
        given_name: 'User',
        family_name: `Number ${id}`,
        locale: 'en-GB',
        groups: ['staff', 'readers'],
      },
    });
  }
  return out;
}

const CLAIMS = `    ClaimMap name NAME
    ClaimMap preferred_username LOGIN
    GroupsClaim groups
    GroupMap staff staff
    GroupMap readers reader
`;

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

/** Signs in user i in a fresh browser: the browser, after a 200. */
async function signIn(site, users, i) {
  const b = new Browser();
  const r = await b.login(`${site.base}/protected/env.cgi`, users[i].username, users[i].password);
  assert.equal(r.status, 200, dump(r));
  assert.equal(parseEnv(r.body).REMOTE_USER, users[i].username);
  return b;
}

/** 1 when the browser's session still answers 200 as its user. */
async function stillIn(site, b, user) {
  const r = await b.getOnce(`${site.base}/protected/env.cgi`);
  return r.status === 200 && parseEnv(r.body).REMOTE_USER === user;
}

const lines = (site, re) => site.errorLog().split('\n').filter((l) => re.test(l));

describe('500 distinct users in a store sized for them (shm:1M)', () => {
  const users = manyUsers(500);
  let site;
  let browsers;

  before(async () => {
    site = await startSite({
      providers: [{ id: 'test', extra: CLAIMS }],
      users,
      serverConf: 'FedAuthSessionStore shm:1M\n',
    });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('all 500 sign in, 8 at a time', async () => {
    browsers = await pool(users.length, 8, (i) => signIn(site, users, i));
    assert.equal(browsers.length, 500);
  });

  it('every one of the 500 sessions still answers 200, asked in order and then again in reverse', async () => {
    let lost = 0;
    for (let i = 0; i < users.length; i++) lost += !(await stillIn(site, browsers[i], users[i].username));
    for (let i = users.length - 1; i >= 0; i--) lost += !(await stillIn(site, browsers[i], users[i].username));
    assert.equal(lost, 0, `${lost} of 1000 answers were not 200`);
  });

  it('the store made no room and said nothing of being full', () => {
    assert.deepEqual(lines(site, /FA00107/), []);
    assert.deepEqual(lines(site, /FA00208|FA00207/), [], 'every session indexed');
    assert.deepEqual(site.troubles(), []);
  });
});

describe('a store too small for everyone (shm:256K)', () => {
  const users = manyUsers(220);
  let site;
  let started;
  const browsers = [];

  before(async () => {
    site = await startSite({
      providers: [{ id: 'test', extra: CLAIMS }],
      users,
      serverConf: 'FedAuthSessionStore shm:256K\n',
    });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('220 users sign in while the first 10 keep using the site: those 10 stay signed in, the '
    + 'sessions not used since their sign-in go oldest first, the most recent ones stay', async () => {
    started = Date.now();
    const spans = []; // each sign-in's start and end (ms), on the server's clock
    for (let i = 0; i < users.length; i++) {
      const t0 = Date.now();
      browsers.push(await signIn(site, users, i));
      spans.push([t0, Date.now()]);
      if (i >= 10 && i % 10 === 0) {
        for (let k = 0; k < 10; k++) {
          assert.ok(await stillIn(site, browsers[k], users[k].username), `active user ${k} lost after ${i} sign-ins`);
        }
      }
    }
    const kept = [];
    for (let i = 0; i < users.length; i++) kept.push(await stillIn(site, browsers[i], users[i].username));
    const keptCount = kept.filter(Boolean).length;
    assert.ok(keptCount >= 120 && keptCount < 220, `${keptCount} of 220 kept`);
    for (let k = 0; k < 10; k++) assert.ok(kept[k], `active user ${k} kept`);
    // The store notes uses by the second: a sign-in whose first page came in
    // a later second than the session's write has used its session since it
    // took its place, so it may outlive older idle ones (a second chance).
    // Every other idle session goes in the order it was written: below the
    // last one lost, only those may be kept.
    const sec = (t) => Math.floor(t / 1000);
    const usedSince = (i) => sec(spans[i][0]) !== sec(spans[i][1]);
    const lastLost = kept.lastIndexOf(false);
    assert.ok(lastLost >= 10, 'some idle sessions went');
    for (let i = 10; i <= lastLost; i++) {
      assert.ok(!kept[i] || usedSince(i),
        `user ${i} kept although not used since its sign-in and older than lost user ${lastLost}`);
    }
  });

  it('the log says the store is full once (not per request), with a hint, and that it ran above 90% once', () => {
    // at most one a minute
    const full = lines(site, /FA00107/);
    const minutes = Math.floor((Date.now() - started) / 60000);
    assert.ok(full.length >= 1 && full.length <= 1 + minutes, full.join('\n'));
    assert.match(full[0], /session store full: \d+ entries ended early to make room .*those not used lately first.*FedAuthSessionStore shm:<size>/);
    const high = lines(site, /FA00108/);
    assert.ok(high.length >= 1 && high.length <= 1 + minutes, high.join('\n'));
    assert.match(high[0], /session store (9\d|100)% full/);
  });
});

describe('one user signing in again and again (FedAuthMaxSessionsPerUser 3)', () => {
  let site;

  before(async () => {
    site = await startSite({
      providers: [{ id: 'test' }],
      serverConf: 'FedAuthMaxSessionsPerUser 3\n',
    });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('a fourth session of alice ends her oldest one only: her other three and bob\'s stay', async () => {
    const bob = new Browser();
    assert.equal((await bob.login(`${site.base}/protected/env.cgi`, 'bob', 'bob-pass-2')).status, 200);
    const alice = [];
    for (let i = 0; i < 4; i++) {
      const b = new Browser();
      const r = await b.login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1');
      assert.equal(r.status, 200, dump(r));
      alice.push(b);
    }
    const first = await alice[0].getOnce(`${site.base}/protected/env.cgi`);
    assert.equal(first.status, 302, 'the oldest session went: back to sign-in');
    for (let i = 1; i < 4; i++) assert.ok(await stillIn(site, alice[i], 'alice'), `session ${i} kept`);
    assert.ok(await stillIn(site, bob, 'bob@example.org'), 'bob kept');
    const l = lines(site, /FA00220/);
    assert.equal(l.length, 1, site.errorLog());
    assert.match(l[0], /alice signed in through test with more than 3 sessions \(FedAuthMaxSessionsPerUser\): the oldest 1 ended/);
  });

  it('twenty more sign-ins of alice: still three sessions, one log line each, no index failure', async () => {
    const last = [];
    for (let i = 0; i < 20; i++) {
      const b = new Browser();
      assert.equal((await b.login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1')).status, 200);
      last.push(b);
    }
    let live = 0;
    for (const b of last) live += await stillIn(site, b, 'alice');
    assert.equal(live, 3);
    assert.equal(lines(site, /FA00220/).length, 21);
    assert.deepEqual(lines(site, /FA00208|FA00207/), []);
  });
});

describe('the same bound with Redis (FedAuthMaxSessionsPerUser 3)', { skip: !redisAvailable() && 'redis-server not installed' }, () => {
  const DB = 7;
  let redis;
  let site;

  before(async () => {
    redis = await startRedis();
    site = await startSite({
      providers: [{ id: 'test' }],
      serverConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/${DB}\nFedAuthMaxSessionsPerUser 3\n`,
    });
  });
  after(async () => {
    await site?.stop();
    await redis?.stop();
    site?.cleanup();
    redis?.cleanup();
  });

  it('five sessions of alice: her two oldest end, bob\'s stays; her index holds 3 keys and expires', async () => {
    const bob = new Browser();
    assert.equal((await bob.login(`${site.base}/protected/env.cgi`, 'bob', 'bob-pass-2')).status, 200);
    const alice = [];
    for (let i = 0; i < 5; i++) {
      const b = new Browser();
      assert.equal((await b.login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1')).status, 200);
      alice.push(b);
    }
    await sleep(1200); // past FedAuthSessionLocalCache 1 of the other workers
    const live = [];
    for (const b of alice) live.push(await stillIn(site, b, 'alice'));
    assert.deepEqual(live, [false, false, true, true, true]);
    assert.ok(await stillIn(site, bob, 'bob@example.org'));
    const keys = (await redis.cli(['KEYS', 'fedauth:*'], { db: DB })).split('\n').filter(Boolean);
    const sessions = keys.filter((k) => k.startsWith('fedauth:s:'));
    assert.equal(sessions.length, 4, keys.join(' '));
    let indexes = 0;
    for (const k of keys) {
      assert.ok(Number(await redis.cli(['TTL', k], { db: DB })) > 0, `${k} has no TTL`);
      if (!k.startsWith('fedauth:i:')) continue;
      indexes++;
      assert.equal(await redis.cli(['TYPE', k], { db: DB }), 'zset');
      assert.ok(Number(await redis.cli(['ZCARD', k], { db: DB })) <= 3, k);
    }
    assert.ok(indexes >= 2, 'an index for alice and one for bob');
    assert.equal(lines(site, /FA00220/).length, 2, site.errorLog());
  });
});

describe('sessions outlive restarts of httpd (the store is a file in DefaultRuntimeDir)', () => {
  let site;
  let b;

  before(async () => {
    site = await startSite({ providers: [{ id: 'test' }], locationsConf: protectedLocation() });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  /** Sends sig to the httpd parent and waits (bounded) for the log line of the new generation. */
  async function restart(sig) {
    const before = lines(site, /FA00110/).length;
    process.kill(site.httpd.pid, sig);
    for (let i = 0; i < 100 && lines(site, /FA00110/).length <= before; i++) await sleep(100);
    assert.equal(lines(site, /FA00110/).length, before + 1, site.errorLog());
    await sleep(300);
  }

  it('signed in; a graceful restart (SIGUSR1) and a restart (SIGHUP) keep the session', async () => {
    b = new Browser();
    const r = await b.login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.match(lines(site, /FA00110/)[0], /fedauth-sessions\.shm: 64 MiB, room for about \d+ sessions; new/);
    await restart('SIGUSR1');
    assert.match(lines(site, /FA00110/).at(-1), /1 session\(s\) kept from before the restart/);
    assert.ok(await stillIn(site, b, 'alice'), 'after the graceful restart');
    await restart('SIGHUP');
    assert.ok(await stillIn(site, b, 'alice'), 'after the restart');
  });

  it('a logout after the restarts ends the session as before', async () => {
    const r = await signOut(b, `${site.base}/fedauth/logout`, { follow: true });
    assert.equal(r.status, 200, dump(r));
    assert.equal((await b.getOnce(`${site.base}/protected/env.cgi`)).status, 302);
    assert.deepEqual(site.troubles(), []);
  });
});

