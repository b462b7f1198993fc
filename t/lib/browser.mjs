// SPDX-License-Identifier: Apache-2.0
// A small browser-like HTTP client: a cookie jar keyed by host only
// (browsers share cookies across the ports of one host), manual redirect
// following with a bound, and a record of every hop.

// Each Set-Cookie of a response is needed on its own (Headers#getSetCookie).
// The fetch of Debian 12's Node.js 18 comes from an older undici whose
// Headers lack it (several cookies would arrive joined by commas, which
// Expires dates contain too); there the requests go through the npm undici
// instead, the same fetch that Node.js 20 and later bundle.
const fetchWithCookies = typeof Headers.prototype.getSetCookie === 'function'
  ? globalThis.fetch
  : (await import('undici')).fetch;

/** Parse one Set-Cookie header value into { name, value, attrs: {lowercased: value|true} }. */
export function parseSetCookie(header) {
  const parts = header.split(';');
  const first = parts.shift();
  const eq = first.indexOf('=');
  const name = (eq < 0 ? '' : first.slice(0, eq)).trim();
  const value = (eq < 0 ? first : first.slice(eq + 1)).trim();
  const attrs = {};
  const raw = {};
  for (const p of parts) {
    const i = p.indexOf('=');
    const k = (i < 0 ? p : p.slice(0, i)).trim();
    if (!k) continue;
    const v = i < 0 ? true : p.slice(i + 1).trim();
    attrs[k.toLowerCase()] = v;
    raw[k] = v;
  }
  return { name, value, attrs, raw, header };
}

function defaultPath(pathname) {
  if (!pathname.startsWith('/')) return '/';
  const i = pathname.lastIndexOf('/');
  return i <= 0 ? '/' : pathname.slice(0, i);
}

function pathMatches(cookiePath, reqPath) {
  if (cookiePath === reqPath) return true;
  if (reqPath.startsWith(cookiePath)) {
    return cookiePath.endsWith('/') || reqPath[cookiePath.length] === '/';
  }
  return false;
}

export class CookieJar {
  constructor() {
    /** host -> Map("name\0path" -> {name, value, path, expires, httpOnly, secure, sameSite}) */
    this.hosts = new Map();
  }

  /** Store a Set-Cookie header received from `url`. */
  store(url, header, now = Date.now()) {
    const u = new URL(url);
    const c = parseSetCookie(header);
    if (!c.name) return;
    const secure = c.attrs.secure === true;
    if (secure && u.protocol !== 'https:') return; // as browsers do
    let cpath = typeof c.attrs.path === 'string' && c.attrs.path.startsWith('/') ? c.attrs.path : defaultPath(u.pathname);
    if (cpath.length > 1 && cpath.endsWith('/')) cpath = cpath.replace(/\/+$/, '') || '/';
    let expires = null;
    if (c.attrs['max-age'] !== undefined && /^-?\d+$/.test(String(c.attrs['max-age']))) {
      const n = parseInt(c.attrs['max-age'], 10);
      expires = n <= 0 ? 0 : now + n * 1000;
    } else if (typeof c.attrs.expires === 'string') {
      const t = Date.parse(c.attrs.expires);
      if (!Number.isNaN(t)) expires = t;
    }
    const host = u.hostname;
    if (!this.hosts.has(host)) this.hosts.set(host, new Map());
    const m = this.hosts.get(host);
    const key = `${c.name}\0${cpath}`;
    if (expires !== null && expires <= now) {
      m.delete(key);
      return;
    }
    m.set(key, {
      name: c.name,
      value: c.value,
      path: cpath,
      expires,
      httpOnly: c.attrs.httponly === true,
      secure,
      sameSite: typeof c.attrs.samesite === 'string' ? c.attrs.samesite : undefined,
    });
  }

  /** Cookies that would be sent to `url`, longest path first. */
  cookiesFor(url, now = Date.now()) {
    const u = new URL(url);
    const m = this.hosts.get(u.hostname);
    if (!m) return [];
    const out = [];
    for (const [key, c] of m) {
      if (c.expires !== null && c.expires <= now) { m.delete(key); continue; }
      if (c.secure && u.protocol !== 'https:') continue;
      if (!pathMatches(c.path, u.pathname)) continue;
      out.push(c);
    }
    return out.sort((a, b) => b.path.length - a.path.length);
  }

