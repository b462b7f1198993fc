// SPDX-License-Identifier: Apache-2.0
// Issue 22, claims that stay current: UserInfoRefresh <s> [keep|end] on a
// provider. An active session whose claims are older than <s> reads
// userinfo again with its access token (refreshed first when it expired),
// once across all processes and hosts (the session's refresh lock in the
// store), and is mapped again by the sign-in's rules. What the attacker
// (a user the IdP disabled, removed, or took a role from; an IdP answer
// about someone else) must not get: access or a role past the interval.
// Against the real IdP (oidc-provider): its admin API changes a user's
// groups or removes the user; /_admin/hits counts userinfo calls (/me);
// /_admin/override makes userinfo answer 503 and the token endpoint
// invalid_grant; the userinfo_sub tamper mode answers about another sub.
// Sessions live in a real Redis, where a test ages a session record (its
// creation, last use and last read, written as 0.3.0 wrote them, without
// the 'U' field) instead of waiting for the interval a second time.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, dump, parseEnv, sleep, writeHttpdConfig, configTest, requireModule, removeDir,
  testUser, perProviderLocations,
} from '../lib/index.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';
import { startHosts } from '../lib/cluster.mjs';

const INTERVAL = 30;
const DB = 5;
const IDP_CONFIG = { refreshTokens: { rotate: true } };
const CLIENT = { grant_types: ['authorization_code', 'refresh_token'] };
const GROUPS = `    GroupsClaim groups
    GroupMap staff staff
    GroupMap admins admin
`;
const NO_REDIS = !redisAvailable() && 'redis-server/redis-cli not installed';

// ------------------------------------------------------------ session records

/** The fields of a session record ("FA1\n" then "<tag><len>:<value>\n"), in order. */
function parseRecord(text) {
  assert.ok(text.startsWith('FA1\n'), `not a session record: ${text.slice(0, 20)}`);
  const fields = [];
  let pos = 4;
  while (pos < text.length) {
    const tag = text[pos];
    const colon = text.indexOf(':', pos + 1);
    const n = Number(text.slice(pos + 1, colon));
    fields.push([tag, text.slice(colon + 1, colon + 1 + n)]);
    pos = colon + 1 + n + 1;
  }
  return fields;
}
const encodeRecord = (fields) => `FA1\n${fields.map(([t, v]) => `${t}${Buffer.byteLength(v)}:${v}\n`).join('')}`;
const field = (fields, tag) => fields.find(([t]) => t === tag)?.[1];

/** The store key and fields of the session of user (the 'u' field) under prefix in DB. */
async function sessionOf(redis, prefix, user) {
  const found = [];
  for (const key of await redis.keys(DB, `${prefix}s:*`)) {
    const fields = parseRecord(await redis.cli(['GET', key], { db: DB }));
    if (field(fields, 'u') === user) found.push({ key, fields });
  }
  assert.equal(found.length, 1, `sessions of ${user}: ${found.length}`);
  return found[0];
}

/**
 * Ages the session of user as a record written `by` seconds ago by 0.3.0
 * (created and last use moved back, no 'U' field); expireAccess: its
 * access token expired a second ago. Keeps the key's TTL.
 */
async function age(redis, prefix, user, { by = INTERVAL + 10, expireAccess = false, keepU = false } = {}) {
  const { key, fields } = await sessionOf(redis, prefix, user);
  const then = String(Math.floor(Date.now() / 1000) - by);
  const out = fields.filter(([t]) => keepU || t !== 'U').map(([t, v]) => {
    if (t === 'c' || t === 'l') return [t, then];
    if (t === 'E' && expireAccess) return [t, String(Math.floor(Date.now() / 1000) - 1)];
    return [t, v];
  });
  assert.equal(await redis.cli(['SET', key, encodeRecord(out), 'KEEPTTL'], { db: DB }), 'OK');
  await sleep(100); // Redis's invalidation reaches every process's copy
}

const hitsOf = async (idp, path = '/me') => (await idp.admin('/_admin/hits'))[path] || 0;
const clearHits = (idp) => idp.admin('/_admin/hits/clear', { method: 'POST' });
const refreshGrants = (events) => events.filter((e) => e.event === 'grant.success' && e.grant_type === 'refresh_token');

// --------------------------------------------------------------------- users

