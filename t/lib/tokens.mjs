// SPDX-License-Identifier: Apache-2.0
// Tokens for the API / single-page-app tests (t/spec/issue6.md): JWT access
// tokens from the test IdP's resource servers (client_credentials, or the
// authorization code flow with resource=...), ID tokens from a code flow run
// by a node relying party, tampering helpers, and parsers for what the
// module answers (WWW-Authenticate: Bearer, JSON errors, log lines).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { Browser } from './browser.mjs';
import { discover, pkcePair, authorizationUrl } from './rp.mjs';

/** JWT header and payload (no verification). */
export function decodeJwt(token) {
  const [h, p] = String(token).split('.');
  const j = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: j(h), payload: j(p) };
}

/** The same JWT with one byte of its signature flipped. */
export function flipSignatureByte(token) {
  const [h, p, s] = token.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[Math.floor(sig.length / 2)] ^= 0x01;
  return `${h}.${p}.${sig.toString('base64url')}`;
}

/**
 * Client metadata for a client that only gets tokens for APIs
 * (client_credentials; plus the code flow when redirectUri is given).
 */
export function apiClient(clientId, { redirectUri } = {}) {
  const c = {
    client_id: clientId,
    client_secret: `secret-${clientId}-${crypto.randomBytes(12).toString('hex')}`,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: redirectUri ? ['authorization_code', 'client_credentials'] : ['client_credentials'],
    response_types: redirectUri ? ['code'] : [],
    redirect_uris: redirectUri ? [redirectUri] : [],
    id_token_signed_response_alg: 'RS256',
  };
  return c;
}

function basicAuth(client) {
  const enc = (s) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret)}`).toString('base64')}`;
}

