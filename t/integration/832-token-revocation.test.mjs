// SPDX-License-Identifier: Apache-2.0
// issue 22, token revocation (RFC 7009) when a session ends: the IdP
// (oidc-provider with its revocation endpoint) issues refresh tokens, the
// module keeps them (FedAuthRefreshBeforeExpiry); whoever holds a copy of
// a session's refresh token (a log, a backup of the store, a stolen
// disk) must not get new access tokens with it once the user logged out.
// The test plays that holder: it takes the refresh token the IdP issued
// for the session (GET /_admin/tokens), shows it works, logs out (here,
// back-channel, front-channel), and then the IdP's token endpoint refuses
// it (invalid_grant) and its userinfo the access token. A revocation
// endpoint that refuses or does not answer never blocks the logout: the
// session ends, within FedAuthHTTPTimeout, with a log line and a metric.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  Browser, parseEnv, dump, discovery, signOut, protectedLocation,
} from '../lib/index.mjs';
import {
  startHosts, logoutClaims, signAtIdp, postLogoutToken,
} from '../lib/cluster.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';

const HTTP_TIMEOUT = 2;
const CLIENT = { grant_types: ['authorization_code', 'refresh_token'], backchannel_logout_session_required: true };

/** The refresh_token grant as client at the IdP of meta: { status, json }. */
async function refreshGrant(meta, client, refreshToken) {
  const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64');
  const r = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${basic}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
    signal: AbortSignal.timeout(5000),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = { text }; }
  return { status: r.status, json };
}

