// SPDX-License-Identifier: Apache-2.0
// Bearer tokens (t/spec/issue6.md): real JWT access tokens from the test
// IdP's resource server api://orders (oidc-provider's resourceIndicators,
// typ at+jwt, RS256), by client_credentials and by the authorization code
// flow with resource=api://orders, at locations with FedAuthBearer On.
// Accepted: REMOTE_USER / FEDAUTH_* / X-FedAuth-*, roles by GroupMap,
// Require fedauth-role, no Set-Cookie. Refused with 401 and
// WWW-Authenticate: Bearer ... error="invalid_token",
// error_description="<code>": wrong aud, expired, tampered signature, an ID
// token, a token of an IdP not offered here, HS256 / alg none, no sub.
// No token: Bearer realm only. A session cookie without a token is used.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, errorCodes, defaultUsers, USERS_B, protectedLocation,
} from '../lib/index.mjs';
import {
  apiClient, apiLocation, clientCredentialsToken, codeFlow, decodeJwt, flipSignatureByte, resign,
  signJwtAtIdp, parseChallenge, bearerGet, withSpaCallback, spaCallback,
} from '../lib/tokens.mjs';

const ORDERS = 'api://orders';
const resourceServers = (idpName) => ({
  [ORDERS]: {
    scope: 'orders:read',
    userClaims: ['preferred_username', 'groups'],
    clientClaims: {
      [`svc-${idpName}`]: { groups: ['orders-readers'] },
      [`svc-${idpName}-admin`]: { groups: ['orders-readers', 'orders-admins'] },
    },
  },
  'api://other': { scope: 'other:read' },
});