async function tokenRequest(meta, client, params) {
  const res = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basicAuth(client) },
    body: new URLSearchParams(params),
    signal: AbortSignal.timeout(5000),
  });
  const json = await res.json();
  assert.equal(res.status, 200, `token endpoint: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const metaCache = new Map();
async function metaFor(issuer) {
  if (!metaCache.has(issuer)) metaCache.set(issuer, await discover(issuer));
  return metaCache.get(issuer);
}

/** An access token by client_credentials for `resource` (JWT when the IdP has that resource server). */
export async function clientCredentialsToken(idp, client, { resource, scope } = {}) {
  const meta = await metaFor(idp.issuer);
  const params = { grant_type: 'client_credentials' };
  if (resource) params.resource = resource;
  if (scope) params.scope = scope;
  const json = await tokenRequest(meta, client, params);
  assert.ok(json.access_token, JSON.stringify(json));
  return json.access_token;
}

/**
 * The authorization code flow with PKCE run by a node relying party, as a
 * single-page or native app would: the browser signs in at the IdP, the
 * flow stops at `redirectUri` (nothing needs to listen there), the code is
 * exchanged. resource: asks for an access token of that resource server.
 * Returns the token response plus { nonce, state }.
 */
export async function codeFlow(idp, client, {
  redirectUri = client.redirect_uris[0], user = 'alice', password = 'alice-pass-1',
  scope = 'openid email profile', resource, nonce = crypto.randomBytes(16).toString('base64url'),
  browser = new Browser(),
} = {}) {
  const meta = await metaFor(idp.issuer);
  const { verifier, challenge } = pkcePair();
  const state = crypto.randomBytes(16).toString('base64url');
  const url = authorizationUrl(meta, {
    client, redirectUri, scope, state, nonce, challenge, extra: resource ? { resource } : {},
  });
  const res = await browser.login(url, user, password, { stopAt: (u) => u.startsWith(redirectUri) });
  assert.ok(res.stoppedAt, `code flow did not reach ${redirectUri}: ${JSON.stringify(res.hops.map((h) => [h.status, h.url, h.location]))}\n${res.body.slice(0, 400)}`);
  const cb = new URL(res.stoppedAt);
  assert.equal(cb.searchParams.get('state'), state);
  const code = cb.searchParams.get('code');
  assert.ok(code, `no code in ${res.stoppedAt}`);
  const params = {
    grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
  };
  if (resource) params.resource = resource;
  const json = await tokenRequest(meta, client, params);
  return { ...json, nonce, state };
}

/**
 * A JWS over `claims` signed by the IdP's own key (t/idp/server.mjs
 * /_admin/sign, RS256 key rsa-1 for an RS256 client), with header `header`
 * (default typ at+jwt): a re-signed access token with changed claims.
 */
export async function signJwtAtIdp(idp, clientId, claims, header = { typ: 'at+jwt' }) {
  const { token } = await idp.admin('/_admin/sign', {
    method: 'POST', body: { client_id: clientId, claims, header: { alg: 'RS256', kid: 'rsa-1', ...header } },
  });
  return token;
}

/** A token's claims changed (null: removed) and re-signed by the IdP, same header. */
export async function resign(idp, clientId, token, changes = {}) {
  const { header, payload } = decodeJwt(token);
  const claims = { ...payload };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete claims[k];
    else claims[k] = v;
  }
  return signJwtAtIdp(idp, clientId, claims, header);
}

/**
 * Parse a WWW-Authenticate challenge: { scheme, params: { name: value } }
 * (quoted-string values unescaped).
 */
export function parseChallenge(header) {
  const h = String(header || '').trim();
  const m = /^(\S+)\s*(.*)$/.exec(h);
  if (!m) return { scheme: '', params: {} };
  const params = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,|$)/g;
  for (const p of m[2].matchAll(re)) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1], params };
}

/** GET url with Authorization: Bearer token (no cookies unless given), one hop. */
export function bearerGet(url, token, { headers = {}, browser = new Browser() } = {}) {
  return browser.getOnce(url, { headers: token === undefined ? headers : { Authorization: `Bearer ${token}`, ...headers } });
}

/** Lines of an error log holding `tag` (e.g. FA00505), with the pid: [{ pid, line }]. */
export function logLines(text, tag, filter = () => true) {
  return String(text || '').split('\n').filter((l) => l.includes(tag) && filter(l)).map((line) => {
    const m = /\[pid (\d+)/.exec(line);
    return { pid: m ? m[1] : null, line };
  });
}

/** JSON body of a response, or an assertion failure naming the body. */
export function jsonOf(res) {
  try {
    return JSON.parse(res.body);
  } catch {
    assert.fail(`not JSON (${res.status}, ${res.headers.get('content-type')}): ${String(res.body).slice(0, 400)}`);
  }
  return undefined;
}

/**
 * <Location /p/<name>/> (CGI scripts) with AuthType FedAuth and
 * opts: { providers: 'a b', bearer: true, audience, unauth, require
 * (default 'Require valid-user'), extra }.
 */
export function apiLocation(name, {
  providers, bearer = true, audience, unauth, require = 'Require valid-user', extra = '',
} = {}) {
  return `<Location /p/${name}/>
    AuthType FedAuth
${providers ? `    FedAuthProviders ${providers}\n` : ''}${bearer ? '    FedAuthBearer On\n' : ''}${audience ? `    FedAuthBearerAudience ${audience}\n` : ''}${unauth ? `    FedAuthUnauthenticated ${unauth}\n` : ''}${extra}    ${require}
</Location>
`;
}

/** clientExtra for startSite: the provider's client also has <base>/spa/callback (a node RP's redirect URI). */
export const withSpaCallback = (c) => ({ redirect_uris: [...c.redirect_uris, spaCallback(c)] });
/** The node RP's redirect URI registered by withSpaCallback. */
export const spaCallback = (c) => c.redirect_uris[0].replace(/\/signin-[^/]+$/, '/spa/callback');

/**
 * Requests sent one after another over ONE keep-alive connection (so one
 * httpd process serves them all): reqs = [{ path, headers?, method? }].
 * Resolves [{ status, headers, body, reused }] (reused: the request went
 * over the connection of the one before). Bounded by timeoutMs per request.
 */
export async function overOneConnection(base, reqs, { timeoutMs = 10000 } = {}) {
  const http = await import('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out = [];
  try {
    for (const r of reqs) {
      out.push(await new Promise((resolve, reject) => {
        const req = http.request(`${base}${r.path}`, {
          method: r.method || 'GET', agent, headers: r.headers || {}, timeout: timeoutMs,
        }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({
            status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), reused: req.reusedSocket,
          }));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`timeout ${r.path}`)));
        req.on('error', reject);
        req.end();
      }));
    }
  } finally {
    agent.destroy();
  }
  return out;
}