describe('token revocation when a session ends', () => {
  let c;
  let base;
  let meta;
  let client;
  const prot = () => `${base}/protected/env.cgi`;
  const seen = [];

  before(async () => {
    c = await startHosts({
      hosts: 1,
      httpTimeout: HTTP_TIMEOUT,
      storeConf: 'FedAuthSessionStore shm',
      idpConfig: { revocation: true, refreshTokens: {} },
      providers: [{ id: 'test', extra: '    ClaimMap sid SID\n', client: CLIENT }],
      serverConf: 'LogLevel warn fedauth:info\nFedAuthRefreshBeforeExpiry 30\nFedAuthMetrics On',
      locationsConf: `${protectedLocation()}<Location /fedauth/metrics>
    Require all granted
</Location>
`,
    });
    base = c.base;
    meta = await discovery(c.idp.issuer);
    client = c.clients.test;
  });
  after(async () => {
    await c?.idp?.admin('/_admin/override', { method: 'POST', body: { reset: true } }).catch(() => {});
    await c?.stop();
    c?.cleanup();
  });

  /** Signs user in with a new browser; { b, env, rt, at }: the tokens the IdP issued for that session. */
  async function signIn(user, password) {
    await c.idp.admin('/_admin/tokens/clear', { method: 'POST' });
    const b = new Browser();
    const r = await b.login(prot(), user, password);
    assert.equal(r.status, 200, dump(r));
    const tokens = await c.idp.admin('/_admin/tokens');
    const rt = tokens.filter((t) => t.kind === 'refresh_token');
    const at = tokens.filter((t) => t.kind === 'access_token');
    assert.equal(rt.length, 1, JSON.stringify(tokens));
    assert.equal(at.length, 1, JSON.stringify(tokens));
    seen.push(rt[0].value, at[0].value);
    return { b, env: parseEnv(r.body), rt: rt[0].value, at: at[0].value };
  }

  const grant = (rt) => refreshGrant(meta, client, rt);

  const userinfoStatus = async (token) => (await fetch(meta.userinfo_endpoint, {
    headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000),
  })).status;
  const revocationHits = async () => (await c.idp.admin('/_admin/hits'))['/token/revocation'] || 0;
  const assertRefused = async (rt) => {
    const g = await grant(rt);
    assert.equal(g.status, 400, JSON.stringify(g.json));
    assert.equal(g.json.error, 'invalid_grant', JSON.stringify(g.json));
  };

  it('discovery lists the revocation endpoint', () => {
    assert.equal(meta.revocation_endpoint, `${c.idp.issuer}/token/revocation`);
  });

  it('/fedauth/logout: the session\'s refresh token, which worked before, is refused at the IdP after; its access token too; refresh first, then access', async () => {
    const { b, rt, at } = await signIn('alice', 'alice-pass-1');
    assert.equal((await grant(rt)).status, 200, 'the holder\'s copy works while the session lives');
    await c.idp.admin('/_admin/hits/clear', { method: 'POST' });
    const r = await signOut(b, `${base}/fedauth/logout`);
    assert.equal(r.status, 200, dump(r));
    assert.equal((await b.getOnce(`${base}/fedauth/session`)).status, 401);
    assert.equal(await revocationHits(), 2);
    await assertRefused(rt);
    assert.equal(await userinfoStatus(at), 401);
    const log = c.errorLogs();
    const i = log.indexOf('FA01151: refresh_token of alice revoked at test');
    const j = log.indexOf('FA01151: access_token of alice revoked at test');
    assert.ok(i >= 0 && j > i, log);
  });

  it('back-channel logout (an IdP-signed token with bob\'s sub): his session ends and its refresh token is refused after', async () => {
    const { b, rt } = await signIn('bob', 'bob-pass-2');
    assert.equal((await grant(rt)).status, 200);
    const token = await signAtIdp(c.idp, client.client_id, logoutClaims(c.idp, client.client_id, { sub: 'bob-sub-0002' }));
    const r = await postLogoutToken(base, 'test', token);
    assert.equal(r.status, 200, r.body);
    assert.equal((await b.getOnce(`${base}/fedauth/session`)).status, 401);
    await assertRefused(rt);
  });

  it('front-channel logout (alice\'s sid): her session ends and its refresh token is refused after', async () => {
    const { b, env, rt } = await signIn('alice', 'alice-pass-1');
    assert.ok(env.FEDAUTH_SID, JSON.stringify(env));
    const r = await fetch(`${base}/signin-test/frontchannel?${new URLSearchParams({ iss: c.idp.issuer, sid: env.FEDAUTH_SID })}`, { signal: AbortSignal.timeout(10000) });
    assert.equal(r.status, 200, await r.text());
    assert.equal((await b.getOnce(`${base}/fedauth/session`)).status, 401);
    await assertRefused(rt);
  });

  it('the revocation endpoint answers 503: the logout still happens (session gone), a warning names the failure; the IdP kept the token', async () => {
    const { b, rt } = await signIn('alice', 'alice-pass-1');
    await c.idp.admin('/_admin/override', {
      method: 'POST',
      body: { path: '/token/revocation', method: 'POST', status: 503, body: '{"error":"temporarily_unavailable"}' },
    });
    await c.idp.admin('/_admin/hits/clear', { method: 'POST' });
    try {
      const r = await signOut(b, `${base}/fedauth/logout`);
      assert.equal(r.status, 200, dump(r));
      assert.equal((await b.getOnce(`${base}/fedauth/session`)).status, 401);
      assert.equal(await revocationHits(), 2, 'the access token is still tried after a refusal');
    } finally {
      await c.idp.admin('/_admin/override', { method: 'POST', body: { path: '/token/revocation', body: null } });
    }
    assert.match(c.errorLogs(), /FA01152: revocation of the refresh_token of alice at test failed: token_error: revocation endpoint answered 503 error=temporarily_unavailable; the logout goes on/);
    assert.equal((await grant(rt)).status, 200, 'not revoked: the IdP refused');
  });

  it('the revocation endpoint does not answer: the logout ends within FedAuthHTTPTimeout + 1.5 s, the access token is not tried', async () => {
    const { b } = await signIn('alice', 'alice-pass-1');
    await c.idp.admin('/_admin/override', {
      method: 'POST',
      body: { path: '/token/revocation', method: 'POST', body: '', delayMs: 15000 },
    });
    await c.idp.admin('/_admin/hits/clear', { method: 'POST' });
    let ms;
    try {
      const t0 = Date.now();
      const r = await signOut(b, `${base}/fedauth/logout`);
      ms = Date.now() - t0;
      assert.equal(r.status, 200, dump(r));
    } finally {
      await c.idp.admin('/_admin/override', { method: 'POST', body: { path: '/token/revocation', body: null } });
    }
    assert.ok(ms < (HTTP_TIMEOUT + 1.5) * 1000, `logout took ${ms} ms`);
    assert.equal((await b.getOnce(`${base}/fedauth/session`)).status, 401);
    assert.equal(await revocationHits(), 1);
    assert.match(c.errorLogs(), /FA01152: revocation of the refresh_token of alice at test failed: idp_unreachable: /);
    assert.match(c.errorLogs(), /FA01153: access token of alice not revoked: test did not answer/);
  });

  it('metrics: 9 revocations at test, 3 of them failed', async () => {
    const text = await (await fetch(`${base}/fedauth/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    assert.match(text, /^fedauth_token_revocations_total\{provider="test"\} 9$/m, text);
    assert.match(text, /^fedauth_token_revocation_failures_total\{provider="test"\} 3$/m, text);
  });

  it('no token value in the error log; httpd stops cleanly', async () => {
    const info = await c.hosts[0].stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    const log = c.errorLogs();
    for (const t of seen) assert.ok(!log.includes(t), 'a token in the log');
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}`);
  });
});

