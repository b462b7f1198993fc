// SPDX-License-Identifier: Apache-2.0
// Several httpd "hosts" behind one IdP, as behind a load balancer: the
// same provider config and FedAuthSecret, a shared session store (e.g. one
// Redis), one IdP client per provider with every host's redirect URI and
// post-logout redirect URIs registered. Plus the IdP side of logout: RP-
// initiated logout at the IdP's end_session endpoint, and logout tokens
// signed by the IdP with whatever claims a test wants (t/idp/server.mjs
// POST /_admin/sign).
import crypto from 'node:crypto';

import { freePort } from './ports.mjs';
import { startIdp, defaultUsers, clientFor } from './idp.mjs';
import { startHttpd, requireModule } from './httpd.mjs';
import { providerFromClient, protectedLocation } from './fedauth.mjs';
import { checkErrorLog } from './errorlog.mjs';
import { parseForm } from './browser.mjs';

/**
 * startHosts({
 *   hosts?: 2,                      // number of httpd instances
 *   providers?: [{ id: 'test', client?: {extra client metadata},
 *                  extra?: 'provider block lines' }],
 *   users?, idTokenTTL?, idpConfig?: {more members of the IdP's config},
 *   storeConf: string | (ctx) => string,   // e.g. FedAuthSessionStore lines
 *   serverConf?, locationsConf?, extraConf?: string | (ctx) => string,
 *   secret?: FedAuthSecret (false: none),
 *   postLogoutPaths?: ['/', '/somewhere.html'],  // registered for every host
 *   backchannelHost?: 0,           // index of the host the IdP POSTs logout tokens to
 * }) -> {
 *   idp, hosts: [httpd handles], bases: [...], base (= bases[0]), clients: {id: metadata},
 *   secret, stop(), cleanup(), troubles(allowed), errorLogs(), restartHost(i)
 * }
 * ctx for the conf functions: { base, bases, index, port, idp, issuer, clients }.
 */
export async function startHosts(opts = {}) {
  requireModule();
  const n = opts.hosts || 2;
  const ports = [];
  for (let i = 0; i < n; i++) {
    let p;
    do { p = await freePort(); } while (ports.includes(p));
    ports.push(p);
  }
  const bases = ports.map((p) => `http://127.0.0.1:${p}`);
  const providers = opts.providers || [{ id: 'test' }];
  const postLogoutPaths = opts.postLogoutPaths || ['/', '/somewhere.html'];
  const bcHost = opts.backchannelHost || 0;
  const clients = {};
  for (const p of providers) {
    const c = clientFor({ id: p.id, httpdBase: bases[0], auth: p.auth || 'client_secret_basic', alg: p.alg || 'RS256' });
    c.redirect_uris = bases.map((b) => `${b}/signin-${p.id}`);
    c.post_logout_redirect_uris = bases.flatMap((b) => postLogoutPaths.map((x) => `${b}${x}`));
    c.backchannel_logout_uri = `${bases[bcHost]}/signin-${p.id}/backchannel`;
    Object.assign(c, p.client || {});
    clients[p.id] = c;
  }
  const secret = opts.secret === false ? null : (opts.secret || crypto.randomBytes(24).toString('hex'));
  const c = {
    bases, base: bases[0], ports, clients, secret, hosts: [], idp: null,
  };
  const old = [];
  c.stop = async () => {
    for (const h of c.hosts) await h?.stop();
    await c.idp?.stop();
  };
  c.cleanup = () => {
    for (const h of [...old, ...c.hosts]) h?.cleanup();
    c.idp?.cleanup();
  };
  c.errorLogs = () => [...old, ...c.hosts].map((h) => h?.allLogs() || '').join('\n');
  c.troubles = (allowed = []) => checkErrorLog(c.errorLogs(), allowed);
  const resolve = (v, ctx) => (typeof v === 'function' ? v(ctx) : (v || ''));
  const launch = (i) => {
    const ctx = {
      base: bases[i], bases, index: i, port: ports[i], idp: c.idp, issuer: c.idp.issuer, clients,
    };
    return startHttpd({
      port: ports[i],
      providersConf: [
        secret ? `FedAuthSecret "${secret}"` : '',
        `FedAuthHTTPTimeout ${opts.httpTimeout || 3}`,
        // These suites test the store itself: each request asks it, unless a
        // suite sets FedAuthSessionLocalCache (305-local-cache tests the copy).
        withLocalCache(resolve(opts.storeConf, ctx)),
        resolve(opts.serverConf, ctx),
        ...providers.map((p) => providerFromClient(p.id, c.idp.issuer, clients[p.id], resolve(p.extra, ctx))),
      ].join('\n'),
      locationsConf: opts.locationsConf === undefined ? protectedLocation() : resolve(opts.locationsConf, ctx),
      extraConf: resolve(opts.extraConf, ctx),
    });
  };
  /** Stop host i and start it again (same port, config and secret). */
  c.restartHost = async (i) => {
    await c.hosts[i]?.stop();
    old.push(c.hosts[i]);
    c.hosts[i] = null;
    c.hosts[i] = await launch(i);
    return c.hosts[i];
  };
  try {
    c.idp = await startIdp({ clients: Object.values(clients), users: opts.users || defaultUsers(), idTokenTTL: opts.idTokenTTL, extraConfig: opts.idpConfig || {} });
    for (let i = 0; i < n; i++) c.hosts.push(await launch(i));
  } catch (e) {
    await c.stop();
    c.cleanup();
    throw e;
  }
  return c;
}