const USERS = () => [
  testUser('rita', 'ui', { groups: ['staff'] }),
  testUser('dave', 'ui', { groups: ['staff'] }),
  testUser('kim', 'ui', { groups: ['staff'] }),
  testUser('eve', 'ui', { groups: ['staff'] }),
];

describe('UserInfoRefresh against oidc-provider, sessions in Redis', { skip: NO_REDIS }, () => {
  const PREFIX = 't840:';
  let redis;
  let site;
  let base;
  let idp;
  const b = {};
  let signedInAt = 0;
  const tokens = new Set(); // access and refresh tokens the sessions kept
  const keepTokens = async (user) => {
    const { fields } = await sessionOf(redis, PREFIX, user);
    for (const t of ['A', 'R']) if (field(fields, t)) tokens.add(field(fields, t));
    return fields;
  };

  before(async () => {
    redis = await startRedis();
    site = await startSite({
      idps: [{
        name: 'default',
        users: USERS(),
        idpConfig: IDP_CONFIG,
        providers: [
          { id: 'keep', clientExtra: CLIENT, extra: `UserInfoRefresh ${INTERVAL}\n${GROUPS}` },
          { id: 'end', clientExtra: CLIENT, extra: `UserInfoRefresh ${INTERVAL} end\n${GROUPS}` },
        ],
      }],
      serverConf: `LogLevel warn fedauth:info
FedAuthSessionStore redis://127.0.0.1:${redis.port}/${DB}
FedAuthRedisPrefix "${PREFIX}"
FedAuthMetrics On
FedAuthTokenLogin On`,
      locationsConf: `${perProviderLocations(['keep', 'end'])}
<Location /fedauth/metrics>
    Require all granted
</Location>
`,
    });
    base = site.base;
    idp = site.idp;
  });
  after(async () => {
    await site?.stop();
    await redis?.stop();
    site?.cleanup();
    redis?.cleanup();
  });

  const env = async (user, provider = 'keep') => {
    const r = await b[user].getOnce(`${base}/p/${provider}/env.cgi`);
    return { r, e: r.status === 200 ? parseEnv(r.body) : {} };
  };
  /** The request of a user whose session must have ended: to the IdP, and no session. */
  const assertEnded = async (user, provider) => {
    const { r } = await env(user, provider);
    assert.equal(r.status, 302, `${user} still has access\n${dump(r)}`);
    assert.ok(r.headers.get('location').startsWith(`${idp.issuer}/`), dump(r));
    const s = await b[user].getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 401, `${user}'s session is still there\n${dump(s)}`);
  };

  it('at start, FedAuthTokenLogin On: a warning per provider that its token-login sessions end at their first read (FA01210)', async () => {
    // httpd listens before its post_config has run (and logged) in full:
    // under a sanitizer the test can be here first
    for (let i = 0; i < 100 && !/FA00111/.test(site.httpd.allLogs()); i++) await sleep(100);
    for (const id of ['keep', 'end']) {
      assert.match(site.httpd.allLogs(), new RegExp(`FA01210: provider ${id}: sessions made by token login \\(FedAuthTokenLogin On\\) have no access token: UserInfoRefresh ends them after ${INTERVAL} s`));
    }
  });

  it('four users sign in (roles from their groups); the sign-in reads userinfo once each', async () => {
    for (const [user, provider] of [['rita', 'keep'], ['dave', 'keep'], ['kim', 'keep'], ['eve', 'end']]) {
      b[user] = new Browser();
      const r = await b[user].login(`${base}/p/${provider}/env.cgi`, user, `${user}-pass-ui`);
      assert.equal(r.status, 200, dump(r));
      const e = parseEnv(r.body);
      assert.equal(e.REMOTE_USER, user);
      assert.equal(e.FEDAUTH_ROLES, 'staff');
      // kept for the re-read (without FedAuthPassAccessToken), never passed on
      assert.equal(e.FEDAUTH_ACCESS_TOKEN, undefined);
      assert.ok(field(await keepTokens(user), 'A'), `${user}'s session keeps no access token`);
    }
    signedInAt = Date.now();
    // a fresh session's record is laid out as 0.3.0 wrote it: no 'U' field
    assert.equal(field((await sessionOf(redis, PREFIX, 'rita')).fields, 'U'), undefined);
    await clearHits(idp);
  });

  it('before the interval: a role added and a user removed at the IdP change nothing yet, and userinfo is not called', async () => {
    assert.ok(signedInAt, 'signed in');
    const users = USERS().filter((u) => u.username !== 'dave');
    users.find((u) => u.username === 'rita').claims.groups = ['staff', 'admins'];
    await idp.setUsers(users);
    for (let i = 0; i < 3; i++) {
      assert.equal((await env('rita')).e.FEDAUTH_ROLES, 'staff');
      assert.equal((await env('dave')).r.status, 200, 'dave before the interval');
    }
    assert.ok(Date.now() - signedInAt < INTERVAL * 1000, 'the test took longer than the interval');
    assert.equal(await hitsOf(idp), 0);
  });

  it('after the interval: the new role is in the session, the removed user is out (sign-in again, no session), the others stay; one userinfo call each', async () => {
    assert.ok(signedInAt, 'signed in');
    const wait = signedInAt + INTERVAL * 1000 + 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const rita = await env('rita');
    assert.equal(rita.r.status, 200, dump(rita.r));
    assert.equal(rita.e.FEDAUTH_ROLES, 'admin,staff');
    await assertEnded('dave', 'keep');
    assert.equal((await env('kim')).e.FEDAUTH_ROLES, 'staff');
    assert.equal((await env('eve', 'end')).e.FEDAUTH_ROLES, 'staff');
    assert.equal(await hitsOf(idp), 4, JSON.stringify(await idp.admin('/_admin/hits')));
    // read now: not again before the next interval
    for (const u of ['rita', 'kim']) assert.equal((await env(u)).r.status, 200);
    assert.equal(await hitsOf(idp), 4);
    const log = site.errorLog();
    assert.match(log, /FA01201: claims of rita read again from userinfo at keep: roles "admin,staff"/);
    assert.match(log, /FA01202: keep no longer honours the access token of dave \(idp_bad_response: userinfo answered 401\): the session ends/);
    // the session record now says when it was read
    const u = Number(field((await sessionOf(redis, PREFIX, 'rita')).fields, 'U'));
    assert.ok(Math.abs(u - Date.now() / 1000) < 5, `U ${u}`);
  });

  it('IdP failing (userinfo 503): UserInfoRefresh keep keeps the session and its claims; end ends it', async () => {
    await idp.admin('/_admin/override', {
      method: 'POST', body: { path: '/me', status: 503, contentType: 'text/plain', body: 'down for maintenance' },
    });
    try {
      await age(redis, PREFIX, 'kim');
      await age(redis, PREFIX, 'eve');
      await clearHits(idp);
      const kim = await env('kim');
      assert.equal(kim.r.status, 200, dump(kim.r));
      assert.equal(kim.e.FEDAUTH_ROLES, 'staff');
      await assertEnded('eve', 'end');
      assert.equal(await hitsOf(idp), 2);
      // kept: read again only after the next interval, not at every request
      for (let i = 0; i < 3; i++) assert.equal((await env('kim')).r.status, 200);
      assert.equal(await hitsOf(idp), 2);
      const log = site.errorLog();
      assert.match(log, /FA01206: session of kim: cannot read userinfo at keep again: idp_bad_response: userinfo answered 503; UserInfoRefresh keep: the session goes on/);
      assert.match(log, /FA01206: session of eve: cannot read userinfo at end again: idp_bad_response: userinfo answered 503; UserInfoRefresh end: the session ends/);
    } finally {
      await idp.admin('/_admin/override', { method: 'POST', body: { path: '/me', body: null } });
    }
  });

  it('IdP not answering within FedAuthHTTPTimeout: kept (keep), within the timeout + 1 s', async () => {
    await idp.admin('/_admin/override', {
      method: 'POST', body: { path: '/me', status: 200, body: '{}', delayMs: 10000 },
    });
    try {
      await age(redis, PREFIX, 'kim');
      const t0 = Date.now();
      const kim = await env('kim');
      assert.equal(kim.r.status, 200, dump(kim.r));
      assert.ok(Date.now() - t0 < 4000 + 1000, `took ${Date.now() - t0} ms`);
      assert.match(site.errorLog(), /FA01206: session of kim: cannot read userinfo at keep again: idp_unreachable/);
    } finally {
      await idp.admin('/_admin/override', { method: 'POST', body: { path: '/me', body: null } });
    }
  });

  it('a userinfo answer about another sub ends the session (OIDC Core 5.3.2)', async () => {
    await idp.tamper('userinfo_sub');
    try {
      await age(redis, PREFIX, 'kim');
      await assertEnded('kim', 'keep');
      assert.match(site.errorLog(), /FA01204: session of kim: userinfo is about sub kim-sub-ui-someone-else, the session's is kim-sub-ui at keep: the session ends/);
    } finally {
      await idp.tamper(null);
    }
  });

  it('an expired access token is refreshed first (one refresh_token grant), then userinfo read with the new one', async () => {
    await age(redis, PREFIX, 'rita', { expireAccess: true });
    await idp.clearEvents();
    await clearHits(idp);
    const before = field((await sessionOf(redis, PREFIX, 'rita')).fields, 'A');
    const rita = await env('rita');
    assert.equal(rita.r.status, 200, dump(rita.r));
    assert.equal(rita.e.FEDAUTH_ROLES, 'admin,staff');
    assert.equal(refreshGrants(await idp.events()).length, 1, JSON.stringify(await idp.events()));
    assert.equal(await hitsOf(idp), 1);
    const after = await keepTokens('rita');
    assert.notEqual(field(after, 'A'), before, 'the access token was not refreshed');
    assert.ok(Number(field(after, 'E')) > Date.now() / 1000, 'its expiry');
  });

  it('the IdP refuses the refresh (invalid_grant): the session ends, userinfo is not asked', async () => {
    await idp.admin('/_admin/override', {
      method: 'POST',
      body: {
        path: '/token', method: 'POST', status: 400,
        body: JSON.stringify({ error: 'invalid_grant', error_description: 'grant revoked (test)' }),
      },
    });
    try {
      await age(redis, PREFIX, 'rita', { expireAccess: true });
      await clearHits(idp);
      await assertEnded('rita', 'keep');
      assert.equal(await hitsOf(idp), 0);
      assert.match(site.errorLog(), /FA01202: keep no longer honours the access token of rita \(token_error: .*error=invalid_grant/);
    } finally {
      await idp.admin('/_admin/override', { method: 'POST', body: { path: '/token', body: null } });
    }
  });

  it('metrics count the re-reads by outcome; no token in the error log', async () => {
    const r = await new Browser().getOnce(`${base}/fedauth/metrics`);
    assert.equal(r.status, 200, dump(r));
    const count = (provider, outcome) => {
      const m = new RegExp(`^fedauth_userinfo_refreshes_total\\{provider="${provider}",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(r.body);
      assert.ok(m, `no series for ${provider}/${outcome}\n${r.body}`);
      return Number(m[1]);
    };
    assert.equal(count('keep', 'ok'), 3, 'rita twice, kim once');
    assert.equal(count('keep', 'invalid_token'), 2);
    assert.equal(count('keep', 'sub_mismatch'), 1);
    assert.equal(count('keep', 'failed_kept'), 2);
    assert.equal(count('end', 'ok'), 1);
    assert.equal(count('end', 'failed_ended'), 1);
    assert.equal(count('end', 'failed_kept'), 0);
    const log = site.errorLog();
    assert.ok(tokens.size >= 5, `tokens seen: ${tokens.size}`);
    for (const t of tokens) assert.ok(!log.includes(t), 'a token in the error log');
    assert.deepEqual(site.troubles(), []);
  });
});

describe('UserInfoRefresh on two hosts sharing Redis', { skip: NO_REDIS }, () => {
  const PREFIX = 't840b:';
  let redis;
  let c;
  let A;
  let B;
  const b = new Browser();

  before(async () => {
    redis = await startRedis();
    c = await startHosts({
      hosts: 2,
      idpConfig: IDP_CONFIG,
      users: USERS(),
      providers: [{ id: 'test', client: CLIENT, extra: `UserInfoRefresh ${INTERVAL}\n${GROUPS}` }],
      storeConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/${DB}
FedAuthRedisPrefix "${PREFIX}"
FedAuthSessionLocalCache 60`,
      serverConf: 'LogLevel warn fedauth:info',
      locationsConf: perProviderLocations(['test']),
    });
    [A, B] = c.bases;
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  it('signed in on A, the session works on B; a record of 0.3.0 (no U field) is read, its claims as old as its creation', async () => {
    const r = await b.login(`${A}/p/test/env.cgi`, 'rita', 'rita-pass-ui');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).FEDAUTH_ROLES, 'staff');
    await clearHits(c.idp);
    for (let i = 0; i < 6; i++) {
      const x = await b.getOnce(`${i % 2 ? B : A}/p/test/env.cgi`);
      assert.equal(x.status, 200, dump(x));
    }
    assert.equal(await hitsOf(c.idp), 0, 'read before the interval');
    // created 10 s ago, no U: not due yet
    await age(redis, PREFIX, 'rita', { by: 10 });
    assert.equal((await b.getOnce(`${B}/p/test/env.cgi`)).status, 200);
    assert.equal(await hitsOf(c.idp), 0, 'a record without U counts from its creation');
  });

  it('due: 20 parallel requests over both hosts read userinfo once between them; all see the new role; the record gets U', async () => {
    const users = USERS();
    users.find((u) => u.username === 'rita').claims.groups = ['staff', 'admins'];
    await c.idp.setUsers(users);
    await age(redis, PREFIX, 'rita');
    await clearHits(c.idp);
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => b.getOnce(`${i % 2 ? B : A}/p/test/env.cgi`)));
    for (const r of rs) assert.equal(r.status, 200, dump(r));
    assert.equal(await hitsOf(c.idp), 1, JSON.stringify(await c.idp.admin('/_admin/hits')));
    await sleep(200);
    for (let i = 0; i < 6; i++) {
      const e = parseEnv((await b.getOnce(`${i % 2 ? B : A}/p/test/env.cgi`)).body);
      assert.equal(e.FEDAUTH_ROLES, 'admin,staff', `request ${i}`);
    }
    assert.equal(await hitsOf(c.idp), 1);
    assert.equal((c.errorLogs().match(/FA01201:/g) || []).length, 1, 'one re-read logged');
    const u = Number(field((await sessionOf(redis, PREFIX, 'rita')).fields, 'U'));
    assert.ok(Math.abs(u - Date.now() / 1000) < 5, `U ${u}`);
  });

  it('a record whose U is recent is not read again, however old the session', async () => {
    await age(redis, PREFIX, 'rita', { by: 3 * INTERVAL, keepU: true });
    await clearHits(c.idp);
    for (let i = 0; i < 4; i++) assert.equal((await b.getOnce(`${i % 2 ? B : A}/p/test/env.cgi`)).status, 200);
    assert.equal(await hitsOf(c.idp), 0);
    assert.deepEqual(c.troubles(), []);
  });
});

