// SPDX-License-Identifier: Apache-2.0
// The account registry (issue 12): FedAuthRegistry / FedAuthRegister and
// fedauthctl, with two real IdPs (corp and partners), a real httpd and, for
// the other runs, a real Redis. The same test body runs for three setups:
// the shm session store with the registry in a directory on disk, the
// Redis store with the registry under <prefix>reg:, and a Redis Cluster of
// three masters with the registry under <prefix>{reg}: (one slot).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  startSite, Browser, parseEnv, dump, errorCodes, protectedLocation, SESSION_COOKIE, sleep,
  writeHttpdConfig, configTest, requireModule, removeDir,
} from '../lib/index.mjs';
import { testUser } from '../lib/idp.mjs';
import { startRedis, startCluster, redisAvailable, redisCli } from '../lib/redis.mjs';
import {
  codeFlow, withSpaCallback, spaCallback, jsonOf, signJwtAtIdp, bearerGet, apiLocation,
} from '../lib/tokens.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FEDAUTHCTL = process.env.FEDAUTHCTL || path.resolve(here, '../../fedauthctl');
const PREFIX = 't600:';
const DB = 6;

const CORP_USERS = [
  testUser('alice', 'corp', { groups: ['staff'] }),
  testUser('dave', 'corp'),
  testUser('erin', 'corp'),
  testUser('kim', 'corp'),
];
const PARTNER_USERS = [testUser('alice', 'partners'), testUser('frank', 'partners')];
const GROUPS = [
  'GroupsClaim groups', 'GroupMap staff staff',
  'ValueMap groups TENANT staff t-staff 20', 'ValueMap email TENANT alice@corp.example t-alice 10',
  'ValueMapDefault TENANT t-none', 'ValueMapDefault LANGUAGE en', 'ValueMapSetOnce LANGUAGE', '',
].join('\n');

/** Runs fedauthctl; resolves { code, out, err, json } (json when --json parsed). */
function ctl(site, args, { json = false } = {}) {
  const conf = path.join(site.httpd.dir, 'fedauthctl.conf');
  const argv = ['--conf', conf, ...(json ? ['--json'] : []), ...args];
  return new Promise((resolve) => {
    execFile(FEDAUTHCTL, argv, { timeout: 20000 }, (e, out, err) => {
      const code = e ? (typeof e.code === 'number' ? e.code : -1) : 0;
      let parsed;
      if (json && code === 0) parsed = JSON.parse(out);
      resolve({ code, out, err, json: parsed });
    });
  });
}

async function ok(site, args, opts) {
  const r = await ctl(site, args, opts);
  assert.equal(r.code, 0, `fedauthctl ${args.join(' ')}: ${r.code}\n${r.out}\n${r.err}`);
  return r;
}

/** httpd listens before its post_config ran: wait (bounded) for the file. */
async function waitConf(site) {
  const conf = path.join(site.httpd.dir, 'fedauthctl.conf');
  for (let i = 0; i < 200 && !fs.existsSync(conf); i++) await sleep(50);
  assert.ok(fs.existsSync(conf), `${conf} written at start`);
}

function setups() {
  const list = [{ name: 'shm + registry directory', redis: false }];
  list.push({ name: 'Redis store + registry in Redis', redis: true, skip: !redisAvailable() && 'redis-server not installed' });
  list.push({ name: 'Redis Cluster store + registry in the cluster', redis: true, cluster: true, skip: !redisAvailable() && 'redis-server not installed' });
  return list;
}

/**
 * The test's own view of the Redis data, the same for one server and a
 * cluster: the registry's key names (in a cluster every one of them
 * carries the hash tag {reg}, so all share one slot), keys(pattern) over
 * every node, and cli(args) on the node that holds args[1].
 */
function redisView(setup, handle) {
  if (!setup.cluster) {
    return {
      reg: `${PREFIX}reg:`,
      keys: (pattern) => handle.keys(DB, pattern),
      cli: (args) => handle.cli(args, { db: DB }),
    };
  }
  const owner = async (key) => {
    const slot = Number(await handle.keyslot(key));
    const m = (await handle.masters()).find((x) => x.slots.some(([lo, hi]) => slot >= lo && slot <= hi));
    assert.ok(m, `a master serves slot ${slot}`);
    return m.port;
  };
  return {
    reg: `${PREFIX}{reg}:`,
    keys: async (pattern) => {
      const all = [];
      for (const n of handle.live()) {
        const out = await redisCli(n.port, ['KEYS', pattern]);
        all.push(...out.split('\n').filter(Boolean));
      }
      return all;
    },
    cli: async (args) => redisCli(await owner(args[1]), args),
  };
}

