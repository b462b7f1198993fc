#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Test OpenID Provider for mod_fedauth's integration and browser tests.
//
// A real provider (npm `oidc-provider`), not a mock: discovery, JWKS,
// authorization endpoint with PKCE S256 required, token endpoint with
// client_secret_basic / client_secret_post / none, ID tokens signed with
// the algorithm each client asks for, userinfo, RP-initiated and
// back-channel logout. Only the interaction pages are ours: a plain login
// form and an automatically granted consent.
//
//   node t/idp/server.mjs --config <file.json>
//
// Config JSON:
//   { port (0: any free port), issuer? (default http://127.0.0.1:<port>),
//     clients: [oidc-provider client metadata],
//     users: [{ username, password, claims: { sub, email, ... groups },
//               userinfoOnly?: { ... } }],
//     idTokenTTL?, adminToken?,
//     accessTokenTTL? (s, default 600: opaque access tokens),
//     refreshTokens? { rotate?: bool } (refresh tokens for every client
//       whose grant_types include refresh_token, without offline_access;
//       rotate: a new refresh token at each use, the old one then void,
//       and its reuse revokes the grant, as oidc-provider does) }
//   Events (GET /_admin/events) carry the grant_type of grant.* events, so
//   that a test counts refresh_token grants; client_assertion events hold
//   each accepted private_key_jwt / client_secret_jwt assertion's header
//   and claims (t/idp/clientauth.mjs).
//   resourceServers?: { "<resource indicator>": { scope? (default "api"),
//       audience? (default: the indicator), accessTokenTTL? (s, default 600),
//       userClaims?: [names of the user's claims copied into its access
//       tokens], clientClaims?: { "<client_id>": { claims put into that
//       client's client_credentials tokens } } } },
//   defaultResource? (indicator used when a request names none)
//   introspection?: true | { username? } (t/idp/introspect.mjs: token
//     introspection and revocation endpoints)
//   par?: { require? } (t/idp/par.mjs: pushed authorization requests
//     required by policy)
//   With resourceServers, oidc-provider's resourceIndicators feature (RFC
//   8707) issues JWT access tokens (RS256, typ at+jwt, aud = audience) for
//   requests with resource=<indicator>, and the client_credentials grant is
//   enabled (a client still needs it in its grant_types).
//   revocation? (true: the RFC 7009 revocation endpoint; GET /_admin/tokens
//     and GET /_test/frontchannel for logout tests: see t/idp/logout.mjs)
//   A user's `userinfoOnly` claims are served by the userinfo endpoint only
//   (merged over `claims` there; never in the ID token), as IdPs that put
//   name, email or groups only into userinfo do. Claim names beyond the
//   standard ones, found in the configured users' claims or userinfoOnly,
//   are released with the profile scope (users set later through
//   /_admin/users can only use claim names known at start).
//
// Prints exactly one line `READY <issuer>` on stdout once listening; exits
// cleanly on SIGTERM / SIGINT. Listens on 127.0.0.1 only.
//
// Admin hook (only when adminToken is set; header `X-Admin-Token`):
//   GET  /_admin/events        JSON array of provider events seen so far
//   POST /_admin/events/clear  forget them
//   POST /_admin/users         body JSON: replace the user list
//   POST /_admin/tamper        body JSON {"mode": <mode> | null}: from now on
//                              misbehave like a broken or hostile IdP (see
//                              TAMPER_MODES below), until set to null.
//                              {"mode": "claims", "claims": {"iss": "...",
//                              "tid": "...", "x": null}}: every ID token is
//                              re-signed with the IdP's own key (same kid and
//                              alg; the client secret for HS256) after these
//                              claims are set (null: removed); for multi-tenant
//                              issuer checks. The string "{issuer}" in a value
//                              is replaced by this IdP's issuer.
//   POST /_admin/sign          body JSON {"client_id", "claims", "header"?}:
//                              {"token": JWS over those claims signed with
//                              this IdP's key for the client's alg} (logout
//                              tokens with arbitrary claims).
//   POST /_admin/discovery     body JSON {"overrides": {...} | null,
//                              "stripIssParam": bool}: until reset, the
//                              discovery document is served with these members
//                              replaced (e.g. an "issuer" with {tenantid}, as
//                              Entra ID's /common endpoint does), and with
//                              stripIssParam the authorization response carries
//                              no iss parameter (query and form_post).
//   POST /_admin/keys          body JSON (hostile key handling, merged into
//                              the current setting): {"rotate": true} makes a
//                              new RSA key (kid rsa-rotated-<n>) that signs
//                              every RS*/PS* ID token from now on and is
//                              added to the JWKS; "keepOld": false drops the
//                              old RSA key from the JWKS; "dropKid": true
//                              re-signs ID tokens without kid; "jwksOnly":
//                              [kid, ...] lists only those keys in the JWKS;
//                              "padClaimBytes": n adds a claim "pad" of n
//                              bytes to every ID token (re-signed);
//                              {"reset": true}: back to normal.
//   POST /_admin/override      body JSON {"path", "method"?, "status"?
//                              (200), "contentType"? (application/json),
//                              "body": string | null, "delayMs"? (<= 60000)}:
//                              until removed (body null) or {"reset": true},
//                              requests for path are answered with exactly
//                              this (junk, oversized or slow documents).
//                              Bodies of up to 16 MiB.
//   /graph/v1.0/..., /_admin/graph  a stand-in for Microsoft Graph's
//                              getMemberObjects (config "graph"), see
//                              t/idp/graph.mjs.
//   GET  /_admin/hits          JSON {path: number of requests} (not /_admin);
//   POST /_admin/hits/clear    forget them.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

