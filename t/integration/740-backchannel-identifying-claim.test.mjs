// SPDX-License-Identifier: Apache-2.0
// Back-channel logout when the provider's IdentifyingClaim is not sub (e.g.
// oid, as for Entra ID). The account key (REMOTE_USER's source, FEDAUTH_SUB,
// the registry, FedAuthMaxSessionsPerUser) is the oid, but a logout token
// names the user by the IdP's sub. Sessions were indexed for back-channel
// logout under the oid only, so an IdP-signed logout token with alice's sub
// ended nothing (her sessions outlived the IdP's logout), and a token with
// a sub that happens to equal alice's oid (here: mallory's real sub) ended
// alice's sessions instead of mallory's. Now a logout token's sub ends
// exactly the sessions made from ID tokens with that sub at that provider.
// A logout token with sid (the IdP's own, after end_session) still ends
// that browser's session only. Real IdP (users with an oid claim), real
// httpd; the shm store on one host, and Redis shared by two hosts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Browser, parseEnv, dump, discovery } from '../lib/index.mjs';
import { testUser } from '../lib/idp.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';
import {
  startHosts, logoutAtIdp, endSessionUrl, logoutClaims, signAtIdp, postLogoutToken,
} from '../lib/cluster.mjs';

const ALICE_SUB = 'alice-sub-bcl';
const ALICE_OID = 'oid-alice-7f3a';
const USERS = [
  testUser('alice', 'bcl', { sub: ALICE_SUB, oid: ALICE_OID }),
  testUser('bob', 'bcl', { sub: 'bob-sub-bcl', oid: 'oid-bob-19c2' }),
  // mallory's sub is alice's oid: her logout must never end alice
  testUser('mallory', 'bcl', { sub: ALICE_OID, oid: 'oid-mallory-55d0' }),
];

const variants = [
  { name: 'shm, one host', hosts: 1, redis: false },
  { name: 'Redis, two hosts', hosts: 2, redis: true },
];