for (const setup of setups()) {
  describe(`account registry: ${setup.name}`, { skip: setup.skip }, () => {
    let site;
    let redis;
    let rv;
    let tmp;
    let regDir;
    let attemptLog;
    const protectedUrl = () => `${site.base}/protected/env.cgi`;
    const loginUrl = (idp) => `${site.base}/fedauth/login?idp=${idp}&return_to=/protected/env.cgi`;
    const serverConf = (register = 'On', dir = regDir) => [
      'FedAuthRegistry On',
      `FedAuthRegister ${register}`,
      setup.redis ? `FedAuthSessionStore ${setup.cluster ? `redis-cluster://127.0.0.1:${redis.seedPort}` : `redis://127.0.0.1:${redis.port}/${DB}`}\nFedAuthRedisPrefix "${PREFIX}"` : `FedAuthRegistryDir "${dir}"`,
      `FedAuthAttemptLog "${attemptLog}"`,
      setup.redis ? 'FedAuthAttemptStream 5' : '',
      // The store is then the metrics' counting wrapper around the Redis
      // store: the registry and the stream must still find the client.
      setup.redis ? 'FedAuthMetrics On' : '',
      'FedAuthTokenLogin On',
    ].join('\n');

    /** A fresh browser signs in as user (username at the IdP) through idp. */
    async function signIn(idp, user) {
      const b = new Browser();
      const r = await b.login(loginUrl(idp), user, `${user}-pass-${idp}`);
      return { b, r };
    }
    async function signedIn(idp, user) {
      const { b, r } = await signIn(idp, user);
      assert.equal(r.status, 200, dump(r));
      return { b, env: parseEnv(r.body) };
    }
    async function refused(idp, user, code) {
      const { r } = await signIn(idp, user);
      assert.equal(r.status, 403, dump(r));
      assert.ok(errorCodes(r.body).includes(code), `${code} in ${dump(r)}`);
      assert.ok(!(r.setCookiesAll || []).some((c) => c.name === SESSION_COOKIE && c.value), 'no session cookie');
      return r;
    }
    async function stillIn(b) {
      const r = await b.getOnce(protectedUrl());
      assert.equal(r.status, 200, dump(r));
      return parseEnv(r.body);
    }
    /**
     * The session ended: the next request goes to the IdP. With Redis,
     * each httpd process drops its copy of the session when Redis's
     * invalidation message reaches it, milliseconds after fedauthctl's
     * delete (longer on a loaded machine), so a 200 is asked again for
     * up to 3 s; a copy kept longer than that fails.
     */
    async function sentToIdp(b) {
      const end = Date.now() + 3000;
      let r = await b.getOnce(protectedUrl());
      while (r.status === 200 && Date.now() < end) {
        await sleep(50);
        r = await b.getOnce(protectedUrl());
      }
      assert.equal(r.status, 302, dump(r));
      return r;
    }

    before(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-t600-'));
      fs.chmodSync(tmp, 0o755);
      regDir = path.join(tmp, 'registry');
      attemptLog = path.join(tmp, 'attempts.log');
      if (setup.cluster) redis = await startCluster({ masters: 3, replicasPerMaster: 0 });
      else if (setup.redis) redis = await startRedis();
      if (setup.redis) rv = redisView(setup, redis);
      site = await startSite({
        idps: [
          { name: 'corp', users: CORP_USERS, providers: [{ id: 'corp', extra: GROUPS, clientExtra: withSpaCallback }] },
          { name: 'partners', users: PARTNER_USERS, providers: [{ id: 'partners', extra: GROUPS }] },
        ],
        serverConf: serverConf('On'),
        locationsConf: protectedLocation() + apiLocation('api', { providers: 'corp' }),
      });
      await waitConf(site);
    });
    after(async () => {
      await site?.stop();
      site?.cleanup();
      await redis?.stop();
      redis?.cleanup();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('fedauthctl.conf is root-only and names the stores', async () => {
      const conf = path.join(site.httpd.dir, 'fedauthctl.conf');
      const st = fs.statSync(conf);
      assert.equal(st.mode & 0o777, 0o600);
      const text = fs.readFileSync(conf, 'utf8');
      assert.match(text, setup.redis ? /^registry redis$/m : new RegExp(`^registry dir ${regDir}$`, 'm'));
      assert.match(text, /^cookie_key [0-9a-f]{64}$/m);
      if (!setup.redis) assert.equal(fs.statSync(regDir).mode & 0o777, 0o700);
    });

    it('Register On: the first sign-in creates the account, fedauthctl shows it', async () => {
      const { env } = await signedIn('corp', 'alice');
      assert.equal(env.REMOTE_USER, 'alice');
      const r = await ok(site, ['users', 'show', 'alice'], { json: true });
      assert.equal(r.json.name, 'alice');
      assert.equal(r.json.state, 'active');
      assert.deepEqual(r.json.links, [{ idp: 'corp', sub: 'alice-sub-corp' }]);
      const text = await ok(site, ['users', 'show', 'alice']);
      assert.match(text.out, /^state: +active$/m);
    });

    it('a second identity whose name is taken gets a 6-digit suffix, never a merge', async () => {
      const { env } = await signedIn('partners', 'alice');
      assert.match(env.REMOTE_USER, /^alice\d{6}$/);
      const list = await ok(site, ['users', 'list'], { json: true });
      const names = list.json.map((a) => a.name);
      assert.ok(names.includes('alice') && names.includes(env.REMOTE_USER), names.join(' '));
      const again = await signedIn('partners', 'alice');
      assert.equal(again.env.REMOTE_USER, env.REMOTE_USER, 'the same account next time');
    });

    it('manual roles join the mapped roles in FEDAUTH_ROLES', async () => {
      await ok(site, ['users', 'mod', 'alice', '--roles', 'auditor,editor']);
      const { env } = await signedIn('corp', 'alice');
      assert.deepEqual(env.FEDAUTH_ROLES.split(',').sort(), ['auditor', 'editor', 'staff']);
      await ok(site, ['users', 'mod', 'alice', '--roles', '']);
      const again = await signedIn('corp', 'alice');
      assert.equal(again.env.FEDAUTH_ROLES, 'staff', 'mapped roles cannot be removed by hand');
    });

    it('ValueMap: lowest priority wins, else the default; ValueMapSetOnce keeps the first value', async () => {
      const { env } = await signedIn('corp', 'alice');
      assert.equal(env.FEDAUTH_TENANT, 't-alice', 'priority 10 over 20');
      const frank = await signedIn('partners', 'frank');
      assert.equal(frank.env.FEDAUTH_TENANT, 't-none');
      const shown = await ok(site, ['users', 'show', 'alice'], { json: true });
      assert.deepEqual(shown.json.attrs, { LANGUAGE: 'en' }, 'kept at the first sign-in');
      assert.equal(env.FEDAUTH_LANGUAGE, 'en');
      // the user's later choice (set by the administrator here) is not
      // overwritten by the mapping at the next sign-in
      await ok(site, ['users', 'mod', 'alice', '--set', 'LANGUAGE=de']);
      const again = await signedIn('corp', 'alice');
      assert.equal(again.env.FEDAUTH_LANGUAGE, 'de');
      assert.deepEqual((await ok(site, ['users', 'show', 'alice'], { json: true })).json.attrs, { LANGUAGE: 'de' });
      const bad = await ctl(site, ['users', 'mod', 'alice', '--set', 'language']);
      assert.equal(bad.code, 1);
      await ok(site, ['users', 'mod', 'alice', '--unset', 'LANGUAGE']);
      const third = await signedIn('corp', 'alice');
      assert.equal(third.env.FEDAUTH_LANGUAGE, 'en', 'kept again from the mapping');
    });

    it('--idps: a sign-in through another provider is refused (not_allowed_idp)', async () => {
      await ok(site, ['users', 'mod', 'alice', '--idps', 'partners']);
      await refused('corp', 'alice', 'not_allowed_idp');
      await ok(site, ['users', 'mod', 'alice', '--idps', '*']);
      await signedIn('corp', 'alice');
    });

    it('disable ends the sessions at once and refuses sign-in; enable lets in again', async () => {
      const { b } = await signedIn('corp', 'alice');
      await stillIn(b);
      const r = await ok(site, ['users', 'mod', 'alice', '--disable'], { json: true });
      assert.ok(r.json.sessions_ended >= 1, JSON.stringify(r.json));
      try {
        await sentToIdp(b);
        await refused('corp', 'alice', 'account_disabled');
      } finally {
        await ok(site, ['users', 'mod', 'alice', '--enable']);
      }
      await signedIn('corp', 'alice');
    });

    /** An access token (JWT, typ at+jwt) of user at corp, signed by corp, for the site's client. */
    async function accessToken(user) {
      const now = Math.floor(Date.now() / 1000);
      const client = site.clients.corp;
      return signJwtAtIdp(site.idps.corp, client.client_id, {
        iss: site.idps.corp.issuer, sub: `${user}-sub-corp`, aud: client.client_id, client_id: client.client_id,
        iat: now, exp: now + 600, jti: `${user}-${now}-${Math.random()}`,
        preferred_username: user, groups: user === 'alice' ? ['staff'] : [],
      });
    }

    it('bearer tokens go through the registry: its account name and roles; disabled: 403 (new token at once, cached within 10 s)', async () => {
      const api = () => `${site.base}/p/api/env.cgi`;
      await ok(site, ['users', 'mod', 'alice', '--roles', 'auditor']);
      try {
        const cached = await accessToken('alice');
        const r = await bearerGet(api(), cached);
        assert.equal(r.status, 200, dump(r));
        assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
        assert.deepEqual(parseEnv(r.body).FEDAUTH_ROLES.split(',').sort(), ['auditor', 'staff']);
        await ok(site, ['users', 'mod', 'alice', '--disable']);
        const fresh = await bearerGet(api(), await accessToken('alice'));
        assert.equal(fresh.status, 403, dump(fresh));
        assert.ok(errorCodes(fresh.body).includes('account_disabled'), dump(fresh));
        if (!setup.redis) {
          // a token verified before: each process keeps the decision at
          // most 10 s
          const end = Date.now() + 13000;
          let again = await bearerGet(api(), cached);
          while (again.status === 200 && Date.now() < end) {
            await sleep(250);
            again = await bearerGet(api(), cached);
          }
          assert.equal(again.status, 403, dump(again));
        }
      } finally {
        await ok(site, ['users', 'mod', 'alice', '--enable', '--roles', '']);
      }
      assert.equal((await bearerGet(api(), await accessToken('alice'))).status, 200);
      // a user with no account yet: Register On makes one, as a sign-in would
      const erin = await bearerGet(api(), await accessToken('erin'));
      assert.equal(erin.status, 200, dump(erin));
      assert.equal(parseEnv(erin.body).REMOTE_USER, 'erin', 'registered by Register On, as at a sign-in');
    });

    it('token sign-in (POST /fedauth/authenticate) goes through the registry too', async () => {
      const client = site.clients.corp;
      const tokenLogin = async () => {
        const t = await codeFlow(site.idps.corp, client, { redirectUri: spaCallback(client), user: 'alice', password: 'alice-pass-corp' });
        return new Browser().request(`${site.base}/fedauth/authenticate`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ id_token: t.id_token, nonce: t.nonce }).toString(),
        });
      };
      await ok(site, ['users', 'mod', 'alice', '--roles', 'auditor']);
      const r = await tokenLogin();
      assert.equal(r.status, 200, dump(r));
      assert.equal(jsonOf(r).user, 'alice');
      assert.deepEqual(jsonOf(r).roles.sort(), ['auditor', 'staff']);
      await ok(site, ['users', 'mod', 'alice', '--disable', '--roles', '']);
      try {
        const refusedToken = await tokenLogin();
        assert.equal(refusedToken.status, 403, dump(refusedToken));
        assert.equal(jsonOf(refusedToken).error, 'account_disabled');
        assert.ok(!(refusedToken.headers.get('set-cookie') || '').includes(`${SESSION_COOKIE}=`), 'no session cookie');
      } finally {
        await ok(site, ['users', 'mod', 'alice', '--enable']);
      }
    });

    it('an account disabled after the sign-in was decided gets no session (a one-time code exchanged later: 403)', async () => {
      const client = site.clients.corp;
      const t = await codeFlow(site.idps.corp, client, { redirectUri: spaCallback(client), user: 'alice', password: 'alice-pass-corp' });
      // the code is exchanged by the browser that asked for it (binding cookie)
      const b = new Browser();
      const c = await b.request(`${site.base}/fedauth/authenticate`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ id_token: t.id_token, nonce: t.nonce, want: 'code' }).toString(),
      });
      assert.equal(c.status, 200, dump(c));
      const { code } = jsonOf(c);
      await ok(site, ['users', 'mod', 'alice', '--disable']);
      try {
        const r = await b.getOnce(`${site.base}/fedauth/authenticate?code=${encodeURIComponent(code)}&return_to=/protected/env.cgi`);
        assert.equal(r.status, 403, dump(r));
        assert.equal(jsonOf(r).error, 'account_disabled');
        assert.ok(!(r.headers.get('set-cookie') || '').includes(`${SESSION_COOKIE}=`), 'no session cookie');
        assert.equal((await b.getOnce(`${site.base}/fedauth/session`)).status, 401, 'no session');
        // disable ended alice's sessions; the exchange added none
        const listed = (await ok(site, ['sessions', 'list', 'alice'], { json: true })).json;
        assert.deepEqual(listed, [], JSON.stringify(listed));
      } finally {
        await ok(site, ['users', 'mod', 'alice', '--enable']);
      }
    });

    it('sessions list and kill', async () => {
      const { b } = await signedIn('corp', 'alice');
      const list = await ok(site, ['sessions', 'list', 'alice'], { json: true });
      assert.ok(list.json.length >= 1);
      assert.ok(list.json.every((s) => s.user === 'alice' && s.idp === 'corp'), JSON.stringify(list.json));
      const again = await ok(site, ['sessions', 'list', 'alice'], { json: true });
      assert.equal(again.json.length, list.json.length, 'listing keeps the index');
      const all = await ok(site, ['sessions', 'list'], { json: true });
      assert.ok(all.json.length >= list.json.length);
      await stillIn(b);
      const k = await ok(site, ['sessions', 'kill', 'alice'], { json: true });
      assert.ok(k.json.sessions_ended >= 1);
      await sentToIdp(b);
      const none = await ok(site, ['sessions', 'list', 'alice'], { json: true });
      assert.equal(none.json.length, 0);
    });

    it('idp purge: every session through that provider ends; accounts stay', async () => {
      const p = await signedIn('partners', 'frank');
      const c = await signedIn('corp', 'alice');
      await ok(site, ['idp', 'purge', 'partners']);
      await sentToIdp(p.b);
      await stillIn(c.b);
      await ok(site, ['users', 'show', 'frank']);
      await signedIn('partners', 'frank');
    });

    it('idp purge ends the sessions made through that provider only: the same account keeps its sessions through another', async () => {
      // alice's identity at partners joins her account (it had one of its own)
      await ok(site, ['users', 'unlink', 'partners', 'alice-sub-partners']);
      await ok(site, ['users', 'link', 'alice', 'partners', 'alice-sub-partners']);
      const viaPartners = await signedIn('partners', 'alice');
      const viaCorp = await signedIn('corp', 'alice');
      assert.equal(viaPartners.env.REMOTE_USER, 'alice');
      const r = await ok(site, ['idp', 'purge', 'partners'], { json: true });
      assert.ok(r.json.sessions_ended >= 1, JSON.stringify(r.json));
      await sentToIdp(viaPartners.b);
      assert.equal((await stillIn(viaCorp.b)).REMOTE_USER, 'alice', 'her session through corp stays');
      await ok(site, ['users', 'unlink', 'partners', 'alice-sub-partners']);
    });

    it('a pre-made account (users add) is never taken by a sign-in of the same name: the sign-in gets a suffixed account of its own', async () => {
      // the administrator prepares kim with a role; someone whose IdP
      // calls them kim signs in before the administrator linked anyone
      await ok(site, ['users', 'add', 'kim', '--roles', 'admin']);
      const { env } = await signedIn('corp', 'kim');
      assert.match(env.REMOTE_USER, /^kim\d{6}$/, 'not the pre-made account');
      assert.ok(!(env.FEDAUTH_ROLES || '').split(',').includes('admin'), `no admin role: ${env.FEDAUTH_ROLES}`);
      const kim = (await ok(site, ['users', 'show', 'kim'], { json: true })).json;
      assert.deepEqual(kim.links, [], 'nothing was linked to the pre-made account');
      const made = (await ok(site, ['users', 'show', env.REMOTE_USER], { json: true })).json;
      assert.deepEqual(made.links, [{ idp: 'corp', sub: 'kim-sub-corp' }]);
      assert.equal(typeof made.last_signin, 'number', 'an account a sign-in made has last_signin');
      assert.equal(kim.last_signin, undefined, 'one fedauthctl made has none');
    });

    it('users del of an account with no linked identity removes it (its name is free); an old tombstone with no link too', async () => {
      await ok(site, ['users', 'add', 'zoe']);
      const d = await ok(site, ['users', 'del', 'zoe'], { json: true });
      assert.equal(d.json.sessions_ended, 0);
      assert.equal((await ctl(site, ['users', 'show', 'zoe'])).code, 2, 'gone');
      await ok(site, ['users', 'add', 'zoe']);
      // a tombstone with no link, as an earlier fedauthctl left it
      const record = JSON.stringify({ created: 1764795000, links: [], name: 'zoe', roles: [], state: 'deleted', v: 1 });
      if (setup.redis) await rv.cli(['SET', `${rv.reg}a:zoe`, record]);
      else fs.writeFileSync(path.join(regDir, 'a%3Azoe'), record);
      assert.equal((await ok(site, ['users', 'show', 'zoe'], { json: true })).json.state, 'deleted', 'the file name is a%3Azoe');
      const add = await ctl(site, ['users', 'add', 'zoe']);
      assert.equal(add.code, 4);
      assert.match(add.err, /users del zoe removes it/);
      const en = await ctl(site, ['users', 'mod', 'zoe', '--enable']);
      assert.equal(en.code, 4);
      assert.match(en.err, /users del zoe removes it/);
      const link = await ctl(site, ['users', 'link', 'zoe', 'corp', 'zoe-sub']);
      assert.equal(link.code, 4, 'a tombstone takes no new link');
      assert.match(link.err, /deleted/);
      await ok(site, ['users', 'del', 'zoe']);
      await ok(site, ['users', 'add', 'zoe']);
      await ok(site, ['users', 'del', 'zoe']);
    });

    it('users mod --json prints one shape: the account and sessions_ended', async () => {
      const roles = await ok(site, ['users', 'mod', 'frank', '--roles', 'x'], { json: true });
      const dis = await ok(site, ['users', 'mod', 'frank', '--disable'], { json: true });
      const en = await ok(site, ['users', 'mod', 'frank', '--enable', '--roles', ''], { json: true });
      for (const r of [roles, dis, en]) {
        assert.equal(r.json.name, 'frank', r.out);
        assert.equal(typeof r.json.sessions_ended, 'number', r.out);
        assert.ok(Array.isArray(r.json.links), r.out);
      }
      assert.equal(dis.json.state, 'disabled');
      assert.equal(en.json.state, 'active');
    });

    it('the authenticated request path does not read the registry', async () => {
      const { b } = await signedIn('corp', 'alice');
      if (setup.redis) {
        const keys = await rv.keys(`${rv.reg}*`);
        assert.ok(keys.length >= 4, keys.join(' '));
        if (setup.cluster) {
          // one slot holds the whole registry: its list is one SCAN
          const slots = new Set();
          for (const k of keys) slots.add(Number(await redis.keyslot(k)));
          assert.deepEqual([...slots], [Number(await redis.keyslot('{reg}'))], keys.join(' '));
        }
        await rv.cli(['RENAME', `${rv.reg}a:alice`, `${rv.reg}away`]);
        await rv.cli(['RENAME', `${rv.reg}a:frank`, `${rv.reg}away2`]);
        try {
          for (let i = 0; i < 3; i++) assert.equal((await stillIn(b)).REMOTE_USER, 'alice');
        } finally {
          await rv.cli(['RENAME', `${rv.reg}away`, `${rv.reg}a:alice`]);
          await rv.cli(['RENAME', `${rv.reg}away2`, `${rv.reg}a:frank`]);
        }
      }
      else {
        const away = `${regDir}.away`;
        fs.renameSync(regDir, away);
        try {
          for (let i = 0; i < 3; i++) assert.equal((await stillIn(b)).REMOTE_USER, 'alice');
          // while it is gone, a sign-in cannot be decided: 503, not a guess
          const { r } = await signIn('corp', 'dave');
          assert.equal(r.status, 503, dump(r));
        } finally {
          fs.renameSync(away, regDir);
        }
      }
    });

    it('del keeps the identity linked (account_deleted) until unlink; then it registers again', async () => {
      const { b } = await signedIn('corp', 'erin');
      const d = await ok(site, ['users', 'del', 'erin'], { json: true });
      assert.ok(d.json.sessions_ended >= 1);
      await sentToIdp(b);
      await refused('corp', 'erin', 'account_deleted');
      const shown = await ok(site, ['users', 'show', 'erin'], { json: true });
      assert.equal(shown.json.state, 'deleted');
      const mod = await ctl(site, ['users', 'mod', 'erin', '--enable']);
      assert.equal(mod.code, 4, 'a deleted account is not enabled again');
      await ok(site, ['users', 'unlink', 'corp', 'erin-sub-corp']);
      const { env } = await signedIn('corp', 'erin');
      assert.equal(env.REMOTE_USER, 'erin', 'the tombstone went with its last link');
    });

    it('fedauthctl refuses bad input with a message, a non-zero exit, and changes nothing', async () => {
      const before = (await ok(site, ['users', 'list'], { json: true })).out;
      const cases = [
        [['frobnicate'], 1],
        [['users', 'frob'], 1],
        [['users', 'show', 'nobody'], 2],
        [['users', 'mod', 'nobody', '--disable'], 2],
        [['users', 'mod', 'alice', '--idps', 'Corp!'], 1],
        [['users', 'mod', 'alice', '--idps', 'corp,,x'], 1],
        [['users', 'mod', 'alice', '--idps', 'corp,nosuch'], 1],
        [['users', 'add', 'zed', '--idps', 'nosuch'], 1],
        [['users', 'link', 'frank', 'nosuch', 'x'], 1],
        [['users', 'mod', 'alice', '--roles', 'a b'], 1],
        [['users', 'mod', 'alice', '--disable', '--bogus'], 1],
        [['users', 'add', 'a/b'], 1],
        [['users', 'add', 'alice'], 4],
        [['users', 'link', 'nobody', 'corp', 'x'], 2],
        [['users', 'link', 'frank', 'corp', 'alice-sub-corp'], 4],
        [['users', 'unlink', 'corp', 'no-such-sub'], 2],
        [['idp', 'purge', 'Bad Id'], 1],
        [['idp', 'purge', 'nosuch'], 1],
        [['attempts', '--idp', 'Bad Id!'], 1],
        [['users', 'mod', 'alice', '--disable', '--enable'], 1],
        [['users', 'add', 'x'.repeat(129)], 1],
        [['users', 'add', '\u0436'.repeat(40)], 1],
        [['sessions', 'kill', 'nobody'], 2],
        [['attempts', '--since', 'yesterday'], 1],
      ];
      for (const [args, code] of cases) {
        const r = await ctl(site, args);
        assert.equal(r.code, code, `fedauthctl ${args.join(' ')}: exit ${r.code}\n${r.err}`);
        assert.match(r.err, /^fedauthctl: /m, `a message for ${args.join(' ')}`);
      }
      const after = (await ok(site, ['users', 'list'], { json: true })).out;
      assert.equal(after, before, 'nothing changed');
      // a sub that is too long is blamed on the sub, not on the provider
      const long = await ctl(site, ['users', 'link', 'frank', 'corp', 's'.repeat(256)]);
      assert.equal(long.code, 1);
      assert.match(long.err, /bad sub/);
      assert.doesNotMatch(long.err, /provider/);
      const ctlSub = await ctl(site, ['users', 'link', 'frank', 'corp', 'a\u0001b']);
      assert.equal(ctlSub.code, 1);
      assert.match(ctlSub.err, /invalid_sub/);
      // control characters of an argument are shown escaped, never raw
      const esc = await ctl(site, ['users', 'show', 'no\u001b[2J\nbody']);
      assert.equal(esc.code, 2);
      assert.doesNotMatch(esc.err, /[\u0000-\u0008\u000b-\u001f\u007f]/, JSON.stringify(esc.err));
      assert.equal(esc.err, 'fedauthctl: no account no\\x1b[2J\\nbody\n');
      const both = await ctl(site, ['users', 'mod', 'alice', '--disable', '--enable']);
      assert.match(both.err, /--disable and --enable/);
      const purge = await ctl(site, ['idp', 'purge', 'nosuch']);
      assert.match(purge.err, /no provider nosuch/);
      const help = await ok(site, ['--help']);
      assert.match(help.out, /users add NAME/);
      const missing = await ctl(site, ['--conf', '/nonexistent/fedauthctl.conf', 'users', 'list']);
      assert.equal(missing.code, 3);
    });

    // the directory registry only: with Redis this case is not defined at
    // all (rather than skipped), so a stock run skips nothing
    (setup.redis ? () => {} : it)('FedAuthRegistryDir under a parent httpd\'s User cannot search: a warning at start and 503 at sign-in, both naming the path', async () => {
      const locked = path.join(tmp, 'locked');
      fs.mkdirSync(locked, { mode: 0o700 });
      fs.chmodSync(locked, 0o700);
      const dir = path.join(locked, 'registry');
      try {
        await site.restartHttpd({ serverConf: serverConf('On', dir) });
        await waitConf(site);
        const { r } = await signIn('corp', 'dave');
        assert.equal(r.status, 503, dump(r));
        assert.ok(!(r.setCookiesAll || []).some((c) => c.name === SESSION_COOKIE && c.value), 'no session cookie');
        const log = site.errorLog();
        assert.match(log, new RegExp(`FA00830.*cannot search ${locked} `), log);
        assert.match(log, new RegExp(`FA00906.*${dir}.*Permission denied`), log);
      } finally {
        fs.rmSync(locked, { recursive: true, force: true });
        await site.restartHttpd({ serverConf: serverConf('On') });
        await waitConf(site);
      }
    });

    it('Register Off: a new identity gets 403 not_registered; users add + link lets it in', async () => {
      await site.restartHttpd({ serverConf: serverConf('Off') });
      await waitConf(site);
      await refused('corp', 'dave', 'not_registered');
      await signedIn('corp', 'alice');
      await ok(site, ['users', 'add', 'dave.admin', '--idps', 'corp', '--roles', 'ops']);
      await ok(site, ['users', 'link', 'dave.admin', 'corp', 'dave-sub-corp']);
      const { env } = await signedIn('corp', 'dave');
      assert.equal(env.REMOTE_USER, 'dave.admin');
      assert.equal(env.FEDAUTH_ROLES, 'ops');
    });

    it('attempts: filters by user, provider, failure and time', async () => {
      const all = (await ok(site, ['attempts'], { json: true })).json;
      assert.ok(all.length >= 10, `${all.length} attempts`);
      const alice = (await ok(site, ['attempts', '--user', 'alice'], { json: true })).json;
      assert.ok(alice.length >= 5 && alice.every((a) => a.account === 'alice'));
      const failed = (await ok(site, ['attempts', '--failed'], { json: true })).json;
      assert.ok(failed.every((a) => a.outcome === 'failure'));
      const reasons = new Set(failed.map((a) => a.reason));
      for (const code of ['not_registered', 'account_disabled', 'account_deleted', 'not_allowed_idp']) {
        assert.ok(reasons.has(code), `${code} in ${[...reasons].join(' ')}`);
      }
      // a not_registered line names the account the sign-in would have made
      const unreg = failed.filter((a) => a.reason === 'not_registered');
      assert.ok(unreg.some((a) => a.account === 'dave' && a.sub === 'dave-sub-corp'), JSON.stringify(unreg));
      const partners = (await ok(site, ['attempts', '--idp', 'partners'], { json: true })).json;
      assert.ok(partners.length >= 3 && partners.every((a) => a.idp === 'partners'));
      const recent = (await ok(site, ['attempts', '--since', '1h'], { json: true })).json;
      assert.equal(recent.length, all.length);
      const future = (await ok(site, ['attempts', '--since', '2999-01-01T00:00:00Z'], { json: true })).json;
      assert.equal(future.length, 0);
      if (setup.redis) {
        // the capped stream holds the last 5 lines of the file, in order
        const stream = (await ok(site, ['attempts', '--stream'], { json: true })).json;
        assert.deepEqual(stream, all.slice(-5));
        const xlen = Number(await rv.cli(['XLEN', `${PREFIX}attempts`]));
        assert.equal(xlen, 5);
        const failedStream = (await ok(site, ['attempts', '--stream', '--failed'], { json: true })).json;
        assert.deepEqual(failedStream, stream.filter((a) => a.outcome === 'failure'));
      }
      else {
        const r = await ctl(site, ['attempts', '--stream']);
        assert.equal(r.code, 2, 'no stream with shm');
      }
      const text = await ok(site, ['attempts', '--failed', '--user', 'erin']);
      assert.ok(text.out.split('\n').filter(Boolean).every((l) => JSON.parse(l).account === 'erin'));
    });

    it('the error log has no unexpected lines', () => {
      const t = site.troubles([/FA00201/, /FA00214/, /FA00906/, /FA00830/]);
      assert.deepEqual(t, []);
    });
  });
}