import Provider, { errors as oidcErrors } from 'oidc-provider';
import { makeGraph } from './graph.mjs';

import {
  logoutFeatures, watchTokens, LOGOUT_ADMIN, logoutAdmin, frontchannelPage,
} from './logout.mjs';
import { introspectionOptions } from './introspect.mjs';
import { parFeatures } from './par.mjs';

import { CLIENT_AUTH_ALGS, recordClientAssertions } from './clientauth.mjs';

const { values: args } = parseArgs({ options: { config: { type: 'string' } } });
if (!args.config) {
  process.stderr.write('usage: server.mjs --config <file.json>\n');
  process.exit(2);
}
const config = JSON.parse(fs.readFileSync(args.config, 'utf8'));
let users = Array.isArray(config.users) ? config.users : [];
const events = [];

// ---------------------------------------------------------------- keys
const keys = signingKeys();
function signingKeys() {
  const jwk = (kp, kid, extra = {}) => ({
    ...kp.privateKey.export({ format: 'jwk' }), kid, use: 'sig', ...extra,
  });
  const gen = (type, opts) => crypto.generateKeyPairSync(type, opts);
  return [
    // first key: RSA, used for RS256 (the default) and PS256
    jwk(gen('rsa', { modulusLength: 2048 }), 'rsa-1'),
    jwk(gen('ec', { namedCurve: 'P-256' }), 'ec-p256-1', { alg: 'ES256' }),
    jwk(gen('ec', { namedCurve: 'P-384' }), 'ec-p384-1', { alg: 'ES384' }),
    jwk(gen('ec', { namedCurve: 'P-521' }), 'ec-p521-1', { alg: 'ES512' }),
    jwk(gen('ed25519'), 'okp-ed25519-1'),
  ];
}

// ---------------------------------------------------------------- html
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(res, status, title, body) {
  const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body><h1>${esc(title)}</h1>
${body}
</body></html>
`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(html),
  });
  res.end(html);
}

function loginForm(res, uid, clientId, error) {
  page(res, 200, 'Sign in to the test IdP', `
<p>Client: <span id="client">${esc(clientId)}</span></p>
${error ? `<p class="error" id="error" role="alert">${esc(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<label>Username <input type="text" name="username" id="username" autofocus></label>
<label>Password <input type="password" name="password" id="password"></label>
<button type="submit" id="submit">Sign in</button>
</form>
<form id="abort" method="post" action="/interaction/${esc(uid)}/abort">
<button type="submit" id="cancel">Cancel</button>
</form>`);
}

function readBody(req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------- provider
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port || 0, '127.0.0.1', resolve);
});
const port = server.address().port;
const issuer = config.issuer || `http://127.0.0.1:${port}`;

const findUserBySub = (sub) => users.find((u) => u.claims && u.claims.sub === sub);

