// SPDX-License-Identifier: Apache-2.0
// Issue 22: "used for every call that authenticates the client". One
// provider with TokenEndpointAuth private_key_jwt (ES256) at an IdP that
// requires pushed authorization requests and offers introspection and
// revocation: the push, the code exchange, a refresh, the introspection of
// an opaque bearer token and the revocations at logout each carry a
// client assertion the IdP accepted (t/idp/clientauth.mjs records them),
// signed by the configured key, aud the token endpoint, a jti of its own;
// the push sends client_id once (oidc-provider refuses a parameter twice).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  startSite, Browser, dump, parseEnv, signOut, sleep, defaultUsers,
} from '../lib/index.mjs';
import { apiLocation, bearerGet } from '../lib/tokens.mjs';

const ACCESS_TTL = 15;
const BEFORE = 14; // an access token is due for refresh a second after it is issued

const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-keys801-'));
fs.chmodSync(keyDir, 0o700);
after(() => fs.rmSync(keyDir, { recursive: true, force: true }));

function thumbprint(jwk) {
  const m = { crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y };
  return crypto.createHash('sha256').update(JSON.stringify(m)).digest('base64url');
}

describe('private_key_jwt at every endpoint that authenticates the client', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = path.join(keyDir, 'k.pem');
  fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = thumbprint(jwk);
  let site;
  let base;
  let tokenEndpoint;

  const assertionsAt = async (p) => (await site.idp.events())
    .filter((e) => e.event === 'client_assertion' && e.client_id === 'client-k' && e.path === p);

  function checkSigned(a) {
    assert.equal(a.header.alg, 'ES256', JSON.stringify(a));
    assert.equal(a.header.kid, kid, 'kid: the thumbprint of the configured key');
    assert.equal(a.claims.iss, 'client-k');
    assert.equal(a.claims.sub, 'client-k');
    assert.equal(a.claims.aud, tokenEndpoint, 'aud: the token endpoint, whatever endpoint is called');
  }

  before(async () => {
    site = await startSite({
      idps: [{
        name: 'default',
        users: defaultUsers(),
        idpConfig: {
          accessTokenTTL: ACCESS_TTL,
          refreshTokens: {},
          revocation: true,
          introspection: { username: true },
          par: { require: true },
        },
        providers: [{
          id: 'k',
          auth: 'private_key_jwt',
          clientExtra: {
            grant_types: ['authorization_code', 'refresh_token'],
            token_endpoint_auth_signing_alg: 'ES256',
            jwks: { keys: [{ ...jwk, kid }] },
          },
          extra: `ClientKeyFile "${keyFile}"`,
        }],
      }],
      serverConf: `FedAuthRefreshBeforeExpiry ${BEFORE}\nFedAuthRefreshFailure end`,
      locationsConf: `<Location /p/k/>
    AuthType FedAuth
    FedAuthProviders k
    Require valid-user
</Location>
${apiLocation('api', { providers: 'k' })}`,
    });
    base = site.base;
    const meta = await (await fetch(`${site.idp.issuer}/.well-known/openid-configuration`)).json();
    tokenEndpoint = meta.token_endpoint;
    assert.ok(meta.require_pushed_authorization_requests, 'the IdP requires PAR');
    assert.ok(meta.introspection_endpoint && meta.revocation_endpoint);
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('sign-in: the push and the code exchange each carry an accepted assertion, each with its own jti; one client_id in the push', async () => {
    const b = new Browser();
    const r = await b.login(`${base}/p/k/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    const pushes = await assertionsAt('/request');
    const codes = (await assertionsAt('/token')).filter((e) => e.grant_type === 'authorization_code');
    assert.equal(pushes.length, 1, 'one push, authenticated with the key');
    assert.equal(codes.length, 1, 'one code exchange, authenticated with the key');
    checkSigned(pushes[0]);
    checkSigned(codes[0]);
    assert.notEqual(pushes[0].claims.jti, codes[0].claims.jti);
  });

  it('refresh, introspection of the session\'s opaque access token, and both revocations at logout: each with an accepted assertion', async () => {
    await site.idp.admin('/_admin/tokens/clear', { method: 'POST' });
    const b = new Browser();
    let r = await b.login(`${base}/p/k/env.cgi`, 'bob', 'bob-pass-2');
    assert.equal(r.status, 200, dump(r));
    // the access token is due a second after it was issued: the next
    // request refreshes it at the token endpoint
    await sleep(1500);
    r = await b.get(`${base}/p/k/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    const refreshes = (await assertionsAt('/token')).filter((e) => e.grant_type === 'refresh_token');
    assert.ok(refreshes.length >= 1, 'the refresh authenticated with the key');
    checkSigned(refreshes.at(-1));

    // an opaque access token of bob, used as a bearer token
    const issued = await site.idp.admin('/_admin/tokens');
    const at = issued.filter((t) => t.kind === 'access_token' && !t.destroyed).at(-1);
    assert.ok(at && !at.value.includes('.'), `an opaque access token: ${JSON.stringify(issued)}`);
    const rb = await bearerGet(`${base}/p/api/env.cgi`, at.value);
    assert.equal(rb.status, 200, dump(rb));
    assert.equal(parseEnv(rb.body).FEDAUTH_SUB, parseEnv(r.body).FEDAUTH_SUB);
    const intro = await assertionsAt('/token/introspection');
    assert.equal(intro.length, 1, 'one introspection, authenticated with the key');
    checkSigned(intro[0]);

    const out = await signOut(b, `${base}/fedauth/logout`);
    assert.equal(out.status, 200, dump(out));
    const rev = await assertionsAt('/token/revocation');
    assert.equal(rev.length, 2, 'refresh token and access token revoked, each with the key');
    rev.forEach(checkSigned);
    const jtis = new Set((await site.idp.events())
      .filter((e) => e.event === 'client_assertion').map((e) => e.claims.jti));
    const count = (await site.idp.events()).filter((e) => e.event === 'client_assertion').length;
    assert.equal(jtis.size, count, 'every assertion has a jti of its own');
    assert.doesNotMatch(site.errorLog(), /client_assertion=|eyJ[A-Za-z0-9_-]{20,}\./, 'no assertion in the log');
  });
});
