// SPDX-License-Identifier: Apache-2.0
// Client authentication with signed JWTs (RFC 7523, OpenID Connect Core 9)
// at the test IdP: which algorithms oidc-provider accepts for
// private_key_jwt and client_secret_jwt, and a record of every assertion it
// accepted, so that a test can inspect what the relying party sent.
//
// Each accepted assertion becomes an event (GET /_admin/events):
//   { event: 'client_assertion', at, client_id, path (the endpoint called),
//     header: {...}, claims: {...} }
// oidc-provider calls the hook after the signature and the iss, aud, exp
// and jti checks passed; a refused assertion shows as grant.error
// (invalid_client) instead.

// oidc-provider 8's default lacks ES384 and the longer RSA hashes.
export const CLIENT_AUTH_ALGS = [
  'HS256', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA',
];

/** The provider option assertJwtClientAuthClaimsAndHeader, recording into events. */
export function recordClientAssertions(events) {
  return async function assertJwtClientAuthClaimsAndHeader(ctx, claims, header, client) {
    events.push({
      event: 'client_assertion',
      at: Date.now(),
      client_id: client?.clientId,
      path: ctx?.path,
      grant_type: ctx?.oidc?.params?.grant_type,
      header,
      claims,
    });
  };
}
