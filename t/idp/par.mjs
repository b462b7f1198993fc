// SPDX-License-Identifier: Apache-2.0
// Pushed authorization requests (RFC 9126) for the test IdP
// (t/idp/server.mjs), for the PushedAuthorization tests (821).
//
// oidc-provider 8 offers PAR by default (endpoint /request, named in
// discovery as pushed_authorization_request_endpoint). Config JSON member
// `par`: { require: true } makes it an authorization server policy
// (requirePushedAuthorizationRequests): discovery then says
// require_pushed_authorization_requests: true, and the authorization
// endpoint refuses every request that was not pushed.

/** The features member of the provider's configuration. */
export function parFeatures(config) {
  if (!config.par) return {};
  return {
    pushedAuthorizationRequests: {
      enabled: true,
      requirePushedAuthorizationRequests: !!config.par.require,
    },
  };
}
