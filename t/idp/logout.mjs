// SPDX-License-Identifier: Apache-2.0
// The test IdP's parts for logout tests (t/idp/server.mjs imports them):
//
//   config.revocation: true   oidc-provider's revocation endpoint (RFC 7009,
//                             /token/revocation, listed in discovery).
//   GET  /_admin/tokens       JSON array of the access and refresh tokens the
//                             IdP issued so far: { kind, value, client_id,
//                             sub, destroyed } (a test uses a refresh token
//                             the module holds, as an attacker with a copy
//                             would, to see whether it still works).
//   POST /_admin/tokens/clear forget them.
//   GET  /_test/frontchannel?u=<url>[&u=<url>...]
//                             the IdP's own logout page as an OP that does
//                             Front-Channel Logout 1.0 renders it (oidc-
//                             provider 8 has none): one iframe per u (http
//                             URLs on 127.0.0.1 only), and document.title
//                             "loaded <n>" once every iframe fired load.
const issued = [];

/** Features to merge into oidc-provider's `features`. */
export function logoutFeatures(config) {
  return config.revocation ? { revocation: { enabled: true } } : {};
}

/** Records every access and refresh token the provider saves or destroys. */
export function watchTokens(provider) {
  for (const kind of ['access_token', 'refresh_token']) {
    provider.on(`${kind}.saved`, (t) => {
      issued.push({
        kind, value: t.jti, client_id: t.clientId, sub: t.accountId, destroyed: false,
      });
    });
    provider.on(`${kind}.destroyed`, (t) => {
      for (const x of issued) if (x.value === t.jti) x.destroyed = true;
    });
  }
}

export const LOGOUT_ADMIN = new Set(['/_admin/tokens', '/_admin/tokens/clear']);

/** /_admin/tokens[/clear]; json(status, obj) answers. */
export function logoutAdmin(req, path, json) {
  if (req.method === 'GET' && path === '/_admin/tokens') return json(200, issued);
  if (req.method === 'POST' && path === '/_admin/tokens/clear') {
    issued.length = 0;
    return json(200, { ok: true });
  }
  return json(405, { error: 'method' });
}

const escAttr = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** GET /_test/frontchannel: the IdP's logout page with one iframe per u. */
export function frontchannelPage(req, res, url) {
  const urls = url.searchParams.getAll('u').slice(0, 10).filter((u) => {
    try {
      const x = new URL(u);
      return x.protocol === 'http:' && x.hostname === '127.0.0.1';
    } catch { return false; }
  });
  const frames = urls.map((u, i) => `<iframe id="f${i}" src="${escAttr(u)}" onload="loaded()"></iframe>`).join('\n');
  const body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>signing out</title>
<script>let n = 0; function loaded() { n += 1; if (n === ${urls.length}) document.title = 'loaded ' + n; }</script>
</head><body><h1>Signing you out of every application</h1>
${frames}
</body></html>`;
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}