// ------------------------------------------------------------ IdP logout

/**
 * RP-initiated logout at the IdP (oidc-provider): GET endSessionUrl (the
 * IdP's end_session_endpoint with whatever parameters; a string or URL),
 * confirm the "Do you want to sign-out" form with logout=yes (ending the
 * whole IdP session), follow the redirects (bounded). Returns the final
 * response with .confirmPage (the form page) and .hops.
 * With stopAt(url) true, following stops before that URL (res.stoppedAt).
 */
export async function logoutAtIdp(browser, endSessionUrl, { stopAt, logout = 'yes' } = {}) {
  const first = await browser.get(String(endSessionUrl), { stopAt });
  if (first.stoppedAt) return first;
  let res = first;
  const form = first.status === 200 ? parseForm(first.body, first.url) : null;
  if (form && 'xsrf' in form.fields) {
    const fields = { ...form.fields };
    if (logout) fields.logout = logout;
    res = await browser.post(form.action, fields, { stopAt });
    res.hops = [...first.hops, ...res.hops];
    res.confirmPage = first;
  } else {
    // no IdP session: oidc-provider answers with an auto-posting form
    res = await browser.submitAutoPost(first, { stopAt });
  }
  return res;
}

/** The IdP's end_session URL for a client (no id_token_hint). */
export function endSessionUrl(meta, params = {}) {
  const u = new URL(meta.end_session_endpoint);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u.href;
}

export const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * Claims of a logout token from `idp` for client `clientId`: iss, aud, iat,
 * exp (+120 s), a fresh jti, the back-channel event, and sub/sid as given;
 * `more` is merged last (a value undefined removes the claim).
 */
export function logoutClaims(idp, clientId, { sub, sid, ...more } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const c = {
    iss: idp.issuer,
    aud: clientId,
    iat: now,
    exp: now + 120,
    jti: crypto.randomBytes(16).toString('hex'),
    events: { [BACKCHANNEL_EVENT]: {} },
  };
  if (sub !== undefined) c.sub = sub;
  if (sid !== undefined) c.sid = sid;
  for (const [k, v] of Object.entries(more)) {
    if (v === undefined) delete c[k];
    else c[k] = v;
  }
  return c;
}

/**
 * A JWS signed by the IdP's own key for that client's
 * id_token_signed_response_alg (t/idp/server.mjs POST /_admin/sign);
 * header defaults to { typ: 'logout+jwt', alg, kid }.
 */
export async function signAtIdp(idp, clientId, claims, header = {}) {
  const r = await idp.admin('/_admin/sign', { method: 'POST', body: { client_id: clientId, claims, header } });
  return r.token;
}

/** POST logout_token=<token> to <base>/signin-<id>/backchannel (urlencoded); { status, body, json, ms }. */
export async function postLogoutToken(base, id, token, { body, contentType = 'application/x-www-form-urlencoded', method = 'POST' } = {}) {
  const started = Date.now();
  const res = await fetch(`${base}/signin-${id}/backchannel`, {
    method,
    headers: method === 'GET' ? {} : { 'Content-Type': contentType },
    body: method === 'GET' ? undefined : (body !== undefined ? body : new URLSearchParams({ logout_token: token }).toString()),
    redirect: 'manual',
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return {
    status: res.status, body: text, json, headers: res.headers, ms: Date.now() - started,
  };
}

/** Store lines with FedAuthSessionLocalCache 0 unless they set it. */
function withLocalCache(conf) {
  const text = conf || '';
  return /FedAuthSessionLocalCache/.test(text) || !/FedAuthSessionStore\s+redis/.test(text)
    ? text : `${text}\nFedAuthSessionLocalCache 0`;
}
