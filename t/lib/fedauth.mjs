// mod_fedauth specific helpers: config snippets and parsing of what the
// fixtures print.

/** One <FedAuthProvider> block. */
export function providerBlock({ id, issuer, clientId, clientSecret, auth, scopes = 'openid email profile', displayName, extra = '' }) {
  return `<FedAuthProvider ${id}>
    Issuer        ${issuer}
    ClientID      ${clientId}
${clientSecret ? `    ClientSecret  "${clientSecret}"\n` : ''}${auth ? `    TokenEndpointAuth ${auth}\n` : ''}    Scopes        "${scopes}"
    DisplayName   "${displayName || `Test IdP ${id}`}"
${extra}</FedAuthProvider>
`;
}

/** Provider block from oidc-provider client metadata. */
export function providerFromClient(id, issuer, client, extra = '') {
  return providerBlock({
    id,
    issuer,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    auth: client.token_endpoint_auth_method,
    extra,
  });
}

/** The standard protected location (CGI scripts under /protected/). */
export function protectedLocation(path = '/protected', extra = '') {
  return `<Location ${path}>
    AuthType FedAuth
    Require valid-user
${extra}</Location>
`;
}

/** Parse env.cgi's `NAME=value` lines into an object. */
export function parseEnv(text) {
  const out = {};
  for (const line of String(text).split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** The stable error code from an error page: the text of its <code> element(s). */
export function errorCodes(html) {
  return [...String(html).matchAll(/<code[^>]*>([^<]*)<\/code>/gi)].map((m) => m[1].trim());
}

export const SESSION_COOKIE = 'fedauth_session';
export const STATE_COOKIE_RE = /^fedauth_session_state_/;

/** Set-Cookie (parsed) entries named fedauth_session that set a non-empty value. */
export function sessionCookiesSet(setCookies) {
  return setCookies.filter((c) => c.name === SESSION_COOKIE && c.value && !isDeletion(c));
}

/** True when a parsed Set-Cookie deletes the cookie (Max-Age<=0 or Expires in the past). */
export function isDeletion(c) {
  const ma = c.attrs['max-age'];
  if (ma !== undefined && /^-?\d+$/.test(String(ma)) && parseInt(ma, 10) <= 0) return true;
  if (typeof c.attrs.expires === 'string') {
    const t = Date.parse(c.attrs.expires);
    if (!Number.isNaN(t) && t <= Date.now()) return true;
  }
  return false;
}

/** One-line-per-hop description of a response, for assertion messages. */
export function dump(res, bodyChars = 600) {
  const hops = (res.hops || []).map((h) => `  ${h.method} ${h.url} -> ${h.status}${h.location ? ` ${h.location}` : ''}${h.setCookies?.length ? `\n      set-cookie: ${h.setCookies.join(' | ')}` : ''}`).join('\n');
  return `final ${res.status} ${res.url}\nhops:\n${hops}\nbody: ${String(res.body || '').slice(0, bodyChars)}`;
}

/** Discovery document of an issuer. */
export async function discovery(issuer) {
  const r = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  return r.json();
}

/** The callback URL a login would deliver to httpd (stops before requesting it). */
export async function loginUntilCallback(browser, startUrl, base, id, user = 'alice', password = 'alice-pass-1') {
  const res = await browser.login(startUrl, user, password, {
    stopAt: (u) => u.startsWith(`${base}/signin-${id}`),
  });
  if (!res.stoppedAt) throw new Error(`login did not reach /signin-${id}:\n${dump(res)}`);
  return res.stoppedAt;
}
