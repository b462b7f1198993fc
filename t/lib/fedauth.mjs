// SPDX-License-Identifier: Apache-2.0
// mod_fedauth specific helpers: config snippets and parsing of what the
// fixtures print.
import { decodeEntities, parseForm } from './browser.mjs';

/** A directive argument in double quotes, with " and \\ escaped as httpd reads them. */
export function confQuote(s) {
  return `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** One <FedAuthProvider> block. */
export function providerBlock({ id, issuer, clientId, clientSecret, auth, scopes = 'openid email profile', displayName, extra = '' }) {
  return `<FedAuthProvider ${id}>
    Issuer        ${issuer}
    ClientID      ${clientId}
${clientSecret ? `    ClientSecret  "${clientSecret}"\n` : ''}${auth ? `    TokenEndpointAuth ${auth}\n` : ''}    Scopes        "${scopes}"
    DisplayName   ${confQuote(displayName || `Test IdP ${id}`)}
${extra}</FedAuthProvider>
`;
}

/** Provider block from oidc-provider client metadata (opts: { displayName, scopes }). */
export function providerFromClient(id, issuer, client, extra = '', opts = {}) {
  return providerBlock({
    id,
    issuer,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    auth: client.token_endpoint_auth_method,
    extra,
    ...opts,
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
// Over https, with no FedAuthCookieDomain and Path=/, the session cookie
// carries the __Host- prefix (only this host can set it).
export const HOST_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
export const STATE_COOKIE_RE = /^fedauth_session_state_/;

/** Set-Cookie (parsed) entries named fedauth_session (or its __Host- name) that set a non-empty value. */
export function sessionCookiesSet(setCookies) {
  return setCookies.filter((c) => (c.name === SESSION_COOKIE || c.name === HOST_SESSION_COOKIE)
    && c.value && !isDeletion(c));
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

/**
 * A sign-in refused at its callback: the login runs until the IdP sends
 * the browser back, then the state parameter is altered by one character
 * (state_mismatch). Returns httpd's answer.
 */
export async function tamperedStateCallback(browser, startUrl, base, id) {
  const cb = new URL(await loginUntilCallback(browser, startUrl, base, id));
  const state = cb.searchParams.get('state');
  cb.searchParams.set('state', (state[0] === 'A' ? 'B' : 'A') + state.slice(1));
  return browser.getOnce(cb.href);
}

/** A POST to an endpoint that takes only GET: httpd's answer (405 expected). */
export function postForm(browser, url) {
  return browser.request(url, {
    method: 'POST', body: 'x=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
}

// ---------------------------------------------------------------- chooser

/** Attributes of a start tag's attribute text: { lowercased name: decoded value | true }. */
export function parseAttrs(text) {
  const out = {};
  const re = /([^\s"'>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  for (const m of String(text).matchAll(re)) {
    const v = m[2] ?? m[3] ?? m[4];
    out[m[1].toLowerCase()] = v === undefined ? true : decodeEntities(v);
  }
  return out;
}

/** Text content of an HTML fragment: tags dropped, references decoded, white space collapsed. */
export function htmlText(fragment) {
  return decodeEntities(String(fragment).replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
}

/**
 * The provider chooser in a page (issue3.md): the first <form> whose class
 * has fedauth-chooser. Returns null when there is none, else
 *   { action, method, attrs, hidden: { name: value }, buttons: [{ id, idp,
 *     attrs, html, text, imgs: [attrs] }], remember: attrs | null }
 * (buttons in page order; text/attrs decoded).
 */
export function parseChooser(html) {
  const body = String(html || '');
  const forms = [...body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
  const f = forms.find((m) => String(parseAttrs(m[1]).class || '').split(/\s+/).includes('fedauth-chooser'));
  if (!f) return null;
  const attrs = parseAttrs(f[1]);
  const inner = f[2];
  const hidden = {};
  let remember = null;
  for (const m of inner.matchAll(/<input\b([^>]*)>/gi)) {
    const a = parseAttrs(m[1]);
    if (String(a.type).toLowerCase() === 'hidden' && typeof a.name === 'string') hidden[a.name] = a.value ?? '';
    if (String(a.type).toLowerCase() === 'checkbox' && a.name === 'remember') remember = a;
  }
  const buttons = [...inner.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)].map((m) => {
    const a = parseAttrs(m[1]);
    return {
      id: a.id,
      idp: a.value,
      attrs: a,
      raw: m[0],
      html: m[2],
      text: htmlText(m[2]),
      imgs: [...m[2].matchAll(/<img\b([^>]*)>/gi)].map((i) => parseAttrs(i[1])),
    };
  });
  return {
    action: attrs.action, method: String(attrs.method || 'get').toLowerCase(), attrs, hidden, buttons, remember, raw: f[0],
  };
}

/** The URL a browser requests when the chooser's button for `idp` is pressed (GET form). */
export function chooserSubmitUrl(chooser, pageUrl, idp, { remember = false } = {}) {
  const u = new URL(chooser.action || pageUrl, pageUrl);
  u.search = '';
  for (const [k, v] of Object.entries(chooser.hidden)) u.searchParams.append(k, v);
  u.searchParams.append('idp', idp);
  if (remember && chooser.remember) u.searchParams.append('remember', chooser.remember.value ?? 'on');
  return u.href;
}

/** Parse a CSS declaration list ("a: b; c: d") into { a: 'b', c: 'd' } (lowercased names). */
export function parseStyle(style) {
  const out = {};
  for (const decl of String(style || '').split(';')) {
    const i = decl.indexOf(':');
    if (i > 0) out[decl.slice(0, i).trim().toLowerCase()] = decl.slice(i + 1).trim();
  }
  return out;
}

/** A CSS colour (#rgb, #rrggbb, white, black, rgb(r,g,b)) as [r, g, b], or null. */
export function cssColor(v) {
  const s = String(v || '').trim().toLowerCase().replace(/\s*!important$/, '');
  if (s === 'white') return [255, 255, 255];
  if (s === 'black') return [0, 0, 0];
  let m = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/.exec(s);
  if (m) return m.slice(1).map((h) => parseInt(h + h, 16));
  m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(s);
  if (m) return m.slice(1).map((h) => parseInt(h, 16));
  m = /^rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)/.exec(s);
  if (m) return m.slice(1, 4).map(Number);
  return null;
}

/** WCAG relative luminance and contrast ratio of two [r, g, b] colours. */
export function contrastRatio(c1, c2) {
  const lum = (c) => {
    const [r, g, b] = c.map((v) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(c1), lum(c2)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}

export const REMEMBER_COOKIE = `${SESSION_COOKIE}_idp`;

/**
 * Sign out as a user in a browser does: GET `url` (/fedauth/logout?...);
 * when that is the confirm page (a signed-in browser), submit its form
 * from this site, with the Origin and Sec-Fetch-Site a browser sends.
 * Returns the last response, one hop (not followed; follow: true follows
 * the POST's redirects), with .confirm = the confirm page when there was one.
 */
export async function signOut(browser, url, { follow = false, headers = {} } = {}) {
  const first = await browser.getOnce(url, { headers });
  const form = first.status === 200 ? parseForm(first.body, first.url) : null;
  if (!form || form.method !== 'POST' || !/\/fedauth\/logout/.test(new URL(form.action).pathname)) return first;
  const opts = {
    method: 'POST',
    body: '',
    headers: {
      ...headers,
      'Content-Type': 'application/x-www-form-urlencoded',
      Origin: new URL(form.action).origin,
      'Sec-Fetch-Site': 'same-origin',
    },
  };
  const r = follow ? await browser.navigate(form.action, opts) : await browser.request(form.action, opts);
  r.confirm = first;
  return r;
}
