// SPDX-License-Identifier: Apache-2.0
// A stand-in for Microsoft Graph inside the test IdP, for Entra ID's group
// overage (GroupsSource graph). oidc-provider cannot send Entra's overage
// claims by itself; the users' claims can (`_claim_names` /
// `_claim_sources`, which oidc-provider passes on as distributed claims
// when `groups` is released, or `hasgroups: true`), and this answers the
// lookup that mod_fedauth then makes, in the shapes Graph documents:
//
//   POST <issuer>/graph/v1.0/me/getMemberObjects
//        Authorization: Bearer <access token of this IdP>
//        body {"securityEnabledOnly": true}
//     -> 200 {"@odata.context": ..., "value": [ids], "@odata.nextLink"?}
//   GET  <the nextLink>  (…/me/getMemberObjects?$skiptoken=<n>)  -> the next page
//   401 {"error":{"code":"InvalidAuthenticationToken",...}} for a token
//       this IdP did not issue (checked with oidc-provider's own store), or
//       none; 403 Authorization_RequestDenied / 429 with Retry-After as set.
//
// Config (the IdP's JSON): graph: { groups: { "<sub>": [ids] },
//   pageSize? (default 100) }.
// Admin (X-Admin-Token):
//   POST /_admin/graph  {"mode": null | "deny" | "throttle" | "throttle-once"
//        | "slow" | "foreign-next" | "bad-json", "retryAfter"? (s),
//        "delayMs"?, "pageSize"?}: from now on answer so (null: normally);
//        also clears the counters.
//   GET  /_admin/graph  {"requests": n, "pages": n, "auth": [results]}
const PREFIX = '/graph/v1.0';

export function makeGraph({ provider, config, issuer }) {
  const groups = config.graph?.groups || {};
  let state = { mode: null, retryAfter: 1, delayMs: 0, pageSize: config.graph?.pageSize || 100 };
  let counts = { requests: 0, pages: 0, auth: [] };
  let throttledOnce = false;

  const send = (res, status, obj, headers = {}) => {
    const body = typeof obj === 'string' ? obj : JSON.stringify(obj);
    const go = () => {
      if (res.destroyed) return;
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(body);
    };
    if (state.mode === 'slow' && state.delayMs) setTimeout(go, state.delayMs).unref();
    else go();
  };
  const error = (res, status, code, message, headers) => send(res, status, {
    error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': 'test' } },
  }, headers);

  async function readBody(req) {
    let s = '';
    for await (const c of req) { s += c; if (s.length > 4096) break; }
    return s;
  }

  function page(res, ids, from, base) {
    const size = Math.max(1, state.pageSize);
    const out = { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)', value: ids.slice(from, from + size) };
    if (from + size < ids.length) {
      const origin = state.mode === 'foreign-next' ? base.replace('127.0.0.1', 'localhost') : base;
      out['@odata.nextLink'] = `${origin}${PREFIX}/me/getMemberObjects?$skiptoken=${from + size}`;
    }
    counts.pages += 1;
    send(res, 200, out);
  }

  async function handle(req, res, url) {
    if (!url.pathname.startsWith(`${PREFIX}/`)) return false;
    counts.requests += 1;
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
    const token = m ? await provider.AccessToken.find(m[1]).catch(() => undefined) : undefined;
    counts.auth.push(token ? 'ok' : (m ? 'unknown' : 'none'));
    if (!token || !token.accountId) {
      return error(res, 401, 'InvalidAuthenticationToken', 'Access token validation failure.'), true;
    }
    if (url.pathname !== `${PREFIX}/me/getMemberObjects`) return error(res, 404, 'Request_ResourceNotFound', 'Not found.'), true;
    if (state.mode === 'deny') {
      return error(res, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'), true;
    }
    if (state.mode === 'throttle' || (state.mode === 'throttle-once' && !throttledOnce)) {
      throttledOnce = true;
      return error(res, 429, 'TooManyRequests', 'Too many requests.', { 'Retry-After': String(state.retryAfter) }), true;
    }
    if (state.mode === 'bad-json') return send(res, 200, '{"value": ["a", '), true;
    const ids = groups[token.accountId] || [];
    const base = issuer;
    if (req.method === 'POST' && !url.searchParams.has('$skiptoken')) {
      let body;
      try { body = JSON.parse(await readBody(req)); } catch { body = null; }
      if (!body || body.securityEnabledOnly !== true) {
        return error(res, 400, 'Request_BadRequest', 'securityEnabledOnly is required.'), true;
      }
      return page(res, ids, 0, base), true;
    }
    if (req.method === 'GET' && url.searchParams.has('$skiptoken')) {
      const from = Number(url.searchParams.get('$skiptoken'));
      if (!Number.isInteger(from) || from < 0) return error(res, 400, 'Request_BadRequest', 'Bad skiptoken.'), true;
      return page(res, ids, from, base), true;
    }
    return error(res, 405, 'Request_BadRequest', 'Method not allowed.'), true;
  }

  async function admin(req, res, path, json) {
    if (path !== '/_admin/graph') return false;
    if (req.method === 'GET') return json(200, counts), true;
    const b = await readBody(req);
    const o = JSON.parse(b || '{}');
    state = { ...state, mode: o.mode ?? null, retryAfter: o.retryAfter ?? 1, delayMs: o.delayMs ?? 0, pageSize: o.pageSize ?? state.pageSize };
    counts = { requests: 0, pages: 0, auth: [] };
    throttledOnce = false;
    return json(200, { ok: true, ...state }), true;
  }

  return { handle, admin };
}
