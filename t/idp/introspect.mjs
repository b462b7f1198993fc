// SPDX-License-Identifier: Apache-2.0
// Token introspection (RFC 7662) and revocation (RFC 7009) for the test
// IdP (t/idp/server.mjs), for the opaque bearer token tests (820-829).
//
// Config JSON member `introspection`:
//   true, or { username?: bool }: oidc-provider's introspection and
//   revocation features are enabled (endpoints /token/introspection and
//   /token/revocation, in discovery). Any client that authenticates may
//   introspect any token, as Keycloak and Okta allow a confidential
//   resource server to; a public client only its own. With username, the
//   user's preferred_username and groups travel with each opaque access
//   token and come back as `username` and `groups` in the introspection
//   answer (as Keycloak answers with a groups mapper); without it the
//   answer names the user by sub only.
// oidc-provider keeps its access tokens opaque unless a resource indicator
// asks for a JWT, so the tokens of an ordinary code flow are opaque.

/** What the provider's configuration gets: { features, claims }. */
export function introspectionOptions(config, findUserBySub) {
  const opt = config.introspection;
  if (!opt) return { features: {}, claims: {} };
  const features = {
    introspection: {
      enabled: true,
      async allowedPolicy(ctx, client, token) {
        return client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client.clientId;
      },
    },
    revocation: { enabled: true },
  };
  const claims = opt.username ? {
    async extraTokenClaims(_ctx, token) {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      const c = findUserBySub(token.accountId)?.claims || {};
      const out = {};
      if (c.preferred_username) out.username = c.preferred_username;
      if (c.groups) out.groups = c.groups;
      return out;
    },
  } : {};
  return { features, claims };
}