describe('bearer tokens (FedAuthBearer On)', () => {
  let site;
  let base;
  let idpA;
  let idpB;
  let svcA;
  let svcAdmin;
  let svcB;
  let tokA; // client_credentials token of svc-a for api://orders (role reader)

  before(async () => {
    svcA = apiClient('svc-a');
    svcAdmin = apiClient('svc-a-admin');
    svcB = apiClient('svc-b');
    site = await startSite({
      idps: [
        {
          name: 'a',
          users: defaultUsers(),
          idpConfig: { resourceServers: resourceServers('a') },
          clients: [svcA, svcAdmin],
          providers: [{
            id: 'a',
            clientExtra: withSpaCallback,
            extra: 'GroupsClaim groups\nGroupMap orders-readers reader\nGroupMap orders-admins admin\nGroupMap wonderland-admins admin\n',
          }],
        },
        {
          name: 'b',
          users: USERS_B,
          idpConfig: { resourceServers: resourceServers('b') },
          clients: [svcB],
          providers: [{ id: 'b', extra: 'GroupsClaim groups\nGroupMap orders-readers reader\n' }],
        },
      ],
      locationsConf: [
        protectedLocation(),
        apiLocation('orders', { providers: 'a', audience: ORDERS }),
        apiLocation('other', { providers: 'a', audience: 'api://other' }),
        apiLocation('clientaud', { providers: 'a' }),
        apiLocation('admin', { providers: 'a', audience: ORDERS, require: 'Require fedauth-role admin' }),
        apiLocation('both', { audience: ORDERS }),
        apiLocation('bonly', { providers: 'b', audience: ORDERS }),
        apiLocation('nobearer', { providers: 'a', bearer: false, unauth: 401 }),
      ].join('\n'),
    });
    base = site.base;
    idpA = site.idps.a;
    idpB = site.idps.b;
    tokA = await clientCredentialsToken(idpA, svcA, { resource: ORDERS, scope: 'orders:read' });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  /** 401 with a Bearer challenge error="invalid_token" and the given error_description (when not null). */
  function assertRefused(res, code, msg = '') {
    assert.equal(res.status, 401, `${msg}\n${dump(res)}`);
    assert.equal(res.location, undefined, `${msg} no redirect`);
    const www = res.headers.get('www-authenticate');
    const ch = parseChallenge(www);
    assert.equal(ch.scheme, 'Bearer', `${msg} WWW-Authenticate: ${www}`);
    assert.ok(ch.params.realm, `${msg} realm in ${www}`);
    assert.equal(ch.params.error, 'invalid_token', `${msg} WWW-Authenticate: ${www}`);
    if (code !== null) {
      assert.equal(ch.params.error_description, code, `${msg} WWW-Authenticate: ${www}`);
      assert.ok(errorCodes(res.body).includes(code), `${msg} <code>${code}</code> in the page: ${res.body.slice(0, 500)}`);
    }
    assert.deepEqual(res.setCookies.map((c) => c.name), [], `${msg} no Set-Cookie`);
    assert.doesNotMatch(res.body, /REMOTE_USER=|FEDAUTH_USER=/, msg);
    return ch;
  }

  it('the IdP issues a real JWT access token for api://orders (typ at+jwt, RS256, aud api://orders)', () => {
    const { header, payload } = decodeJwt(tokA);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'RS256');
    assert.equal(payload.aud, ORDERS);
    assert.equal(payload.iss, idpA.issuer);
    assert.equal(payload.sub, 'svc-a');
    assert.deepEqual(payload.groups, ['orders-readers']);
    assert.equal(payload.nonce, undefined);
  });

  it('client_credentials token with FedAuthBearerAudience api://orders: user, FEDAUTH_*, roles, X-FedAuth-*, no cookie', async () => {
    const r = await bearerGet(`${base}/p/orders/env.cgi`, tokA, { headers: { 'X-FedAuth-User': 'mallory', 'X-FedAuth-Roles': 'admin' } });
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'svc-a@a', r.body); // no username claim: <sub>@<idp id>
    assert.equal(env.FEDAUTH_USER, 'svc-a@a', r.body);
    assert.equal(env.FEDAUTH_SUB, 'svc-a', r.body);
    assert.equal(env.FEDAUTH_IDP, 'a', r.body);
    assert.equal(env.FEDAUTH_ROLES, 'reader', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_USER, 'svc-a@a', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_ROLES, 'reader', r.body);
    assert.equal(r.headers.get('set-cookie'), null, 'no Set-Cookie for a bearer request');
  });

  it('the same token again (now from the cache) gives the same user and still no cookie', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await bearerGet(`${base}/p/orders/env.cgi`, tokA);
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'svc-a@a');
      assert.equal(parseEnv(r.body).FEDAUTH_ROLES, 'reader');
      assert.equal(r.headers.get('set-cookie'), null);
    }
  });

  it('a user access token from the code flow with resource=api://orders: the user, claims and roles of the token', async () => {
    const t = await codeFlow(idpA, site.clients.a, {
      redirectUri: spaCallback(site.clients.a), resource: ORDERS, scope: 'openid profile orders:read',
    });
    const { header, payload } = decodeJwt(t.access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(payload.aud, ORDERS);
    assert.equal(payload.sub, 'alice-sub-0001');
    const r = await bearerGet(`${base}/p/orders/env.cgi`, t.access_token);
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'alice', r.body);
    assert.equal(env.FEDAUTH_SUB, 'alice-sub-0001', r.body);
    assert.equal(env.FEDAUTH_IDP, 'a', r.body);
    assert.equal(env.FEDAUTH_ROLES, 'admin', r.body); // wonderland-admins -> admin; staff unmapped
    assert.equal(r.headers.get('set-cookie'), null);
    const adm = await bearerGet(`${base}/p/admin/env.cgi`, t.access_token);
    assert.equal(adm.status, 200, `Require fedauth-role admin with an admin's token\n${dump(adm)}`);
    assert.equal(parseEnv(adm.body).REMOTE_USER, 'alice');
  });

  it('Require fedauth-role admin: 403 for a bearer user without the role, 200 with it', async () => {
    const r = await bearerGet(`${base}/p/admin/env.cgi`, tokA);
    assert.equal(r.status, 403, dump(r));
    assert.equal(r.location, undefined);
    assert.ok(errorCodes(r.body).includes('access_denied'), r.body.slice(0, 500));
    assert.doesNotMatch(r.body, /REMOTE_USER=/);
    assert.equal(r.headers.get('set-cookie'), null);
    const adminTok = await clientCredentialsToken(idpA, svcAdmin, { resource: ORDERS, scope: 'orders:read' });
    const ok = await bearerGet(`${base}/p/admin/env.cgi`, adminTok);
    assert.equal(ok.status, 200, dump(ok));
    const env = parseEnv(ok.body);
    assert.equal(env.REMOTE_USER, 'svc-a-admin@a');
    assert.equal(env.FEDAUTH_ROLES, 'admin,reader');
  });

  it('wrong audience: the api://orders token where api://other is expected -> 401 wrong_aud', async () => {
    assertRefused(await bearerGet(`${base}/p/other/env.cgi`, tokA), 'wrong_aud', 'FedAuthBearerAudience api://other');
    assertRefused(await bearerGet(`${base}/p/clientaud/env.cgi`, tokA), 'wrong_aud', 'default audience (the ClientID)');
  });

  it('a token for api://other is accepted there and refused at api://orders', async () => {
    const other = await clientCredentialsToken(idpA, svcA, { resource: 'api://other', scope: 'other:read' });
    assert.equal(decodeJwt(other).payload.aud, 'api://other');
    const ok = await bearerGet(`${base}/p/other/env.cgi`, other);
    assert.equal(ok.status, 200, dump(ok));
    assert.equal(parseEnv(ok.body).REMOTE_USER, 'svc-a@a');
    assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, other), 'wrong_aud');
  });

  it('aud as an array holding api://orders, and an azp naming someone else: accepted (azp is not checked)', async () => {
    const { payload } = decodeJwt(tokA);
    const t = await resign(idpA, 'client-a', tokA, { aud: ['api://elsewhere', ORDERS], azp: 'someone-else' });
    const r = await bearerGet(`${base}/p/orders/env.cgi`, t);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).FEDAUTH_SUB, payload.sub);
  });

  it('re-signed by the IdP with the same claims: accepted (control for the re-signed cases below)', async () => {
    const t = await resign(idpA, 'client-a', tokA, { jti: 'resigned-control' });
    assert.notEqual(t, tokA);
    const r = await bearerGet(`${base}/p/orders/env.cgi`, t);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'svc-a@a');
  });

  it('expired (exp an hour ago, re-signed by the IdP) -> 401 token_expired; 30 s ago is within the 60 s leeway', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = await resign(idpA, 'client-a', tokA, { iat: now - 7200, exp: now - 3600 });
    assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, old), 'token_expired');
    const recent = await resign(idpA, 'client-a', tokA, { iat: now - 600, exp: now - 30 });
    const r = await bearerGet(`${base}/p/orders/env.cgi`, recent);
    assert.equal(r.status, 200, `exp 30 s ago, leeway 60 s\n${dump(r)}`);
  });

  it('nbf an hour ahead -> 401 invalid_token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const t = await resign(idpA, 'client-a', tokA, { nbf: now + 3600 });
    const ch = assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, t), null);
    assert.ok(ch.params.error_description, 'an error_description');
  });

  it('one byte of the signature flipped -> 401 invalid_signature', async () => {
    const bad = flipSignatureByte(tokA);
    assert.notEqual(bad, tokA);
    assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, bad), 'invalid_signature');
  });

  it('garbage, HS256 (keyed with the client secret) and alg none -> 401 invalid_token', async () => {
    assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, 'not.a-jwt'), 'invalid_token', 'garbage');
    assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, 'abc'), 'invalid_token', 'no dots');
    const { payload } = decodeJwt(tokA);
    const hs = await signJwtAtIdp(idpA, 'client-a', payload, { typ: 'at+jwt', alg: 'HS256', kid: undefined });
    assert.equal(decodeJwt(hs).header.alg, 'HS256');
    assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, hs), null, 'HS256');
    const [h, p] = tokA.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${p}.`;
    assert.ok(h);
    assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, none), null, 'alg none');
  });

  it('a token without sub -> 401', async () => {
    const t = await resign(idpA, 'client-a', tokA, { sub: null });
    assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, t), null, 'no sub');
  });

  it('an ID token sent as a bearer token -> 401 invalid_token (even where its aud is accepted)', async () => {
    const t = await codeFlow(idpA, site.clients.a, { redirectUri: spaCallback(site.clients.a) });
    const { header, payload } = decodeJwt(t.id_token);
    assert.notEqual(header.typ, 'at+jwt');
    assert.ok(payload.nonce, 'the ID token has a nonce');
    assert.equal(payload.aud, site.clients.a.client_id);
    // default audience = the ClientID, which is the ID token's aud: only the ID-token check can refuse it
    assertRefused(await bearerGet(`${base}/p/clientaud/env.cgi`, t.id_token), 'invalid_token', 'ID token at the ClientID audience');
    assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, t.id_token), null, 'ID token at api://orders');
  });

  it('typ decides: nonce with typ JWT -> 401 invalid_token; nonce with typ at+jwt, or typ JWT without nonce -> accepted', async () => {
    const jwtNonce = await resign(idpA, 'client-a', tokA, { nonce: 'n-1' });
    const withTypJwt = await signJwtAtIdp(idpA, 'client-a', decodeJwt(jwtNonce).payload, { typ: 'JWT' });
    assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, withTypJwt), 'invalid_token', 'nonce + typ JWT');
    const atNonce = await signJwtAtIdp(idpA, 'client-a', decodeJwt(jwtNonce).payload, { typ: 'at+jwt' });
    const ok1 = await bearerGet(`${base}/p/orders/env.cgi`, atNonce);
    assert.equal(ok1.status, 200, `nonce + typ at+jwt\n${dump(ok1)}`);
    const plain = await signJwtAtIdp(idpA, 'client-a', decodeJwt(tokA).payload, { typ: 'JWT' });
    const ok2 = await bearerGet(`${base}/p/orders/env.cgi`, plain);
    assert.equal(ok2.status, 200, `typ JWT, no nonce\n${dump(ok2)}`);
  });

  it('a token of an IdP not offered at the location -> 401 wrong_iss (also after it was cached at another location)', async () => {
    const tokB = await clientCredentialsToken(idpB, svcB, { resource: ORDERS, scope: 'orders:read' });
    assert.equal(decodeJwt(tokB).payload.iss, idpB.issuer);
    const both = await bearerGet(`${base}/p/both/env.cgi`, tokB);
    assert.equal(both.status, 200, `location offering a and b\n${dump(both)}`);
    assert.equal(parseEnv(both.body).REMOTE_USER, 'svc-b@b');
    assert.equal(parseEnv(both.body).FEDAUTH_IDP, 'b');
    const bonly = await bearerGet(`${base}/p/bonly/env.cgi`, tokB);
    assert.equal(bonly.status, 200, dump(bonly));
    assert.equal(parseEnv(bonly.body).FEDAUTH_ROLES, 'reader');
    for (let i = 0; i < 3; i++) {
      assertRefused(await bearerGet(`${base}/p/orders/env.cgi`, tokB), 'wrong_iss', `try ${i}`);
    }
    assertRefused(await bearerGet(`${base}/p/bonly/env.cgi`, tokA), 'wrong_iss', 'a token at a b-only location');
  });

  it('no token and no session: 401 with WWW-Authenticate Bearer realm only (no error), no redirect', async () => {
    for (const hdrs of [{}, { Accept: 'text/html' }]) {
      const r = await new Browser().getOnce(`${base}/p/orders/env.cgi`, { headers: hdrs });
      assert.equal(r.status, 401, dump(r));
      assert.equal(r.location, undefined);
      const www = r.headers.get('www-authenticate');
      const ch = parseChallenge(www);
      assert.equal(ch.scheme, 'Bearer', www);
      assert.match(ch.params.realm || '', /127\.0\.0\.1/, `realm is the server name: ${www}`);
      assert.deepEqual(Object.keys(ch.params), ['realm'], `no error attribute: ${www}`);
      assert.ok(errorCodes(r.body).includes('no_session'), r.body.slice(0, 400));
      assert.deepEqual(r.setCookies.map((c) => c.name), [], 'no state cookie, no session cookie');
    }
  });

  it('FedAuthBearer Off (default): a valid token is not used (401 no_session)', async () => {
    const r = await bearerGet(`${base}/p/nobearer/env.cgi`, tokA);
    assert.equal(r.status, 401, dump(r));
    assert.doesNotMatch(r.body, /REMOTE_USER=/);
    assert.ok(errorCodes(r.body).includes('no_session'), r.body.slice(0, 400));
  });

  it('a session cookie and no token at a bearer location: the session is used', async () => {
    const b = new Browser();
    const login = await b.login(`${base}/fedauth/login?idp=a&return_to=/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(login.status, 200, dump(login));
    assert.equal(parseEnv(login.body).REMOTE_USER, 'alice');
    const r = await b.getOnce(`${base}/p/orders/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'alice');
    assert.equal(env.FEDAUTH_IDP, 'a');
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog().slice(-4000)}`);
  });
});
