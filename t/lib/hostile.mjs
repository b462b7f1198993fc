// SPDX-License-Identifier: Apache-2.0
// The hostile-IdP suite's helpers (t/integration/5xx): the test IdP's
// key and answer overrides (t/idp/server.mjs /_admin/keys, /_admin/override,
// /_admin/hits) and the assertions every refused login shares.
import assert from 'node:assert/strict';

import { dump, errorCodes, sessionCookiesSet, SESSION_COOKIE } from './fedauth.mjs';

/**
 * Changes how the IdP signs ID tokens and what its JWKS lists (merged into
 * the current setting): { rotate, keepOld, dropKid, jwksOnly, padClaimBytes,
 * reset } -> { signingKid, jwks: [kid, ...] }.
 */
export const idpKeys = (idp, opts) => idp.admin('/_admin/keys', { method: 'POST', body: opts });

/**
 * From now on the IdP answers requests for `path` with exactly this:
 * { status = 200, contentType = 'application/json', body (string), method?,
 * delayMs? }; spec null removes the override.
 */
export const idpOverride = (idp, path, spec) => idp.admin('/_admin/override', {
  method: 'POST', body: spec === null ? { path, body: null } : { path, ...spec },
});

/** Removes every override and key change. */
export async function idpBehave(idp) {
  await idp.admin('/_admin/override', { method: 'POST', body: { reset: true } });
  await idpKeys(idp, { reset: true });
}

/** Requests per path the IdP has seen ({ '/jwks': 3, ... }). */
export const idpHits = (idp) => idp.admin('/_admin/hits');

/** The IdP's own discovery document (no override applied by the caller). */
export async function idpDiscovery(idp) {
  const r = await fetch(`${idp.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  return r.json();
}

/** The IdP's JWKS as served now. */
export async function idpJwks(idp) {
  const r = await fetch(`${idp.issuer}/jwks`, { signal: AbortSignal.timeout(5000) });
  return r.json();
}

/**
 * A refused sign-in as the user sees it: the status, the stable code in the
 * error page, an HTML page, no session cookie set on any hop, none in the
 * jar; and the error log line naming provider and code
 * ("sign-in through <id> refused: <code>").
 */
export function assertRefused(r, { status, code, id, browser, site }) {
  assert.equal(r.status, status, dump(r));
  assert.ok(errorCodes(r.body).includes(code), `<code>${code}</code> expected:\n${dump(r)}`);
  assert.match(r.headers.get('content-type') || '', /text\/html/i, 'an HTML error page');
  assert.deepEqual(sessionCookiesSet(r.setCookiesAll || r.setCookies), [], 'no session cookie set');
  if (browser) assert.equal(browser.jar.get(SESSION_COOKIE), undefined, 'no session cookie in the jar');
  if (site && id) {
    const re = new RegExp(`sign-in through ${id} refused: ${code}\\b`);
    assert.match(site.errorLog(), re, `the error log names ${id} and ${code}`);
  }
}

/** Lines of the error log matching re. */
export const logLines = (site, re) => site.errorLog().split('\n').filter((l) => re.test(l));

/** The pid of an httpd error log line ("[pid 123:tid 456]"), or null. */
export function logPid(line) {
  const m = /\[pid (\d+)/.exec(line);
  return m ? Number(m[1]) : null;
}

/**
 * httpd config: one child process (per-process caches such as the JWKS
 * become observable); appended after the harness's MPM settings.
 */
export const ONE_PROCESS = `<IfModule mpm_event_module>
    StartServers 1
    ServerLimit 1
    MinSpareThreads 1
    MaxSpareThreads 10
    MaxRequestWorkers 10
</IfModule>
`;