for (const v of variants) {
  const skip = v.redis && !redisAvailable() && 'redis-server/redis-cli not installed';
  describe(`back-channel logout with IdentifyingClaim oid (${v.name})`, { skip }, () => {
    let redis;
    let c;
    let meta;
    let clientId;
    const alice1 = new Browser();
    const alice2 = new Browser();
    const bob = new Browser();
    const mallory = new Browser();
    const prot = (base) => `${base}/protected/env.cgi`;
    const hostName = (base) => `host ${c.bases.indexOf(base)}`;

    before(async () => {
      if (v.redis) redis = await startRedis();
      c = await startHosts({
        hosts: v.hosts,
        users: USERS,
        providers: [{
          id: 'test',
          extra: '    IdentifyingClaim oid\n',
          client: { backchannel_logout_session_required: true },
        }],
        serverConf: 'FedAuthMaxSessionsPerUser 2',
        storeConf: v.redis
          ? `FedAuthSessionStore redis://127.0.0.1:${redis.port}/7\nFedAuthRedisTimeout 1`
          : 'FedAuthSessionStore shm',
      });
      meta = await discovery(c.idp.issuer);
      clientId = c.clients.test.client_id;
    });
    after(async () => {
      await c?.stop();
      await redis?.stop();
      c?.cleanup();
      redis?.cleanup();
    });

    async function assertSignedIn(b, who, oid) {
      for (const base of c.bases) {
        const r = await b.getOnce(prot(base));
        assert.equal(r.status, 200, `${who} on ${hostName(base)}: ${dump(r)}`);
        assert.equal(parseEnv(r.body).FEDAUTH_SUB, oid, `${who}: the account key is the oid`);
      }
    }
    async function assertSignedOut(b, who) {
      for (const base of c.bases) {
        const r = await b.getOnce(prot(base));
        assert.equal(r.status, 302, `${who} on ${hostName(base)}: ${dump(r)}`);
        assert.ok(r.location.startsWith(meta.authorization_endpoint), `${who}: sent to sign in: ${r.location}`);
        const s = await b.getOnce(`${base}/fedauth/session`);
        assert.equal(s.status, 401, `${who} /fedauth/session on ${hostName(base)}: ${dump(s)}`);
      }
    }
    const logoutBySub = async (sub, base) => postLogoutToken(
      base, 'test', await signAtIdp(c.idp, clientId, logoutClaims(c.idp, clientId, { sub })),
    );

    it('alice signs in in two browsers, bob and mallory in their own; the account key is the oid', async () => {
      for (const [b, u] of [[alice1, 'alice'], [alice2, 'alice'], [bob, 'bob'], [mallory, 'mallory']]) {
        const r = await b.login(prot(c.base), u, `${u}-pass-bcl`);
        assert.equal(r.status, 200, dump(r));
      }
      await assertSignedIn(alice1, 'alice (browser 1)', ALICE_OID);
      await assertSignedIn(alice2, 'alice (browser 2)', ALICE_OID);
      await assertSignedIn(bob, 'bob', 'oid-bob-19c2');
      await assertSignedIn(mallory, 'mallory', 'oid-mallory-55d0');
    });

    it('an IdP-signed logout token with mallory\'s sub (= alice\'s oid) ends mallory\'s session, never alice\'s', async () => {
      const r = await logoutBySub(ALICE_OID, c.bases[c.bases.length - 1]);
      assert.equal(r.status, 200, r.body);
      await assertSignedOut(mallory, 'mallory');
      await assertSignedIn(alice1, 'alice (browser 1)', ALICE_OID);
      await assertSignedIn(alice2, 'alice (browser 2)', ALICE_OID);
      await assertSignedIn(bob, 'bob', 'oid-bob-19c2');
    });

    it('an IdP-signed logout token whose sub is bob\'s oid (nobody\'s sub) ends no session', async () => {
      const r = await logoutBySub('oid-bob-19c2', c.base);
      assert.equal(r.status, 200, r.body);
      await assertSignedIn(bob, 'bob', 'oid-bob-19c2');
    });

    it('an IdP-signed logout token with alice\'s sub ends both of her sessions on every host; bob stays', async () => {
      const r = await logoutBySub(ALICE_SUB, c.base);
      assert.equal(r.status, 200, r.body);
      await assertSignedOut(alice1, 'alice (browser 1)');
      await assertSignedOut(alice2, 'alice (browser 2)');
      await assertSignedIn(bob, 'bob', 'oid-bob-19c2');
    });

    it('alice signs in again in both browsers; ending her IdP session in browser 1 (end_session) makes the IdP POST its logout token (sid): that session only ends', async () => {
      for (const b of [alice1, alice2]) {
        const r = await b.login(prot(c.base), 'alice', 'alice-pass-bcl');
        assert.equal(r.status, 200, dump(r));
      }
      await assertSignedIn(alice1, 'alice (browser 1, again)', ALICE_OID);
      await assertSignedIn(alice2, 'alice (browser 2, again)', ALICE_OID);
      await c.idp.clearEvents();
      const r = await logoutAtIdp(alice1, endSessionUrl(meta, { client_id: clientId }));
      assert.equal(r.status, 200, dump(r));
      const events = await c.idp.events();
      assert.deepEqual(events.filter((e) => e.event.startsWith('backchannel.')).map((e) => e.event), ['backchannel.success'], JSON.stringify(events));
      await assertSignedOut(alice1, 'alice (browser 1, again)');
      await assertSignedIn(alice2, 'alice (browser 2, another IdP session)', ALICE_OID);
      await assertSignedIn(bob, 'bob', 'oid-bob-19c2');
    });

    it('a later IdP-signed logout token with alice\'s sub ends her new session in browser 2 too; bob stays', async () => {
      const t = await logoutBySub(ALICE_SUB, c.bases[c.bases.length - 1]);
      assert.equal(t.status, 200, t.body);
      await assertSignedOut(alice2, 'alice (browser 2, again)');
      await assertSignedIn(bob, 'bob', 'oid-bob-19c2');
    });

    it('FedAuthMaxSessionsPerUser 2 still counts per account (oid): a third sign-in of alice ends her oldest session only, and a logout token with her sub ends the two left', async () => {
      const three = [new Browser(), new Browser(), new Browser()];
      for (const b of three) {
        const r = await b.login(prot(c.base), 'alice', 'alice-pass-bcl');
        assert.equal(r.status, 200, dump(r));
      }
      await assertSignedOut(three[0], 'alice (oldest of three)');
      await assertSignedIn(three[1], 'alice (second of three)', ALICE_OID);
      await assertSignedIn(three[2], 'alice (third of three)', ALICE_OID);
      await assertSignedIn(bob, 'bob', 'oid-bob-19c2');
      const t = await logoutBySub(ALICE_SUB, c.base);
      assert.equal(t.status, 200, t.body);
      await assertSignedOut(three[1], 'alice (second of three)');
      await assertSignedOut(three[2], 'alice (third of three)');
      await assertSignedIn(bob, 'bob', 'oid-bob-19c2');
    });

    it('httpd stops cleanly; no crash lines in the error logs', async () => {
      for (const h of c.hosts) {
        const info = await h.stop();
        assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
      }
      assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs()}`);
    });
  });
}
