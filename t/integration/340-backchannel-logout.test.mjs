// SPDX-License-Identifier: Apache-2.0
// issue5.md, back-channel logout with the real IdP and two hosts sharing
// Redis. The IdP's client registers backchannel_logout_uri = A's
// /signin-test/backchannel with backchannel_logout_session_required (its
// ID and logout tokens carry sid). Ending the IdP session (RP-initiated
// logout at the IdP's end_session endpoint, its confirmation form
// answered "yes") makes the IdP POST a logout token to A: that browser's
// session is gone on A and on B, other sessions stay. Hostile requests at
// the endpoint (GET, no token, garbage, IdP-signed tokens with a nonce,
// without the event, wrong aud/iss, expired, ...) get 400 and end nothing;
// a replayed token gets 400; store down: 503.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  Browser, parseEnv, dump, discovery, SESSION_COOKIE,
} from '../lib/index.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';
import {
  startHosts, logoutAtIdp, endSessionUrl, logoutClaims, signAtIdp, postLogoutToken, BACKCHANNEL_EVENT,
} from '../lib/cluster.mjs';

const ALICE_SUB = 'alice-sub-0001';

function assert400(r, what) {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.body}`);
  assert.match(r.headers.get('content-type') || '', /^application\/json/, `${what}: content-type`);
  assert.equal(r.json?.error, 'invalid_request', `${what}: ${r.body}`);
}

describe('back-channel logout: real IdP, two hosts, one Redis', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  let redis;
  let c;
  let A;
  let B;
  let meta;
  let clientId;
  // b1: alice (ends through the IdP), b2: alice in another browser (own IdP
  // session, own sid), b3: bob
  const b1 = new Browser();
  const b2 = new Browser();
  const b3 = new Browser();
  const prot = (base) => `${base}/protected/env.cgi`;

  before(async () => {
    redis = await startRedis();
    c = await startHosts({
      hosts: 2,
      providers: [{ id: 'test', client: { backchannel_logout_session_required: true } }],
      storeConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/6\nFedAuthRedisTimeout 1`,
    });
    [A, B] = c.bases;
    meta = await discovery(c.idp.issuer);
    clientId = c.clients.test.client_id;
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  /** Status of a protected request on base (no redirect following). */
  const statusOn = async (b, base) => (await b.getOnce(prot(base))).status;
  async function assertSignedIn(b, who, user) {
    for (const base of [A, B]) {
      const r = await b.getOnce(prot(base));
      assert.equal(r.status, 200, `${who} on ${base === A ? 'A' : 'B'}: ${dump(r)}`);
      assert.equal(parseEnv(r.body).REMOTE_USER, user);
    }
  }
  async function assertSignedOut(b, who) {
    for (const base of [A, B]) {
      const r = await b.getOnce(prot(base));
      assert.equal(r.status, 302, `${who} on ${base === A ? 'A' : 'B'}: ${dump(r)}`);
      assert.ok(r.location.startsWith(meta.authorization_endpoint), `${who}: sent to sign in: ${r.location}`);
      const s = await b.getOnce(`${base}/fedauth/session`);
      assert.equal(s.status, 401, `${who} /fedauth/session on ${base === A ? 'A' : 'B'}: ${dump(s)}`);
    }
  }

  it('the IdP lists backchannel_logout_supported and the client registers A\'s /signin-test/backchannel', async () => {
    assert.equal(meta.backchannel_logout_supported, true);
    assert.equal(c.clients.test.backchannel_logout_uri, `${A}/signin-test/backchannel`);
    assert.ok(meta.end_session_endpoint, 'end_session_endpoint');
  });

  it('alice signs in on A in two browsers, bob in a third; every session works on A and B', async () => {
    for (const [b, u, p] of [[b1, 'alice', 'alice-pass-1'], [b2, 'alice', 'alice-pass-1'], [b3, 'bob', 'bob-pass-2']]) {
      const r = await b.login(prot(A), u, p);
      assert.equal(r.status, 200, dump(r));
      assert.equal(r.loginFormSeen, true, 'each browser has its own IdP session');
    }
    await assertSignedIn(b1, 'alice (browser 1)', 'alice');
    await assertSignedIn(b2, 'alice (browser 2)', 'alice');
    await assertSignedIn(b3, 'bob', 'bob@example.org');
    assert.equal((await redis.keys(6, 'fedauth:s:*')).length, 3);
  });

  // ---- hostile requests: 400, nothing ends
  const now = () => Math.floor(Date.now() / 1000);
  const hostile = [
    ['GET', { method: 'GET' }],
    ['POST without logout_token', { body: 'something=else' }],
    ['POST with an empty body', { body: '' }],
    ['POST with logout_token in JSON instead of a form', { body: JSON.stringify({ logout_token: 'x.y.z' }), contentType: 'application/json' }],
    ['a garbage token', { token: 'garbage' }],
    ['three dots of garbage', { token: 'aaa.bbb.ccc' }],
    ['signed by the IdP, with a nonce', { claims: (ctx) => logoutClaims(ctx.idp, ctx.clientId, { sub: ALICE_SUB, nonce: 'n-0S6_WzA2Mj' }) }],
    ['signed by the IdP, without events', { claims: (ctx) => logoutClaims(ctx.idp, ctx.clientId, { sub: ALICE_SUB, events: undefined }) }],
    ['signed by the IdP, events without the back-channel event', { claims: (ctx) => logoutClaims(ctx.idp, ctx.clientId, { sub: ALICE_SUB, events: { 'http://schemas.openid.net/event/other': {} } }) }],
    ['signed by the IdP, events not an object', { claims: (ctx) => logoutClaims(ctx.idp, ctx.clientId, { sub: ALICE_SUB, events: BACKCHANNEL_EVENT }) }],
    ['signed by the IdP, neither sid nor sub', { claims: (ctx) => logoutClaims(ctx.idp, ctx.clientId, {}) }],
    ['signed by the IdP, for another client (aud)', { claims: (ctx) => logoutClaims(ctx.idp, ctx.clientId, { sub: ALICE_SUB, aud: 'someone-else' }) }],
    ['signed by the IdP, another issuer', { claims: (ctx) => logoutClaims(ctx.idp, ctx.clientId, { sub: ALICE_SUB, iss: `${ctx.idp.issuer}/evil` }) }],
    ['signed by the IdP, expired', { claims: (ctx) => logoutClaims(ctx.idp, ctx.clientId, { sub: ALICE_SUB, iat: now() - 7200, exp: now() - 3600 }) }],
    ['signed by the IdP, issued an hour from now', { claims: (ctx) => logoutClaims(ctx.idp, ctx.clientId, { sub: ALICE_SUB, iat: now() + 3600, exp: now() + 7200 }) }],
    ['a valid token with one signature bit flipped', { claims: (ctx) => logoutClaims(ctx.idp, ctx.clientId, { sub: ALICE_SUB }), flip: true }],
    ['alg none', { claims: (ctx) => logoutClaims(ctx.idp, ctx.clientId, { sub: ALICE_SUB }), header: { alg: 'none' } }],
  ];
  for (const [what, h] of hostile) {
    it(`hostile at the endpoint: ${what} -> 400 invalid_request, no session ends`, async () => {
      let token = h.token;
      if (h.claims) {
        token = await signAtIdp(c.idp, clientId, h.claims({ idp: c.idp, clientId }), h.header);
        if (h.flip) {
          const [x, y, s] = token.split('.');
          const sig = Buffer.from(s, 'base64url');
          sig[0] ^= 0x01;
          token = `${x}.${y}.${sig.toString('base64url')}`;
        }
      }
      for (const base of [A, B]) {
        const r = await postLogoutToken(base, 'test', token, h);
        assert400(r, `${what} at ${base === A ? 'A' : 'B'}`);
      }
      assert.equal(await statusOn(b1, A), 200, 'alice (browser 1) still signed in');
      assert.equal(await statusOn(b2, B), 200, 'alice (browser 2) still signed in');
    });
  }

  it('after the hostile requests every session still works on A and B', async () => {
    await assertSignedIn(b1, 'alice (browser 1)', 'alice');
    await assertSignedIn(b2, 'alice (browser 2)', 'alice');
    await assertSignedIn(b3, 'bob', 'bob@example.org');
  });

  it('alice ends her IdP session in browser 1 (end_session, "Yes, sign me out"): the IdP POSTs the logout token to A, 200', async () => {
    await c.idp.clearEvents();
    const r = await logoutAtIdp(b1, endSessionUrl(meta, { client_id: clientId }));
    assert.ok(r.confirmPage, `the IdP showed its logout confirmation: ${dump(r)}`);
    assert.equal(r.status, 200, dump(r));
    const events = await c.idp.events();
    const bc = events.filter((e) => e.event.startsWith('backchannel.'));
    assert.deepEqual(bc.map((e) => e.event), ['backchannel.success'], `IdP events: ${JSON.stringify(events)}`);
    const bcl = /"POST \/signin-test\/backchannel HTTP\/1\.1" 200/;
    assert.match(await c.hosts[0].accessLogWhen((l) => bcl.test(l)), bcl, 'A answered the IdP with 200');
  });

  it('browser 1\'s session is gone on A and on B; the other sessions (other sid, other user) stay', async () => {
    await assertSignedOut(b1, 'alice (browser 1)');
    await assertSignedIn(b2, 'alice (browser 2)', 'alice');
    await assertSignedIn(b3, 'bob', 'bob@example.org');
    assert.equal((await redis.keys(6, 'fedauth:s:*')).length, 2);
  });

  let valid;
  it('a logout token with sub only (no sid), signed by the IdP, POSTed to B: 200, empty body; every alice session ends on A and B, bob stays', async () => {
    valid = await signAtIdp(c.idp, clientId, logoutClaims(c.idp, clientId, { sub: ALICE_SUB }));
    const r = await postLogoutToken(B, 'test', valid);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, '');
    await assertSignedOut(b2, 'alice (browser 2)');
    await assertSignedIn(b3, 'bob', 'bob@example.org');
  });

  it('the same token again (same jti): 400 at B and at A (the store is shared)', async () => {
    assert.ok(valid, 'token used once');
    assert400(await postLogoutToken(B, 'test', valid), 'replay at B');
    assert400(await postLogoutToken(A, 'test', valid), 'replay at A');
  });

  it('a valid token for a sub without sessions: 200 (nothing to end)', async () => {
    const t = await signAtIdp(c.idp, clientId, logoutClaims(c.idp, clientId, { sub: 'nobody-sub' }));
    const r = await postLogoutToken(A, 'test', t);
    assert.equal(r.status, 200, r.body);
    await assertSignedIn(b3, 'bob', 'bob@example.org');
  });

  it('an unknown provider id: not a back-channel endpoint (no 200, no 5xx)', async () => {
    const t = await signAtIdp(c.idp, clientId, logoutClaims(c.idp, clientId, { sub: 'bob-sub-0002' }));
    const r = await postLogoutToken(A, 'nosuchidp', t);
    assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.body}`);
    await assertSignedIn(b3, 'bob', 'bob@example.org');
  });

  it('Redis stopped: a valid logout token gets 503', async () => {
    await redis.stop();
    const t = await signAtIdp(c.idp, clientId, logoutClaims(c.idp, clientId, { sub: 'bob-sub-0002' }));
    const r = await postLogoutToken(A, 'test', t);
    assert.equal(r.status, 503, r.body);
  });

  it('httpd A and B stop cleanly; the logs name the refusals; no crash lines', async () => {
    for (const h of c.hosts) {
      const info = await h.stop();
      assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    }
    assert.match(c.errorLogs(), /back-channel logout/i);
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs()}`);
  });
});