// Claim names of the configured users that the standard scopes do not
// cover (JWT and protocol claims left out): released with profile.
function customClaimNames() {
  const known = new Set([
    'sub', 'email', 'email_verified', 'name', 'given_name', 'family_name',
    'preferred_username', 'locale', 'groups', 'iss', 'aud', 'exp', 'iat',
    'nbf', 'jti', 'nonce', 'azp', 'auth_time', 'acr', 'amr', 'sid',
    'at_hash', 'c_hash', 's_hash', 'cnf', '_claim_names', '_claim_sources',
  ]);
  const out = new Set();
  for (const u of users) {
    for (const part of [u?.claims, u?.userinfoOnly]) {
      if (part && typeof part === 'object') Object.keys(part).forEach((k) => { if (!known.has(k)) out.add(k); });
    }
  }
  return [...out];
}

const idTokenTTL = Number(config.idTokenTTL) > 0 ? Number(config.idTokenTTL) : 600;
const accessTokenTTL = Number(config.accessTokenTTL) > 0 ? Number(config.accessTokenTTL) : 600;
const refreshTokens = config.refreshTokens && typeof config.refreshTokens === 'object' ? config.refreshTokens : null;

// Resource servers with JWT access tokens (config.resourceServers, see the head).
const resourceServers = config.resourceServers && typeof config.resourceServers === 'object'
  ? config.resourceServers : null;