describe('registry and ValueMap directives: apache2 -t', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));
  const provider = (body) => `<FedAuthProvider corp>
    Issuer        http://127.0.0.1:9/corp
    ClientID      client-corp
${body}
</FedAuthProvider>`;
  async function check(serverConf, body = '') {
    requireModule();
    const { dir, confFile } = await writeHttpdConfig({
      providersConf: `FedAuthSecret "a long enough test passphrase for config tests"\n${serverConf}\n${provider(body)}`,
      locationsConf: protectedLocation(),
    });
    dirs.push(dir);
    const res = await configTest(confFile);
    return { code: res.code ?? res.status, out: `${res.stdout}${res.stderr}` };
  }

  it('good settings pass', async () => {
    const r = await check('FedAuthRegistry On\nFedAuthRegister Off\nFedAuthRegistryDir /var/lib/apache2/fedauth-t600',
      'ValueMap groups TENANT "EU Sales" eu 10\nValueMap locale LANGUAGE de-CH de\nValueMapDefault tenant global\nValueMapSetOnce LANGUAGE TENANT');
    assert.equal(r.code, 0, r.out);
    assert.ok(!fs.existsSync('/var/lib/apache2/fedauth-t600'), 'apache2 -t makes no directory');
  });

  for (const [serverConf, body, word] of [
    ['FedAuthRegistry Maybe', '', 'FedAuthRegistry'],
    ['FedAuthRegister yes please', '', 'FedAuthRegister'],
    ['', 'ValueMap groups TENANT eu', 'ValueMap'],
    ['', 'ValueMap groups TENANT eu x 1 2', 'ValueMap'],
    ['', 'ValueMap groups TENANT eu x high', 'ValueMap'],
    ['', 'ValueMap groups USER eu x', 'ValueMap'],
    ['', 'ValueMapDefault TENANT', 'ValueMapDefault'],
    ['', 'ValueMapSetOnce', 'ValueMapSetOnce'],
    ['', 'ValueMapSetOnce bad-name', 'ValueMapSetOnce'],
    ['FedAuthAttemptStream 100', '', 'FedAuthAttemptStream needs a Redis'],
    ['FedAuthAttemptStream many', '', 'FedAuthAttemptStream'],
  ]) {
    it(`refused: ${serverConf || body}`, async () => {
      const r = await check(serverConf, body);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, new RegExp(word), r.out);
    });
  }
});
