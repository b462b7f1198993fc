#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Regenerates the seed corpora in t/fuzz/corpus/<target>/ and
// t/fuzz/fuzz_keys.h (the fixed public keys and expectations the targets
// share). Run from the repository root, with t/node_modules installed:
//
//   node t/fuzz/make-corpus.mjs
//
// Real examples where there are some: the RFC 7515 / 7520 / 8037 JWS
// vectors (t/unit/data/rfc_vectors.json); the discovery document, JWKS,
// token response, ID token and userinfo answer of the test IdP
// (t/idp/server.mjs, started on 127.0.0.1 and stopped again); session
// cookies and records made by the core's own encoders (seeds_session.c,
// compiled here with cc). Tokens that must verify are signed with keys
// made for this run; only their public halves are kept (fuzz_keys.h).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { startIdp, defaultUsers, clientFor } from '../lib/idp.mjs';
import { Browser } from '../lib/browser.mjs';
import { freePort } from '../lib/ports.mjs';
import { discover, pkcePair, authorizationUrl, exchangeCode } from '../lib/rp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const corpus = path.join(here, 'corpus');

// ------------------------------------------------------------ constants
const NOW = 1700000000;
const ISSUER = 'https://idp.example.com/realms/fuzz';
const TENANT_ISSUER = 'https://login.example.com/{tenantid}/v2.0';
const ALT_ISSUER = 'https://alt.example.com';
const CLIENT_ID = 'fuzz-client';
const AUDIENCE = 'api://fuzz';
const NONCE = 'fuzz-nonce-0123456789';
const DISCOVERY_ISSUER = 'http://127.0.0.1:9999';
const USERINFO_SUB = 'alice-sub-0001';
const SESSION_SECRET = 'fuzz session secret, not for use anywhere';

const rfc = JSON.parse(fs.readFileSync(path.join(repo, 't/unit/data/rfc_vectors.json'), 'utf8'));
const HMAC_KEY_B64 = rfc.rfc7515_a1.k;
const hmacKey = Buffer.from(HMAC_KEY_B64, 'base64url');

// ------------------------------------------------------------ helpers
const b64u = (b) => Buffer.from(b).toString('base64url');
const seeds = {};
function seed(target, name, data) {
  (seeds[target] ||= []).push([name, Buffer.isBuffer(data) ? data : Buffer.from(String(data))]);
}

/** A C string literal, cut into lines. */
function cString(s, indent = '    ') {
  const esc = [];
  for (const ch of s) {
    if (ch === '"' || ch === '\\') esc.push(`\\${ch}`);
    else if (ch === '\n') esc.push('\\n');
    else if (ch < ' ' || ch > '~') throw new Error(`unexpected character in C string: ${JSON.stringify(ch)}`);
    else esc.push(ch);
  }
  const lines = [];
  let cur = '';
  for (const e of esc) {
    if (cur.length + e.length > 70) { lines.push(cur); cur = ''; }
    cur += e;
  }
  lines.push(cur);
  return lines.map((l) => `${indent}"${l}"`).join('\n');
}

// ------------------------------------------------------------ keys
const gen = (type, opts) => crypto.generateKeyPairSync(type, opts);
const fuzzKeys = {
  RS: { kid: 'fz-rsa', pair: gen('rsa', { modulusLength: 2048 }) },
  P256: { kid: 'fz-p256', pair: gen('ec', { namedCurve: 'P-256' }), alg: 'ES256' },
  P384: { kid: 'fz-p384', pair: gen('ec', { namedCurve: 'P-384' }), alg: 'ES384' },
  P521: { kid: 'fz-p521', pair: gen('ec', { namedCurve: 'P-521' }), alg: 'ES512' },
  ED: { kid: 'fz-ed25519', pair: gen('ed25519') },
};
const pub = (k) => ({
  ...k.pair.publicKey.export({ format: 'jwk' }), kid: k.kid, use: 'sig', ...(k.alg ? { alg: k.alg } : {}),
});
const jwks = {
  keys: [
    ...Object.values(fuzzKeys).map(pub),
    // the RFC examples' keys (no kid, except RFC 7520's)
    rfc.rfc7515_a2.jwk, rfc.rfc7515_a3.jwk, rfc.rfc8037_a4.jwk, rfc.rfc7520_4_1.jwk, rfc.rfc7520_4_3.jwk,
  ],
};