  header(url) {
    return this.cookiesFor(url).map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** First cookie named `name` visible at url (default any path on host). */
  get(name, url) {
    if (url) return this.cookiesFor(url).find((c) => c.name === name);
    for (const m of this.hosts.values()) {
      for (const c of m.values()) if (c.name === name) return c;
    }
    return undefined;
  }

  all() {
    const out = [];
    for (const [host, m] of this.hosts) for (const c of m.values()) out.push({ host, ...c });
    return out;
  }

  set(url, name, value, cpath = '/') {
    this.store(url, `${name}=${value}; Path=${cpath}`);
  }

  delete(name) {
    for (const m of this.hosts.values()) {
      for (const [k, c] of m) if (c.name === name) m.delete(k);
    }
  }

  clear() { this.hosts.clear(); }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Extract the first <form> containing a password field (or the first form). */
export function parseForm(html, pageUrl) {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
  if (!forms.length) return null;
  const pick = forms.find((f) => /type=["']?password/i.test(f[2])) || forms[0];
  const attr = (s, n) => {
    const m = new RegExp(`\\b${n}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(s);
    return m ? decodeEntities(m[1] ?? m[2] ?? m[3]) : undefined;
  };
  const action = new URL(attr(pick[1], 'action') || pageUrl, pageUrl).href;
  const method = (attr(pick[1], 'method') || 'get').toUpperCase();
  const fields = {};
  for (const m of pick[2].matchAll(/<input\b([^>]*)>/gi)) {
    const n = attr(m[1], 'name');
    if (n) fields[n] = attr(m[1], 'value') ?? '';
  }
  return { action, method, fields };
}

/** Decode the character references an HTML serializer produces (named basics, &#N;, &#xN;). */
export function decodeEntities(s) {
  return String(s).replace(/&(amp|lt|gt|quot|apos|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});/g, (m, e) => {
    const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e];
    if (named) return named;
    const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    try { return String.fromCodePoint(n); } catch { return m; }
  });
}

/**
 * An auto-submitting POST form, as an OpenID Provider sends for
 * response_mode=form_post (only hidden inputs, submitted by a script on
 * load): { action, method: 'POST', fields } or null.
 */
export function parseAutoPostForm(html, pageUrl) {
  const text = String(html || '');
  if (!/\.submit\(\)/.test(text)) return null;
  const m = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(text);
  if (!m || !/\bmethod\s*=\s*["']?post/i.test(m[1])) return null;
  const inputs = [...m[2].matchAll(/<input\b([^>]*)>/gi)];
  if (!inputs.length || inputs.some((i) => !/\btype\s*=\s*["']?hidden/i.test(i[1]))) return null;
  const form = parseForm(m[0], pageUrl);
  return form && form.method === 'POST' ? form : null;
}

/**
 * Response as returned by Browser methods:
 *   { status, headers (Headers), url, body (string), setCookies: [parsed],
 *     location, hops: [{ method, url, status, location, setCookies: [raw] }] }
 */
export class Browser {
  constructor({ maxHops = 20, timeoutMs = 15000, headers = {} } = {}) {
    this.jar = new CookieJar();
    this.maxHops = maxHops;
    this.timeoutMs = timeoutMs;
    this.defaultHeaders = headers;
    this.history = [];
  }

  /** One request, no redirect following. */
  async request(url, { method = 'GET', headers = {}, body, cookies = true } = {}) {
    const h = { ...this.defaultHeaders, ...headers };
    if (cookies) {
      const c = this.jar.header(url);
      if (c) h.Cookie = c;
    }
    const started = Date.now();
    let res;
    try {
      res = await fetchWithCookies(url, {
        method,
        headers: h,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      // name the request and the socket's own error, not just "fetch failed"
      const why = e.cause ? ` (${e.cause.code || ''} ${e.cause.message || ''})` : '';
      throw new Error(`${method} ${url} after ${Date.now() - started} ms: ${e.message}${why}`, { cause: e });
    }
    const text = await res.text();
    const raw = res.headers.getSetCookie();
    for (const sc of raw) this.jar.store(url, sc);
    const hop = {
      method,
      url,
      status: res.status,
      location: res.headers.get('location') || undefined,
      setCookies: raw,
      ms: Date.now() - started,
    };
    this.history.push(hop);
    return {
      status: res.status,
      headers: res.headers,
      url,
      body: text,
      location: hop.location,
      setCookies: raw.map(parseSetCookie),
      hops: [hop],
      ms: hop.ms,
    };
  }

  /** Request, then follow redirects (bounded) like a browser. */
  async navigate(url, opts = {}) {
    const hops = [];
    let res = await this.request(url, opts);
    hops.push(...res.hops);
    let n = 0;
    while (REDIRECTS.has(res.status) && res.location && opts.follow !== false) {
      if (++n > this.maxHops) throw new Error(`more than ${this.maxHops} redirects: ${hops.map((h) => `${h.status} ${h.url}`).join(' -> ')}`);
      const next = new URL(res.location, res.url).href;
      if (opts.stopAt && opts.stopAt(next)) {
        res.stoppedAt = next;
        break;
      }
      const keep = res.status === 307 || res.status === 308;
      res = await this.request(next, keep ? opts : { headers: opts.headers, stopAt: opts.stopAt });
      hops.push(...res.hops);
    }
    res.hops = hops;
    res.setCookiesAll = hops.flatMap((h) => h.setCookies.map((sc) => ({ url: h.url, ...parseSetCookie(sc) })));
    return res;
  }

  get(url, opts = {}) { return this.navigate(url, { ...opts, method: 'GET' }); }

  /** GET without following redirects. */
  getOnce(url, opts = {}) { return this.request(url, { ...opts, method: 'GET' }); }

  /** POST an urlencoded form (object or URLSearchParams) and follow redirects. */
  post(url, form = {}, opts = {}) {
    const body = form instanceof URLSearchParams ? form.toString() : new URLSearchParams(form).toString();
    return this.navigate(url, {
      ...opts,
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(opts.headers || {}) },
    });
  }

  /**
   * Start at startUrl, follow redirects to the IdP, fill in its login form,
   * post it and follow redirects back until a non-redirect response.
   * If no login form shows up (IdP session already there), the first final
   * response is returned. opts.stopAt(url) -> true stops following before
   * requesting that URL (the response then is the redirect to it).
   */
  async login(startUrl, username, password, { extraFields = {}, stopAt, formPost = true } = {}) {
    const first = await this.get(startUrl, { stopAt });
    const hops = [...first.hops];
    const form = first.status === 200 ? parseForm(first.body, first.url) : null;
    if (!form || !('password' in form.fields)) {
      first.hops = hops;
      first.loginFormSeen = false;
      return formPost ? this.submitAutoPost(first, { stopAt }) : first;
    }
    const fields = { ...form.fields, username, password, ...extraFields };
    const res = await this.post(form.action, fields, { stopAt });
    res.hops = [...hops, ...res.hops];
    // every cookie set on the way, from the first request on
    res.setCookiesAll = res.hops.flatMap((h) => h.setCookies.map((sc) => ({ url: h.url, ...parseSetCookie(sc) })));
    res.loginFormSeen = true;
    res.loginPage = first;
    return formPost ? this.submitAutoPost(res, { stopAt }) : res;
  }

  /**
   * When `res` is an auto-submitting POST form (the IdP's form_post
   * response), submit it as a browser's script would and follow redirects;
   * at most 3 in a row. Returns the final response with the hops of both,
   * and res.formPosts = [{ action, fields }] of the forms submitted. With
   * stopAt(action) true, the form is not submitted: res.stoppedAt = action
   * and res.stoppedForm = the form.
   */
  async submitAutoPost(res, { stopAt } = {}) {
    let cur = res;
    const formPosts = [...(res.formPosts || [])];
    for (let i = 0; i < 3; i++) {
      // any status: oidc-provider sends an error response with 400
      const auto = REDIRECTS.has(cur.status) ? null : parseAutoPostForm(cur.body, cur.url);
      if (!auto) break;
      if (stopAt && stopAt(auto.action)) {
        cur.stoppedAt = auto.action;
        cur.stoppedForm = auto;
        break;
      }
      formPosts.push(auto);
      const next = await this.post(auto.action, auto.fields, { stopAt });
      next.hops = [...cur.hops, ...next.hops];
      next.setCookiesAll = next.hops.flatMap((h) => h.setCookies.map((sc) => ({ url: h.url, ...parseSetCookie(sc) })));
      for (const k of ['loginFormSeen', 'loginPage']) if (k in cur) next[k] = cur[k];
      cur = next;
    }
    if (formPosts.length) cur.formPosts = formPosts;
    return cur;
  }
}