describe('two hosts sharing Redis: a front-channel logout at A ends the session made at B and revokes its tokens', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  let redis;
  let c;
  let A;
  let B;

  before(async () => {
    redis = await startRedis();
    c = await startHosts({
      hosts: 2,
      storeConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/7\nFedAuthRedisPrefix "t832:"`,
      idpConfig: { revocation: true, refreshTokens: {} },
      providers: [{ id: 'test', extra: '    ClaimMap sid SID\n', client: CLIENT }],
      serverConf: 'LogLevel warn fedauth:info\nFedAuthRefreshBeforeExpiry 30',
    });
    [A, B] = c.bases;
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  it('alice signs in at B; the front-channel request reaches A; her session is gone on both hosts and the IdP refuses its refresh token', async () => {
    const meta = await discovery(c.idp.issuer);
    await c.idp.admin('/_admin/tokens/clear', { method: 'POST' });
    const b = new Browser();
    const r = await b.login(`${B}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    const sid = parseEnv(r.body).FEDAUTH_SID;
    assert.ok(sid, r.body);
    const rt = (await c.idp.admin('/_admin/tokens')).find((t) => t.kind === 'refresh_token')?.value;
    assert.ok(rt, 'a refresh token');
    assert.equal((await refreshGrant(meta, c.clients.test, rt)).status, 200);
    const bob = new Browser();
    assert.equal((await bob.login(`${B}/protected/env.cgi`, 'bob', 'bob-pass-2')).status, 200);
    const f = await fetch(`${A}/signin-test/frontchannel?${new URLSearchParams({ iss: c.idp.issuer, sid })}`, { signal: AbortSignal.timeout(10000) });
    assert.equal(f.status, 200, await f.text());
    assert.equal((await b.getOnce(`${B}/fedauth/session`)).status, 401);
    const again = new Browser();
    again.jar.set(A, 'fedauth_session', b.jar.get('fedauth_session')?.value || 'x');
    assert.equal((await again.getOnce(`${A}/fedauth/session`)).status, 401);
    const g = await refreshGrant(meta, c.clients.test, rt);
    assert.equal(g.status, 400, JSON.stringify(g.json));
    assert.equal(g.json.error, 'invalid_grant');
    assert.equal((await bob.getOnce(`${B}/fedauth/session`)).status, 200, 'bob stays');
  });

  it('httpds stop cleanly', async () => {
    for (const h of c.hosts) {
      const info = await h.stop();
      assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    }
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}`);
  });
});