describe('UserInfoRefresh configuration', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));
  const provider = (lines) => `FedAuthSecret "a long enough test passphrase for config tests"
<FedAuthProvider test>
    Issuer        http://127.0.0.1:9
    ClientID      client-test
    ClientSecret  secret-test
${lines}
</FedAuthProvider>`;
  async function check(lines) {
    requireModule();
    const { dir, confFile } = await writeHttpdConfig({ providersConf: provider(lines) });
    dirs.push(dir);
    const res = await configTest(confFile);
    return `${res.stdout}${res.stderr}`;
  }

  for (const lines of ['    UserInfoRefresh 30', '    UserInfoRefresh 300 keep', '    UserInfoRefresh 86400 end', '    UserInfo On\n    UserInfoRefresh 60']) {
    it(`"${lines.trim().replace(/\n\s*/g, '; ')}" passes apache2 -t`, async () => {
      const out = await check(lines);
      assert.match(out, /Syntax OK/, out);
    });
  }

  for (const [lines, re] of [
    ['    UserInfoRefresh 29', /UserInfoRefresh expects seconds from 30 to 86400.*\(at .*:\d+\)/],
    ['    UserInfoRefresh 86401', /UserInfoRefresh expects seconds from 30 to 86400/],
    ['    UserInfoRefresh soon', /UserInfoRefresh expects seconds from 30 to 86400/],
    ['    UserInfoRefresh', /UserInfoRefresh expects seconds from 30 to 86400/],
    ['    UserInfoRefresh 60 maybe', /UserInfoRefresh expects keep or end after the seconds \(at .*:\d+\)/],
    ['    UserInfoRefresh 60 keep extra', /UserInfoRefresh expects seconds from 30 to 86400/],
    ['    UserInfo Off\n    UserInfoRefresh 60', /UserInfoRefresh needs UserInfo On \(or unset\).*block at .*:\d+/],
  ]) {
    it(`"${lines.trim().replace(/\n\s*/g, '; ')}" stops apache2 -t naming the directive and file:line`, async () => {
      const out = await check(lines);
      assert.match(out, re, out);
      assert.doesNotMatch(out, /Syntax OK/, out);
    });
  }
});
