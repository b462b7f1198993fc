// SPDX-License-Identifier: Apache-2.0
// The test tier checks itself: the test IdP and the browser-like client,
// without httpd. A node relying party (t/lib/rp.mjs) runs the
// authorization-code flow with PKCE against the real oidc-provider for each
// client authentication method and each ID token signing algorithm.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { startIdp, defaultUsers, clientFor, Browser, freePort, parseForm } from '../lib/index.mjs';
import { discover, pkcePair, authorizationUrl, exchangeCode, verifyIdToken } from '../lib/rp.mjs';

const ALGS = ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256'];
const AUTHS = ['client_secret_basic', 'client_secret_post', 'none'];

describe('test IdP (no httpd)', () => {
  let idp;
  let meta;
  let rpBase;
  const clients = {};

  before(async () => {
    rpBase = `http://127.0.0.1:${await freePort()}`; // nothing listens: the RP stops at the redirect
    for (const auth of AUTHS) clients[auth] = clientFor({ id: `auth-${auth.replace(/_/g, '-')}`, httpdBase: rpBase, auth });
    for (const alg of ALGS) {
      clients[alg] = clientFor({ id: `alg-${alg.toLowerCase()}`, httpdBase: rpBase, alg, secret: alg === 'HS256' ? crypto.randomBytes(32).toString('hex') : undefined });
    }
    idp = await startIdp({ clients: Object.values(clients), users: defaultUsers() });
    meta = await discover(idp.issuer);
  });

  after(async () => { await idp?.stop(); idp?.cleanup(); });

  it('publishes discovery with the expected issuer, PKCE S256 and all signing algs', () => {
    assert.equal(meta.issuer, idp.issuer);
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    for (const alg of ALGS) assert.ok(meta.id_token_signing_alg_values_supported.includes(alg), alg);
    assert.ok(meta.end_session_endpoint, 'rp-initiated logout enabled');
    assert.equal(meta.backchannel_logout_supported, true);
    for (const m of AUTHS) assert.ok(meta.token_endpoint_auth_methods_supported.includes(m), m);
  });

  async function flow(client, { user = 'alice', password = 'alice-pass-1', browser = new Browser() } = {}) {
    const redirectUri = client.redirect_uris[0];
    const { verifier, challenge } = pkcePair();
    const state = crypto.randomBytes(16).toString('base64url');
    const nonce = crypto.randomBytes(16).toString('base64url');
    const url = authorizationUrl(meta, {
      client, redirectUri, state, nonce, challenge, scope: 'openid email profile groups',
    });
    const res = await browser.login(url, user, password, { stopAt: (u) => u.startsWith(redirectUri) });
    assert.ok(res.stoppedAt, `stopped at the redirect URI; hops: ${JSON.stringify(res.hops.map((h) => [h.status, h.url]))}`);
    const cb = new URL(res.stoppedAt);
    assert.equal(cb.searchParams.get('state'), state);
    assert.equal(cb.searchParams.get('iss'), idp.issuer);
    const code = cb.searchParams.get('code');
    assert.ok(code, `code in ${res.stoppedAt}`);
    const tok = await exchangeCode(meta, { client, code, redirectUri, verifier });
    assert.equal(tok.status, 200, JSON.stringify(tok.json));
    const { header, payload } = await verifyIdToken(meta, tok.json.id_token, { clientSecret: client.client_secret });
    return { header, payload, tok, browser, res };
  }

  for (const auth of AUTHS) {
    it(`code flow + PKCE with ${auth}`, async () => {
      const { payload, res } = await flow(clients[auth]);
      assert.equal(res.loginFormSeen, true);
      assert.equal(payload.sub, 'alice-sub-0001');
      assert.equal(payload.aud, clients[auth].client_id);
      assert.equal(payload.iss, idp.issuer);
      // conformIdTokenClaims: false puts the scope claims into the ID token
      assert.equal(payload.preferred_username, 'alice');
      assert.equal(payload.email, 'alice@example.org');
      assert.equal(payload.email_verified, true);
      assert.deepEqual(payload.groups, ['staff', 'wonderland-admins']);
    });
  }

  for (const alg of ALGS) {
    it(`ID token signed with ${alg}`, async () => {
      const { header, payload } = await flow(clients[alg], { user: 'bob', password: 'bob-pass-2' });
      assert.equal(header.alg, alg);
      assert.equal(payload.sub, 'bob-sub-0002');
      if (alg !== 'HS256') assert.ok(header.kid);
    });
  }

  it('wrong password shows the form again with an error, status 200', async () => {
    const b = new Browser();
    const client = clients.client_secret_basic;
    const { challenge } = pkcePair();
    const url = authorizationUrl(meta, { client, redirectUri: client.redirect_uris[0], state: 's1', nonce: 'n1', challenge });
    const res = await b.login(url, 'alice', 'wrong', { stopAt: () => false });
    assert.equal(res.status, 200);
    assert.match(res.body, /Invalid username or password/);
    const form = parseForm(res.body, res.url);
    assert.ok(form && 'password' in form.fields);
  });

  it('a second client in the same browser gets a code without the form (auto consent)', async () => {
    const b = new Browser();
    await flow(clients.RS256, { browser: b });
    const second = await flow(clients.ES256, { browser: b });
    assert.equal(second.res.loginFormSeen, false);
  });

  it('PKCE is required, also for confidential clients', async () => {
    const client = clients.client_secret_basic;
    const u = new URL(meta.authorization_endpoint);
    u.search = new URLSearchParams({
      response_type: 'code', client_id: client.client_id, redirect_uri: client.redirect_uris[0], scope: 'openid', state: 'x', nonce: 'y',
    }).toString();
    const r = await new Browser().get(u.href, { stopAt: (x) => x.startsWith(client.redirect_uris[0]) });
    const cb = new URL(r.stoppedAt);
    assert.equal(cb.searchParams.get('error'), 'invalid_request');
    assert.match(cb.searchParams.get('error_description'), /PKCE/);
  });

  it('the Cancel button sends error=access_denied with the given description to the client', async () => {
    const b = new Browser();
    const client = clients.client_secret_post;
    const { challenge } = pkcePair();
    const redirectUri = client.redirect_uris[0];
    const url = authorizationUrl(meta, { client, redirectUri, state: 's2', nonce: 'n2', challenge });
    const page = await b.get(url);
    const m = /action="([^"]*\/abort)"/.exec(page.body);
    assert.ok(m);
    const r = await b.post(new URL(m[1], page.url).href, { error_description: '<script>alert(1)</script>' }, { stopAt: (x) => x.startsWith(redirectUri) });
    const cb = new URL(r.stoppedAt);
    assert.equal(cb.searchParams.get('error'), 'access_denied');
    assert.equal(cb.searchParams.get('error_description'), '<script>alert(1)</script>');
    assert.equal(cb.searchParams.get('state'), 's2');
  });

  it('tamper modes: re-signed tokens verify, only the named property is wrong', async () => {
    try {
      await idp.tamper('wrong_nonce');
      const a = await flow(clients.ES384, { user: 'bob', password: 'bob-pass-2' });
      assert.equal(a.payload.nonce, 'not-the-nonce-that-was-sent');
      assert.equal(a.header.alg, 'ES384');
      await idp.tamper('wrong_aud');
      const h = await flow(clients.HS256, { user: 'bob', password: 'bob-pass-2' });
      assert.equal(h.payload.aud, 'someone-else');
      await idp.tamper('bad_signature');
      await assert.rejects(flow(clients.PS256, { user: 'bob', password: 'bob-pass-2' }), /bad PS256 signature/);
      await idp.tamper('alg_none');
      await assert.rejects(flow(clients.RS256, { user: 'bob', password: 'bob-pass-2' }), /alg none/);
      await idp.tamper('no_id_token');
      await assert.rejects(flow(clients.RS256, { user: 'bob', password: 'bob-pass-2' }), /split|undefined/);
      await idp.tamper('discovery_issuer');
      const m = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
      assert.equal(m.issuer, `${idp.issuer}/other`);
      await assert.rejects(idp.tamper('no-such-mode'), /400/);
    } finally {
      await idp.tamper(null);
    }
    const ok = await flow(clients.RS256, { user: 'bob', password: 'bob-pass-2' });
    assert.equal(ok.payload.sub, 'bob-sub-0002');
  });

  it('admin hook records token endpoint events', async () => {
    const ev = await idp.events();
    assert.ok(ev.some((e) => e.event === 'grant.success'));
  });

  it('stops on SIGTERM', async () => {
    const info = await idp.stop();
    assert.equal(info.code, 0);
    assert.equal(idp.running(), false);
  });
});