function resourceFeatures() {
  if (!resourceServers) return {};
  return {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => (oneOf ? oneOf[0] : (config.defaultResource || undefined)),
      getResourceServerInfo(_ctx, indicator) {
        const rs = resourceServers[indicator];
        if (!rs) throw new oidcErrors.InvalidTarget();
        return {
          scope: rs.scope || 'api',
          audience: rs.audience || indicator,
          accessTokenTTL: Number(rs.accessTokenTTL) > 0 ? Number(rs.accessTokenTTL) : 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  };
}
async function extraTokenClaims(_ctx, token) {
  const rs = resourceServers?.[token.resourceServer?.identifier?.()];
  if (!rs) return undefined;
  if (token.accountId) {
    const user = findUserBySub(token.accountId);
    const out = {};
    for (const k of rs.userClaims || []) if (user?.claims?.[k] !== undefined) out[k] = user.claims[k];
    return out;
  }
  return rs.clientClaims?.[token.clientId] || undefined;
}

// Introspection and revocation (config.introspection, see introspect.mjs).
const introspection = introspectionOptions(config, findUserBySub);

const provider = new Provider(issuer, {
  clients: config.clients || [],
  jwks: { keys },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: [
      'name', 'given_name', 'family_name', 'preferred_username', 'locale',
      'groups', ...customClaimNames(),
    ],
    groups: ['groups'],
  },
  async findAccount(_ctx, sub) {
    const user = findUserBySub(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      // use: 'id_token' or 'userinfo'; userinfoOnly only in the latter
      async claims(use) {
        const more = use === 'userinfo' && user.userinfoOnly ? user.userinfoOnly : {};
        return { ...user.claims, ...more, sub };
      },
    };
  },
  interactions: {
    url(_ctx, interaction) { return `/interaction/${interaction.uid}`; },
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    ...resourceFeatures(),
    ...logoutFeatures(config), // revocation (t/idp/logout.mjs)
    ...introspection.features,
    ...parFeatures(config),
    // PKCE is required below, for confidential clients too, with S256 only.
  },
  pkce: { methods: ['S256'], required: () => true },
  ...(refreshTokens ? {
    async issueRefreshToken(_ctx, client) { return client.grantTypeAllowed('refresh_token'); },
    ...(refreshTokens.rotate ? { rotateRefreshToken: () => true } : {}),
  } : {}),
  ...(resourceServers ? { extraTokenClaims } : introspection.claims),
  // private_key_jwt / client_secret_jwt: t/idp/clientauth.mjs
  assertJwtClientAuthClaimsAndHeader: recordClientAssertions(events),
  enabledJWA: {
    clientAuthSigningAlgValues: CLIENT_AUTH_ALGS,
    idTokenSigningAlgValues: [
      'RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256',
    ],
  },
  ttl: {
    AccessToken: accessTokenTTL,
    AuthorizationCode: 60,
    IdToken: idTokenTTL,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  // No cross-origin calls to the IdP are needed by a relying party that
  // talks to the token endpoint server-to-server.
  clientBasedCORS: () => false,
  // Back-channel logout POSTs go to httpd on 127.0.0.1; oidc-provider 8
  // sends them with its own HTTP client and no address filter, so nothing
  // needs to be let through here.
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>IdP error</title></head>
<body><h1>IdP error</h1><p id="error"><code>${esc(out.error)}</code></p>
<p id="error_description">${esc(out.error_description)}</p></body></html>`;
  },
});
// Note: redirect URIs with http on 127.0.0.1 need no relaxation for web
// clients using the code flow; oidc-provider only insists on https for
// web clients that use the implicit flow.

watchTokens(provider); // GET /_admin/tokens (t/idp/logout.mjs)
for (const ev of [
  'revocation.error',
  'authorization.success', 'authorization.error', 'grant.success', 'grant.error',
  'end_session.success', 'end_session.error', 'backchannel.success',
  'backchannel.error', 'server_error', 'userinfo.error', 'discovery.error',
  'jwks.error',
]) {
  provider.on(ev, (...a) => {
    const ctx = a[0];
    const err = a.find((x) => x instanceof Error);
    events.push({
      event: ev,
      at: Date.now(),
      client_id: ctx?.oidc?.client?.clientId ?? a.find((x) => x?.clientId)?.clientId,
      grant_type: ev.startsWith('grant.') ? ctx?.oidc?.params?.grant_type : undefined,
      error: err ? (err.error || err.message) : undefined,
      error_description: err?.error_description,
    });
    if (ev === 'server_error') process.stderr.write(`server_error: ${err?.stack}\n`);
  });
}

// ---------------------------------------------------------------- interactions
async function autoGrant(details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const d = prompt.details || {};
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  if (d.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  return grant.save();
}

function requestedClaims(params) {
  const names = new Set();
  if (!params.claims) return [];
  try {
    const c = JSON.parse(params.claims);
    for (const part of [c.id_token, c.userinfo]) {
      if (part && typeof part === 'object') Object.keys(part).forEach((k) => names.add(k));
    }
  } catch { /* the provider has rejected bad claims parameters already */ }
  return [...names];
}

async function interaction(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (e) {
    page(res, 400, 'Interaction not found', `<p id="error">${esc(e.message)}</p>`);
    return;
  }
  if (details.uid !== uid) {
    page(res, 400, 'Interaction mismatch', '<p id="error">interaction mismatch</p>');
    return;
  }
  const { prompt, params } = details;

  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') {
      loginForm(res, uid, params.client_id);
      return;
    }
    if (prompt.name === 'consent') {
      const grantId = await autoGrant(details);
      const result = details.grantId ? { consent: {} } : { consent: { grantId } };
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
      return;
    }
    page(res, 400, 'Unsupported prompt', `<p id="error">${esc(prompt.name)}</p>`);
    return;
  }

  if (req.method !== 'POST') {
    page(res, 405, 'Method not allowed', '');
    return;
  }
  const form = new URLSearchParams(await readBody(req));

  if (action === 'abort') {
    // Lets a test make the IdP answer the client with error=...; the
    // description is passed through untouched on purpose.
    await provider.interactionFinished(req, res, {
      error: form.get('error') || 'access_denied',
      error_description: form.get('error_description') || 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (action === 'login') {
    if (prompt.name !== 'login') {
      page(res, 400, 'Unexpected login', '<p id="error">no login prompt pending</p>');
      return;
    }
    const username = form.get('username') || '';
    const password = form.get('password') || '';
    const user = users.find((u) => u.username === username);
    const ok = user && typeof user.password === 'string'
      && user.password.length === password.length
      && crypto.timingSafeEqual(Buffer.from(user.password), Buffer.from(password));
    if (!ok) {
      loginForm(res, uid, params.client_id, 'Invalid username or password.');
      return;
    }
    const accountId = user.claims.sub;
    // Login and consent in one step: grant what the client asked for.
    const grant = new provider.Grant({ accountId, clientId: params.client_id });
    if (params.scope) grant.addOIDCScope(String(params.scope));
    const claims = requestedClaims(params);
    if (claims.length) grant.addOIDCClaims(claims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, {
      login: { accountId },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
    return;
  }
  page(res, 404, 'Not found', '');
}

// ---------------------------------------------------------------- admin
function admin(req, res, path) {
  if (!config.adminToken || req.headers['x-admin-token'] !== config.adminToken) {
    res.writeHead(403).end();
    return;
  }
  const json = (status, obj) => {
    const body = JSON.stringify(obj);
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(body);
  };
  if (path === '/_admin/graph') return graph.admin(req, res, path, json);
  if (req.method === 'GET' && path === '/_admin/events') return json(200, events);
  if (req.method === 'POST' && path === '/_admin/events/clear') {
    events.length = 0;
    return json(200, { ok: true });
  }
  if (req.method === 'POST' && path === '/_admin/tamper') {
    return readBody(req).then((b) => {
      const { mode, claims } = JSON.parse(b || '{}');
      if (mode !== null && !TAMPER_MODES.has(mode)) return json(400, { error: 'unknown_mode', modes: [...TAMPER_MODES] });
      if (mode === 'claims' && (!claims || typeof claims !== 'object' || Array.isArray(claims))) {
        return json(400, { error: 'claims_required' });
      }
      tamperMode = mode;
      tamperClaims = mode === 'claims' ? claims : null;
      return json(200, { ok: true, mode, claims: tamperClaims ?? undefined });
    });
  }
  if (req.method === 'POST' && path === '/_admin/discovery') {
    return readBody(req).then((b) => {
      const { overrides = null, stripIssParam = false } = JSON.parse(b || '{}');
      if (overrides !== null && (typeof overrides !== 'object' || Array.isArray(overrides))) {
        return json(400, { error: 'overrides_object_or_null' });
      }
      discoveryOverrides = overrides;
      stripIss = !!stripIssParam;
      return json(200, { ok: true, overrides, stripIssParam: stripIss });
    });
  }
  if (req.method === 'POST' && path === '/_admin/sign') {
    // {"client_id", "claims": {...}, "header"?: {...}}: a JWS over exactly
    // these claims ("{issuer}" in a string value: this IdP's issuer),
    // signed with this IdP's key for the client's ID token alg (the client
    // secret for HS*); header default { typ: "logout+jwt", alg, kid }.
    // For logout tokens with arbitrary claims (back-channel logout tests).
    return readBody(req).then((b) => {
      const { client_id: cid, claims, header = {} } = JSON.parse(b || '{}');
      const client = (config.clients || []).find((c) => c.client_id === cid);
      if (!client || !claims || typeof claims !== 'object' || Array.isArray(claims)) {
        return json(400, { error: 'client_id_and_claims_required' });
      }
      const alg = header.alg || client.id_token_signed_response_alg || 'RS256';
      const kid = alg.startsWith('HS') || alg === 'none' ? undefined : ({
        ES256: 'ec-p256-1', ES384: 'ec-p384-1', ES512: 'ec-p521-1', EdDSA: 'okp-ed25519-1', Ed25519: 'okp-ed25519-1',
      }[alg] || 'rsa-1');
      const payload = Object.fromEntries(Object.entries(claims).map(([k, v]) => [k,
        typeof v === 'string' ? v.split('{issuer}').join(issuer) : v]));
      const hdr = { typ: 'logout+jwt', alg, ...(kid ? { kid } : {}), ...header };
      return json(200, { token: signJws(hdr, payload, { secret: client.client_secret }) });
    });
  }
  if (req.method === 'POST' && path === '/_admin/users') {
    return readBody(req, 1024 * 1024).then((b) => {
      users = JSON.parse(b);
      json(200, { ok: true });
    });
  }
  if (HOSTILE_ADMIN.has(path)) return hostileAdmin(req, res, path, json);
  if (LOGOUT_ADMIN.has(path)) return logoutAdmin(req, path, json);
  return json(404, { error: 'not_found' });
}

// ---------------------------------------------------------------- tampering
// Modes that alter the token endpoint's answer. ID tokens are re-signed
// with the IdP's own key of the same kid (or the client secret for HS256),
// so that only the named property is wrong.
const TAMPER_MODES = new Set([
  'bad_signature',   // one bit of the signature flipped
  'unknown_kid',     // signed by a key that is not in the JWKS
  'wrong_nonce', 'missing_nonce', 'wrong_aud', 'wrong_azp', 'wrong_iss',
  'expired',         // exp and iat an hour in the past
  'iat_future',      // iat an hour ahead
  'missing_sub',
  'alg_none',        // {"alg":"none"}, empty signature
  'hs256_confusion', // HS256 with the RSA public key (PEM) as the HMAC key
  'no_id_token',     // token response without id_token
  'token_500',       // token endpoint answers 500 text/plain
  'discovery_issuer', // discovery document names another issuer
  'claims',          // set / remove the given claims, re-signed (see the head)
  // userinfo endpoint only (the token endpoint behaves):
  'userinfo_sub',      // userinfo answers with another sub
  'userinfo_500',      // userinfo answers 500 text/plain
  'userinfo_bad_json', // userinfo answers 200 application/json that is not JSON
]);
let tamperMode = null;
let tamperClaims = null;
let discoveryOverrides = null;
let stripIss = false;

const b64u = (b) => Buffer.from(b).toString('base64url');
const fromB64Json = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

function signJws(header, payload, { secret, privateKey } = {}) {
  const data = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  const alg = header.alg;
  let sig;
  if (alg === 'none') sig = Buffer.alloc(0);
  else if (alg.startsWith('HS')) sig = crypto.createHmac(`sha${alg.slice(2)}`, secret).update(data).digest();
  else {
    const key = privateKey || crypto.createPrivateKey({ key: keys.find((k) => k.kid === header.kid), format: 'jwk' });
    const hash = { 256: 'sha256', 384: 'sha384', 512: 'sha512' }[alg.slice(2)];
    if (alg.startsWith('RS')) sig = crypto.sign(hash, Buffer.from(data), key);
    else if (alg.startsWith('PS')) sig = crypto.sign(hash, Buffer.from(data), { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
    else if (alg.startsWith('ES')) sig = crypto.sign(hash, Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' });
    else sig = crypto.sign(null, Buffer.from(data), key);
  }
  return `${data}.${b64u(sig)}`;
}

function tamperIdToken(idToken, mode) {
  const [h, p, s] = idToken.split('.');
  const header = fromB64Json(h);
  const payload = fromB64Json(p);
  const clientId = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
  const secret = (config.clients || []).find((c) => c.client_id === clientId)?.client_secret;
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case 'bad_signature': {
      const sig = Buffer.from(s, 'base64url');
      sig[0] ^= 0x01;
      return `${h}.${p}.${b64u(sig)}`;
    }
    case 'unknown_kid': {
      const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      return signJws({ ...header, alg: 'RS256', kid: 'no-such-kid' }, payload, { privateKey });
    }
    case 'wrong_nonce': payload.nonce = 'not-the-nonce-that-was-sent'; break;
    case 'missing_nonce': delete payload.nonce; break;
    case 'wrong_aud': payload.aud = 'someone-else'; break;
    case 'wrong_azp': payload.aud = [clientId, 'someone-else']; payload.azp = 'someone-else'; break;
    case 'wrong_iss': payload.iss = `${issuer}/evil`; break;
    case 'expired': payload.iat = now - 7200; payload.exp = now - 3600; break;
    case 'iat_future': payload.iat = now + 3600; payload.exp = now + 7200; break;
    case 'missing_sub': delete payload.sub; break;
    case 'claims':
      for (const [k, v] of Object.entries(tamperClaims || {})) {
        if (v === null) delete payload[k];
        else payload[k] = typeof v === 'string' ? v.split('{issuer}').join(issuer) : v;
      }
      break;
    case 'alg_none': return signJws({ alg: 'none' }, payload);
    case 'hs256_confusion': {
      const rsa = keys.find((k) => k.kty === 'RSA');
      const pem = crypto.createPublicKey({ key: { kty: 'RSA', n: rsa.n, e: rsa.e }, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      return signJws({ alg: 'HS256', typ: header.typ }, payload, { secret: pem });
    }
    default: return idToken;
  }
  return signJws(header, payload, { secret });
}

/** Wraps res.end to rewrite a JSON body produced by oidc-provider (Koa ends with one string). */
function rewriteJsonBody(res, fn) {
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    if (chunk && res.statusCode === 200) {
      try {
        const out = JSON.stringify(fn(JSON.parse(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk))));
        if (!res.headersSent) res.setHeader('Content-Length', Buffer.byteLength(out));
        return end(out);
      } catch (e) {
        process.stderr.write(`tamper failed: ${e.stack}\n`);
      }
    }
    return end(chunk, ...rest);
  };
}

/** The authorization response without its iss parameter (Location and form_post inputs). */
function stripIssFromAuthorizationResponse(res) {
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name, value) => {
    if (String(name).toLowerCase() === 'location' && typeof value === 'string') {
      try {
        const u = new URL(value);
        if (u.searchParams.has('iss') && u.searchParams.has('state')) {
          u.searchParams.delete('iss');
          return setHeader(name, u.href);
        }
      } catch { /* relative: not an authorization response */ }
    }
    return setHeader(name, value);
  };
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    if (chunk && /text\/html/.test(String(res.getHeader('content-type') || ''))) {
      const text = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      if (/<input type="hidden" name="iss"/.test(text)) {
        const out = text.replace(/<input type="hidden" name="iss" value="[^"]*"\/>\n?/g, '');
        if (!res.headersSent) res.setHeader('Content-Length', Buffer.byteLength(out));
        return end(out, ...rest);
      }
    }
    return end(chunk, ...rest);
  };
}

/** Returns true when it answered the request itself. */
function tamper(req, res, pathname) {
  if (pathname === '/.well-known/openid-configuration' && discoveryOverrides) {
    const o = discoveryOverrides;
    rewriteJsonBody(res, (j) => {
      const out = { ...j, ...o };
      if (stripIss) out.authorization_response_iss_parameter_supported = false;
      return out;
    });
  }
  if (stripIss && (pathname === '/auth' || pathname.startsWith('/auth/'))) {
    stripIssFromAuthorizationResponse(res);
  }
  if (!tamperMode) return false;
  if (tamperMode.startsWith('userinfo_')) {
    if (pathname !== '/me') return false;
    if (tamperMode === 'userinfo_500') {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('internal error (tampered)');
      return true;
    }
    if (tamperMode === 'userinfo_bad_json') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"sub": "tampered", oops');
      return true;
    }
    rewriteJsonBody(res, (j) => ({ ...j, sub: `${j.sub}-someone-else` }));
    return false;
  }
  if (pathname === '/token' && req.method === 'POST') {
    if (tamperMode === 'token_500') {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('internal error (tampered)');
      return true;
    }
    const mode = tamperMode;
    rewriteJsonBody(res, (j) => {
      if (mode === 'no_id_token') delete j.id_token;
      else if (j.id_token) j.id_token = tamperIdToken(j.id_token, mode);
      return j;
    });
  } else if (pathname === '/.well-known/openid-configuration' && tamperMode === 'discovery_issuer') {
    rewriteJsonBody(res, (j) => ({ ...j, issuer: `${issuer}/other` }));
  }
  return false;
}

// ---------------------------------------------------------------- hostile keys, answers
// POST /_admin/keys, POST /_admin/override, GET /_admin/hits (see the head).
const HOSTILE_ADMIN = new Set(['/_admin/keys', '/_admin/override', '/_admin/hits', '/_admin/hits/clear']);
const hits = {};
const overrides = new Map();
const freshKeyState = () => ({ rotated: [], keepOld: true, dropKid: false, jwksOnly: null, padClaimBytes: 0 });
let keyState = freshKeyState();

function hostileAdmin(req, res, path, json) {
  if (req.method === 'GET' && path === '/_admin/hits') return json(200, hits);
  if (req.method !== 'POST') return json(405, { error: 'method' });
  if (path === '/_admin/hits/clear') {
    for (const k of Object.keys(hits)) delete hits[k];
    return json(200, { ok: true });
  }
  return readBody(req, 16 * 1024 * 1024).then((b) => {
    const body = JSON.parse(b || '{}');
    if (path === '/_admin/override') {
      if (body.reset) overrides.clear();
      else if (typeof body.path !== 'string' || !body.path.startsWith('/')) return json(400, { error: 'path_required' });
      else if (body.body === null || body.body === undefined) overrides.delete(body.path);
      else {
        overrides.set(body.path, {
          method: body.method,
          status: Number(body.status) || 200,
          contentType: body.contentType ?? 'application/json',
          body: String(body.body),
          delayMs: Math.min(Math.max(Number(body.delayMs) || 0, 0), 60000),
        });
      }
      return json(200, { ok: true, paths: [...overrides.keys()] });
    }
    if (body.reset) keyState = freshKeyState();
    if (body.rotate) {
      const kp = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      keyState.rotated.unshift({
        ...kp.privateKey.export({ format: 'jwk' }), kid: `rsa-rotated-${keyState.rotated.length + 1}`, use: 'sig',
      });
    }
    for (const k of ['keepOld', 'dropKid', 'jwksOnly', 'padClaimBytes']) if (k in body) keyState[k] = body[k];
    return json(200, {
      ok: true,
      signingKid: keyState.rotated[0]?.kid,
      jwks: servedJwks({ keys: keys.map(publicJwk) }).keys.map((k) => k.kid),
    });
  });
}

function publicJwk(k) {
  const { d, p, q, dp, dq, qi, ...pub } = k;
  return pub;
}

/** The JWKS as the key setting wants it served. */
function servedJwks(doc) {
  let list = Array.isArray(doc.keys) ? doc.keys : [];
  if (keyState.rotated.length) {
    const fresh = keyState.rotated.map(publicJwk);
    list = keyState.keepOld ? [...list, ...fresh] : [...fresh, ...list.filter((k) => k.kty !== 'RSA')];
  }
  if (Array.isArray(keyState.jwksOnly)) list = list.filter((k) => keyState.jwksOnly.includes(k.kid));
  return { ...doc, keys: list };
}

/** An ID token re-signed as the key setting wants (rotated key, no kid, padding). */
function resignIdToken(idToken) {
  const [h, p] = idToken.split('.');
  const header = fromB64Json(h);
  const payload = fromB64Json(p);
  let changed = false;
  if (keyState.padClaimBytes > 0) {
    payload.pad = 'x'.repeat(Math.min(Number(keyState.padClaimBytes), 8 * 1024 * 1024));
    changed = true;
  }
  const opts = {};
  if (header.alg.startsWith('HS')) {
    const clientId = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
    opts.secret = (config.clients || []).find((c) => c.client_id === clientId)?.client_secret;
  } else if (keyState.rotated.length && /^(RS|PS)/.test(header.alg)) {
    opts.privateKey = crypto.createPrivateKey({ key: keyState.rotated[0], format: 'jwk' });
    if (header.kid) header.kid = keyState.rotated[0].kid;
    changed = true;
  } else {
    opts.privateKey = crypto.createPrivateKey({ key: keys.find((k) => k.kid === header.kid), format: 'jwk' });
  }
  if (keyState.dropKid && header.kid) {
    delete header.kid;
    changed = true;
  }
  return changed ? signJws(header, payload, opts) : idToken;
}

/** Counts the request; true when an override answered it. */
function hostile(req, res, pathname) {
  hits[pathname] = (hits[pathname] || 0) + 1;
  const o = overrides.get(pathname);
  if (o && (!o.method || o.method === req.method)) {
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(o.status, { 'Content-Type': o.contentType, 'Content-Length': Buffer.byteLength(o.body) });
      res.end(o.body);
    };
    if (o.delayMs) setTimeout(send, o.delayMs).unref();
    else send();
    return true;
  }
  if (pathname === '/jwks' && (keyState.rotated.length || keyState.jwksOnly)) rewriteJsonBody(res, servedJwks);
  if (pathname === '/token' && req.method === 'POST'
      && (keyState.rotated.length || keyState.dropKid || keyState.padClaimBytes > 0)) {
    rewriteJsonBody(res, (j) => {
      if (j.id_token) j.id_token = resignIdToken(j.id_token);
      return j;
    });
  }
  return false;
}

// ---------------------------------------------------------------- routing
const providerCallback = provider.callback();
// Microsoft Graph's group lookup for overage users (t/idp/graph.mjs).
const graph = makeGraph({ provider, config, issuer });
server.on('request', (req, res) => {
  const url = new URL(req.url, issuer);
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/.exec(url.pathname);
  let p;
  if (m) p = interaction(req, res, m[1], m[2]);
  else if (url.pathname.startsWith('/_admin/')) p = admin(req, res, url.pathname);
  else if (url.pathname === '/_test/frontchannel') p = frontchannelPage(req, res, url);
  else if (url.pathname.startsWith('/graph/')) p = graph.handle(req, res, url);
  else {
    if (!hostile(req, res, url.pathname) && !tamper(req, res, url.pathname)) providerCallback(req, res);
    return;
  }
  Promise.resolve(p).catch((e) => {
    process.stderr.write(`interaction error: ${e.stack}\n`);
    if (!res.headersSent) page(res, 500, 'IdP internal error', `<p id="error">${esc(e.message)}</p>`);
    else res.destroy();
  });
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

process.stdout.write(`READY ${issuer}\n`);