const KEY_OF = {
  RS256: 'RS', RS384: 'RS', RS512: 'RS', PS256: 'RS', PS384: 'RS', PS512: 'RS',
  ES256: 'P256', ES384: 'P384', ES512: 'P521', EdDSA: 'ED',
};

function sign(header, payload, { key, raw = false } = {}) {
  const h = b64u(JSON.stringify(header));
  const p = raw ? b64u(payload) : b64u(JSON.stringify(payload));
  const data = Buffer.from(`${h}.${p}`);
  const alg = header.alg;
  let sig;
  if (alg === 'none') sig = Buffer.alloc(0);
  else if (alg.startsWith('HS')) sig = crypto.createHmac(`sha${alg.slice(2)}`, key || hmacKey).update(data).digest();
  else if (!key && !KEY_OF[alg]) sig = Buffer.from('not a signature');
  else {
    const k = key || fuzzKeys[KEY_OF[alg]].pair.privateKey;
    const hash = { 256: 'sha256', 384: 'sha384', 512: 'sha512' }[alg.slice(2)];
    if (alg.startsWith('RS')) sig = crypto.sign(hash, data, k);
    else if (alg.startsWith('PS')) {
      sig = crypto.sign(hash, data, { key: k, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
    } else if (alg.startsWith('ES')) sig = crypto.sign(hash, data, { key: k, dsaEncoding: 'ieee-p1363' });
    else sig = crypto.sign(null, data, k);
  }
  return `${h}.${p}.${b64u(sig)}`;
}

const idClaims = (more = {}) => ({
  iss: ISSUER,
  sub: 'alice-sub-0001',
  aud: CLIENT_ID,
  exp: NOW + 600,
  iat: NOW,
  auth_time: NOW - 5,
  nonce: NONCE,
  email: 'alice@example.org',
  email_verified: true,
  groups: ['staff', 'wonderland-admins'],
  ...more,
});
const hdr = (alg, more = {}) => ({ alg, ...(KEY_OF[alg] ? { kid: fuzzKeys[KEY_OF[alg]].kid } : {}), ...more });

// ------------------------------------------------------------ jws seeds
function jwsSeeds(real) {
  for (const [name, v] of Object.entries(rfc)) if (v && v.jws) seed('jws', `rfc-${name}`, v.jws);
  for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512']) {
    seed('jws', `id-${alg}`, sign(hdr(alg, { typ: 'JWT' }), idClaims()));
  }
  seed('jws', 'nokid-RS256', sign({ alg: 'RS256' }, idClaims()));
  seed('jws', 'nokid-ES256', sign({ alg: 'ES256' }, idClaims()));
  seed('jws', 'unknown-kid', sign({ alg: 'RS256', kid: 'nope' }, idClaims(), { key: gen('rsa', { modulusLength: 2048 }).privateKey }));
  seed('jws', 'bilbo-kid-ES512-wrong-key', sign({ alg: 'ES512', kid: 'bilbo.baggins@hobbiton.example' }, idClaims()));
  seed('jws', 'alg-none', sign({ alg: 'none' }, idClaims()));
  seed('jws', 'alg-None', sign({ alg: 'None' }, idClaims()));
  seed('jws', 'crit', sign(hdr('RS256', { crit: ['exp'] }), idClaims()));
  seed('jws', 'kid-number', sign({ alg: 'RS256', kid: 7 }, idClaims()));
  seed('jws', 'aud-array-azp', sign(hdr('ES256'), idClaims({ aud: [CLIENT_ID, 'other'], azp: CLIENT_ID })));
  seed('jws', 'aud-array-no-azp', sign(hdr('ES256'), idClaims({ aud: [CLIENT_ID, 'other'] })));
  seed('jws', 'aud-nonstring', sign(hdr('ES256'), idClaims({ aud: [CLIENT_ID, 5] })));
  seed('jws', 'expired', sign(hdr('ES256'), idClaims({ exp: NOW - 3600, iat: NOW - 7200 })));
  seed('jws', 'exp-real', sign(hdr('ES256'), idClaims({ exp: NOW + 600.5, iat: NOW + 0.25 })));
  seed('jws', 'exp-huge', sign(hdr('ES256'), idClaims({ exp: 1e300, iat: -1e300, nbf: 'x' })));
  seed('jws', 'nbf-future', sign(hdr('ES256'), idClaims({ nbf: NOW + 3600 })));
  seed('jws', 'no-iat', sign(hdr('ES256'), idClaims({ iat: undefined })));
  seed('jws', 'sub-long', sign(hdr('ES256'), idClaims({ sub: 's'.repeat(256) })));
  seed('jws', 'sub-number', sign(hdr('ES256'), idClaims({ sub: 42 })));
  seed('jws', 'tenant', sign(hdr('ES256'), idClaims({ iss: 'https://login.example.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0', tid: '72f988bf-86f1-41af-91ab-2d7cd011db47' })));
  seed('jws', 'access-token', sign(hdr('RS256', { typ: 'at+jwt' }), {
    iss: ALT_ISSUER, sub: 'svc', aud: [AUDIENCE], exp: NOW + 600, iat: NOW, client_id: 'caller', scope: 'api',
  }));
  seed('jws', 'logout-token', sign(hdr('RS256', { typ: 'logout+jwt' }), {
    iss: ISSUER, aud: CLIENT_ID, iat: NOW, exp: NOW + 120, jti: 'j1', sid: 's1',
    events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
  }));
  seed('jws', 'dup-member', sign(hdr('RS256'), '{"iss":"a","iss":"b"}', { raw: true }));
  seed('jws', 'payload-array', sign(hdr('RS256'), '[1,2,3]', { raw: true }));
  seed('jws', 'payload-not-json', sign(hdr('RS256'), 'hello', { raw: true }));
  seed('jws', 'jwe-5-parts', 'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ');
  seed('jws', 'two-parts', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0');
  seed('jws', 'padding', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0=.c2ln');
  if (real.idToken) seed('jws', 'test-idp-id-token', real.idToken);
}

// ------------------------------------------------------------ jwks seeds
function jwksSeeds(real) {
  seed('jwks', 'fuzz-jwks', JSON.stringify(jwks));
  if (real.jwks) seed('jwks', 'test-idp-jwks', real.jwks);
  for (const [name, v] of Object.entries(rfc)) if (v && v.jwk) seed('jwks', `rfc-${name}-jwk`, JSON.stringify(v.jwk));
  seed('jwks', 'rfc7515_a3-private', JSON.stringify({ keys: [rfc.rfc7515_a3.jwk_private] }));
  const rsa1024 = gen('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  const p256 = pub(fuzzKeys.P256);
  const offCurve = { ...p256, y: b64u(Buffer.from(p256.y, 'base64url').map((b, i) => (i === 31 ? b ^ 1 : b))) };
  const x25519 = gen('x25519').publicKey.export({ format: 'jwk' });
  seed('jwks', 'mixed', JSON.stringify({
    keys: [
      { kty: 'oct', k: 'AAAA' },
      { ...pub(fuzzKeys.RS), use: 'enc', kid: 'enc-1' },
      { ...rsa1024, kid: 'weak' },
      { ...offCurve, kid: 'off-curve' },
      x25519,
      { kty: 'EC', crv: 'P-256K', x: p256.x, y: p256.y },
      { kty: 'RSA', n: pub(fuzzKeys.RS).n, e: 'AQAB', d: 'AAAA' },
      { kty: 'RSA', n: '', e: 'AQAB' },
      { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' },
      { kty: 7 },
      'not-an-object',
      pub(fuzzKeys.ED),
    ],
  }));
  seed('jwks', 'too-many', JSON.stringify({ keys: Array.from({ length: 65 }, (_, i) => ({ kty: 'oct', k: `k${i}` })) }));
  seed('jwks', 'empty', '{"keys":[]}');
  seed('jwks', 'keys-object', '{"keys":{}}');
  seed('jwks', 'not-json', '<html>not json</html>');
  seed('jwks', 'rsa-e-long', JSON.stringify({ keys: [{ kty: 'RSA', n: pub(fuzzKeys.RS).n, e: b64u(Buffer.alloc(40, 1)) }] }));
}

// ------------------------------------------------------------ discovery
function discoverySeeds(real) {
  const base = real.discovery ? JSON.parse(real.discovery) : {
    issuer: DISCOVERY_ISSUER,
    authorization_endpoint: `${DISCOVERY_ISSUER}/auth`,
    token_endpoint: `${DISCOVERY_ISSUER}/token`,
    jwks_uri: `${DISCOVERY_ISSUER}/jwks`,
  };
  const doc = JSON.parse(JSON.stringify(base).split(real.issuer || DISCOVERY_ISSUER).join(DISCOVERY_ISSUER));
  seed('discovery', 'test-idp', JSON.stringify(doc, null, 2));
  const https = JSON.parse(JSON.stringify(doc).split(`${DISCOVERY_ISSUER}/`).join('https://idp.example.com/'));
  seed('discovery', 'https-endpoints', JSON.stringify(https));
  seed('discovery', 'minimal', JSON.stringify({
    issuer: DISCOVERY_ISSUER, authorization_endpoint: 'https://a.example/auth?x=1',
    token_endpoint: 'http://[::1]:8080/token', jwks_uri: 'http://localhost/jwks',
    userinfo_endpoint: 'http://evil.example/me', end_session_endpoint: 'javascript:alert(1)',
    authorization_response_iss_parameter_supported: true,
  }));
  seed('discovery', 'plain-http', JSON.stringify({ ...doc, token_endpoint: 'http://idp.example.com/token' }));
  seed('discovery', 'no-jwks', JSON.stringify({ ...doc, jwks_uri: undefined }));
  seed('discovery', 'issuer-other', JSON.stringify({ ...doc, issuer: `${DISCOVERY_ISSUER}/other` }));
  seed('discovery', 'issuer-number', JSON.stringify({ ...doc, issuer: 5 }));
  seed('discovery', 'array', '[]');
  seed('discovery', 'dup', `{"issuer":"${DISCOVERY_ISSUER}","issuer":"x"}`);
}

// ------------------------------------------------------------ token responses
function tokenSeeds(real) {
  // first byte: low 4 bits status (0-7: 200, 8: 400, 9: 401, 11: 500),
  // bits 4-5: client authentication
  const withByte = (b, body) => Buffer.concat([Buffer.from([b]), Buffer.from(body)]);
  const idToken = real.idToken || sign(hdr('RS256'), idClaims());
  if (real.tokenResponse) seed('token_response', 'test-idp-200', withByte(0x00, real.tokenResponse));
  seed('token_response', 'fuzz-200', withByte(0x10, JSON.stringify({
    access_token: 'at', token_type: 'Bearer', expires_in: 3600, id_token: idToken, scope: 'openid',
  })));
  seed('token_response', 'expires-real', withByte(0x20, JSON.stringify({ id_token: idToken, expires_in: 1.5 })));
  seed('token_response', 'invalid-grant-400', withByte(0x08, JSON.stringify({
    error: 'invalid_grant', error_description: 'grant request is invalid\r\n<b>x</b>',
  })));
  seed('token_response', 'error-401-nodesc', withByte(0x09, '{"error":"invalid_client"}'));
  seed('token_response', 'html-500', withByte(0x0b, '<html><body>Internal error</body></html>'));
  seed('token_response', 'no-id-token', withByte(0x00, '{"access_token":"at","token_type":"Bearer"}'));
  seed('token_response', 'id-token-number', withByte(0x00, '{"id_token":5}'));
  seed('token_response', 'empty', withByte(0x00, ''));
  seed('token_response', 'array', withByte(0x00, '[{"id_token":"a.b.c"}]'));
}

// ------------------------------------------------------------ userinfo
function userinfoSeeds(real) {
  // first byte: low 4 bits status, bits 4-5: Content-Type
  // (0 application/json, 1 none, 2 application/jwt, 3 json; charset)
  const withByte = (b, body) => Buffer.concat([Buffer.from([b]), Buffer.from(body)]);
  if (real.userinfo) seed('userinfo', 'test-idp', withByte(0x00, real.userinfo));
  seed('userinfo', 'groups-nested', withByte(0x30, JSON.stringify({
    sub: USERINFO_SUB, name: 'Alice\r\nX-Evil: 1', email: 'alice@example.org', email_verified: false,
    preferred_username: 'Alice Liddell', upn: 'alice@corp',
    groups: 'staff, wonderland-admins admin', realm_access: { roles: ['a', 'b', { c: 1 }] },
    address: { street_address: 'x', country: 'GB' }, a: { b: { c: { d: { e: { f: { g: { h: { i: 'deep' } } } } } } } },
  })));
  seed('userinfo', 'other-sub', withByte(0x00, JSON.stringify({ sub: 'someone-else', groups: ['admin'] })));
  seed('userinfo', 'sub-number', withByte(0x00, JSON.stringify({ sub: 1, preferred_username: 7 })));
  seed('userinfo', 'jwt', withByte(0x20, sign(hdr('RS256'), { sub: USERINFO_SUB })));
  seed('userinfo', 'status-500', withByte(0x0b, 'internal error'));
  seed('userinfo', 'not-json', withByte(0x00, '{"sub": "x", oops'));
  seed('userinfo', 'long-values', withByte(0x00, JSON.stringify({
    sub: USERINFO_SUB, name: `${'\u00e9'.repeat(4100)}x`, groups: Array.from({ length: 300 }, (_, i) => `g${i}`),
  })));
}

// ------------------------------------------------------------ query strings, return_to
function querySeeds(real) {
  const q = (name, s) => seed('query', name, s);
  q('callback', real.callbackQuery || 'code=abc&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&iss=http%3A%2F%2F127.0.0.1%3A9999');
  q('callback-error', 'error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=x');
  q('login', 'idp=corp&return_to=%2Fprotected%2Fenv.cgi%3Fx%3D1%26y%3Da%2520b&login_hint=a%40b.example&domain_hint=b.example');
  q('chooser', 'return_to=%2F&idps=a,b,c&remember=1&choose=1');
  q('duplicate', 'state=a&state=b');
  q('form-post', 'code=x&state=y&session_state=z+w&iss=https%3A%2F%2Flogin.example.com%2F72f988bf-86f1-41af-91ab-2d7cd011db47%2Fv2.0');
  q('bad-escape', 'a=%zz&b=%0');
  q('nul-escape', 'a=%00');
  for (const [name, rt] of [
    ['rt-evil-abs', 'https://evil.example/'], ['rt-scheme-rel', '//evil.example/'],
    ['rt-backslash', '/\\evil.example/'], ['rt-enc-slash', '/%2F%2Fevil.example/'],
    ['rt-enc-slash-lower', '/%2f/evil.example'], ['rt-enc-backslash', '/%5Cevil.example'],
    ['rt-crlf', '/x%0d%0aSet-Cookie:%20a=b'], ['rt-del', '/x%7f'], ['rt-tab', '/\t/evil.example'],
    ['rt-ok', '/protected/env.cgi?x=1&y=%20#frag'], ['rt-long', `/${'a'.repeat(3000)}`],
    ['rt-double-enc', '/%252F%252Fevil.example'], ['rt-plus', '/+/evil.example'],
  ]) {
    q(`${name}-raw`, rt);
    q(`${name}-param`, `return_to=${encodeURIComponent(rt)}`);
  }
  q('issuer-tenant', 'https://login.example.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0');
  q('b64url', 'eyJhbGciOiJSUzI1NiJ9');
}

// ------------------------------------------------------------ redis specs
function redisSeeds() {
  for (const [name, s] of [
    ['plain', 'redis://127.0.0.1:6379'], ['db', 'redis://127.0.0.1:6380/2'],
    ['auth', 'redis://fedauth:p%40ss%3Aw0rd@redis.example:6379/0'], ['pass-only', 'redis://:secret@h'],
    ['ipv6', 'redis://[::1]:6379/1'], ['sentinel', 'redis-sentinel://10.0.0.1:26379,10.0.0.2:26380,[::1]:26381/mymaster/3'],
    ['sentinel-auth', 'redis-sentinel://u:p@s1:26379/master'], ['no-master', 'redis-sentinel://s1:26379/'],
    ['two-hosts', 'redis://a:1,b:2'], ['bad-port', 'redis://h:99999'], ['bad-db', 'redis://h/x'],
    ['empty-host', 'redis://:6379'], ['unclosed-v6', 'redis://[::1:6379'], ['other-scheme', 'rediss://h'],
    ['bad-cred', 'redis://u%zz:p@h'],
  ]) seed('redis_spec', name, s);
}

// ------------------------------------------------------------ the real IdP
async function capture() {
  const rpBase = `http://127.0.0.1:${await freePort()}`; // nothing listens there
  const client = clientFor({ id: 'fuzz', httpdBase: rpBase });
  const idp = await startIdp({ clients: [client], users: defaultUsers() });
  try {
    const meta = await discover(idp.issuer);
    const get = async (u, headers = {}) => (await fetch(u, { headers, signal: AbortSignal.timeout(5000) })).text();
    const discovery = await get(`${idp.issuer}/.well-known/openid-configuration`);
    const jwksText = await get(meta.jwks_uri);
    const redirectUri = client.redirect_uris[0];
    const { verifier, challenge } = pkcePair();
    const url = authorizationUrl(meta, {
      client, redirectUri, state: crypto.randomBytes(32).toString('base64url'), nonce: 'n', challenge,
      scope: 'openid email profile',
    });
    const res = await new Browser().login(url, 'alice', 'alice-pass-1', { stopAt: (u) => u.startsWith(redirectUri) });
    if (!res.stoppedAt) throw new Error('login at the test IdP did not reach the redirect URI');
    const cb = new URL(res.stoppedAt);
    const tok = await exchangeCode(meta, { client, code: cb.searchParams.get('code'), redirectUri, verifier });
    const userinfo = await get(meta.userinfo_endpoint, { Authorization: `Bearer ${tok.json.access_token}` });
    return {
      issuer: idp.issuer,
      discovery,
      jwks: jwksText,
      tokenResponse: JSON.stringify(tok.json),
      idToken: tok.json.id_token,
      userinfo,
      callbackQuery: cb.search.slice(1),
    };
  } finally {
    await idp.stop();
    idp.cleanup();
  }
}

// ------------------------------------------------------------ output
function writeKeysHeader() {
  // RFC 7515's JSON examples (RFC 7520's and 8037's payloads are text),
  // then one token per key type without kid: every fitting key is tried
  const verifyTokens = [rfc.rfc7515_a2.jws, rfc.rfc7515_a3.jws,
    ...['RS256', 'PS384', 'ES256', 'ES384', 'ES512', 'EdDSA'].map((alg) => sign({ alg }, idClaims()))];
  const rfcTokens = verifyTokens.map((t) => cString(t, '    ')).join(',\n');
  const text = `/* fuzz_keys.h - generated by t/fuzz/make-corpus.mjs; do not edit.
 * Public keys and expectations shared by the fuzz targets and their seed
 * corpora: fuzz keys made for one run (private halves discarded) and the
 * RFC 7515 / 7520 / 8037 example keys. */
#ifndef FUZZ_KEYS_H
#define FUZZ_KEYS_H

#define FUZZ_JWKS \\
${cString(JSON.stringify(jwks)).split('\n').join(' \\\n')}
#define FUZZ_JWKS_COUNT ${jwks.keys.length}
/* RFC 7515 A.1's HMAC key: the seed HS* tokens use it too. */
#define FUZZ_HMAC_KEY_B64 \\
${cString(HMAC_KEY_B64).split('\n').join(' \\\n')}
/* Tokens whose keys are in FUZZ_JWKS: RFC 7515 A.2, A.3, then RS256,
 * PS384, ES256, ES384, ES512 and EdDSA without kid. */
#define FUZZ_VERIFY_TOKENS \\
${rfcTokens.split('\n').join(' \\\n')}
#define FUZZ_NOW ${NOW}
#define FUZZ_ISSUER "${ISSUER}"
#define FUZZ_TENANT_ISSUER "${TENANT_ISSUER}"
#define FUZZ_ALT_ISSUER "${ALT_ISSUER}"
#define FUZZ_CLIENT_ID "${CLIENT_ID}"
#define FUZZ_AUDIENCE "${AUDIENCE}"
#define FUZZ_NONCE "${NONCE}"
#define FUZZ_DISCOVERY_ISSUER "${DISCOVERY_ISSUER}"
#define FUZZ_USERINFO_SUB "${USERINFO_SUB}"
#define FUZZ_SESSION_SECRET "${SESSION_SECRET}"

#endif
`;
  fs.writeFileSync(path.join(here, 'fuzz_keys.h'), text);
}

function sessionSeeds() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-seeds-'));
  try {
    const exe = path.join(tmp, 'seeds_session');
    const pc = (args) => execFileSync('pkg-config', args, { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
    execFileSync('cc', [
      '-I', path.join(repo, 'include'), '-I', here, ...pc(['--cflags', 'apr-1', 'libcrypto']),
      path.join(here, 'seeds_session.c'), path.join(repo, 'mod_fedauth/fa_util.c'),
      path.join(repo, 'mod_fedauth/fa_session.c'), '-o', exe, ...pc(['--libs', 'apr-1', 'libcrypto']),
    ], { stdio: 'inherit' });
    const out = path.join(tmp, 'out');
    fs.mkdirSync(out);
    execFileSync(exe, [out], { stdio: 'inherit' });
    for (const f of fs.readdirSync(out).sort()) seed('session', f, fs.readFileSync(path.join(out, f)));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // hostile records and cookies
  seed('session', 'cookie-garbled', `${'A'.repeat(43)}.${'B'.repeat(22)}`);
  seed('session', 'record-huge-len', 'FA1\nc999999:1\n');
  seed('session', 'record-seven-digits', 'FA1\nc1000000:1\n');
  seed('session', 'record-truncated', 'FA1\nc10:17000000');
  seed('session', 'record-value-first', 'FA1\nc10:1700000000\nv3:abc\n');
  seed('session', 'login-missing', 'FL2\ni4:test\nn2:nn\n');
  seed('session', 'login-repeated', 'FL2\ni4:test\nn2:nn\nv2:vv\nr1:/\nu5:https\nc10:1700000000\ni4:evil\n');
  seed('session', 'state-bits', `${'A'.repeat(42)}B`);
  // times that overflow later arithmetic (refused since fa_session.c checks them)
  seed('session', 'record-last-seen-max', 'FA1\nc10:1700000000\nl19:9223372036854775807\ni4:test\ns1:a\nu1:b\n');
  seed('session', 'record-created-min', 'FA1\nc20:-9223372036854775808\nl10:1700000000\ni4:test\ns1:a\nu1:b\n');
  seed('session', 'login-created-min', 'FL2\ni4:test\nn2:nn\nv2:vv\nr1:/\nu5:https\nc20:-9223372036854775808\n');
}

const real = await capture().catch((e) => {
  process.stderr.write(`warning: no test IdP examples (${e.message}); synthetic seeds only\n`);
  return {};
});
writeKeysHeader();
jwsSeeds(real);
jwksSeeds(real);
discoverySeeds(real);
tokenSeeds(real);
userinfoSeeds(real);
querySeeds(real);
redisSeeds();
sessionSeeds();

for (const [target, list] of Object.entries(seeds)) {
  const dir = path.join(corpus, target);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, data] of list) fs.writeFileSync(path.join(dir, name), data);
  process.stdout.write(`${target}: ${list.length} seeds\n`);
}
