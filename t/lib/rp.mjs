// SPDX-License-Identifier: Apache-2.0
// A minimal relying party in node, used to check the test IdP and the
// harness on their own (no httpd): authorization-code flow with PKCE,
// token exchange with each client authentication method, and ID token
// signature verification with node's crypto.
import crypto from 'node:crypto';

export async function discover(issuer) {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`discovery: ${res.status}`);
  return res.json();
}

export function pkcePair() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export function authorizationUrl(meta, { client, redirectUri, scope = 'openid email profile', state, nonce, challenge, extra = {} }) {
  const u = new URL(meta.authorization_endpoint);
  const p = {
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(p)) if (v !== undefined) u.searchParams.set(k, v);
  return u.href;
}

export async function exchangeCode(meta, { client, code, redirectUri, verifier }) {
  const body = new URLSearchParams({
    grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
  });
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const auth = client.token_endpoint_auth_method || 'client_secret_basic';
  if (auth === 'client_secret_basic') {
    const enc = (s) => encodeURIComponent(s);
    headers.Authorization = `Basic ${Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret)}`).toString('base64')}`;
  } else if (auth === 'client_secret_post') {
    body.set('client_id', client.client_id);
    body.set('client_secret', client.client_secret);
  } else {
    body.set('client_id', client.client_id);
  }
  const res = await fetch(meta.token_endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
  return { status: res.status, json: await res.json() };
}

const b64json = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

/** Verify a compact JWS ID token; returns { header, payload }; throws on a bad signature. */
export async function verifyIdToken(meta, idToken, { clientSecret } = {}) {
  const [h, p, s] = idToken.split('.');
  const header = b64json(h);
  const payload = b64json(p);
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  let ok;
  if (header.alg === 'none') throw new Error('alg none refused');
  if (header.alg === 'HS256') {
    const mac = crypto.createHmac('sha256', clientSecret).update(data).digest();
    ok = mac.length === sig.length && crypto.timingSafeEqual(mac, sig);
  } else {
    const jwks = await (await fetch(meta.jwks_uri, { signal: AbortSignal.timeout(5000) })).json();
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    if (!jwk) throw new Error(`no key ${header.kid}`);
    const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
    const hash = { 256: 'sha256', 384: 'sha384', 512: 'sha512' }[header.alg.slice(2)];
    switch (header.alg) {
      case 'RS256': ok = crypto.verify(hash, data, key, sig); break;
      case 'PS256': ok = crypto.verify(hash, data, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig); break;
      case 'ES256': case 'ES384': case 'ES512':
        ok = crypto.verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig); break;
      case 'EdDSA': case 'Ed25519': ok = crypto.verify(null, data, key, sig); break;
      default: throw new Error(`alg ${header.alg}`);
    }
  }
  if (!ok) throw new Error(`bad ${header.alg} signature`);
  return { header, payload };
}
