// SPDX-License-Identifier: Apache-2.0
// Helpers for sites with several IdPs and providers (issue3.md): users of
// the two standard test IdPs, per-location provider lists, and assertions
// on where the browser is sent.
import assert from 'node:assert/strict';

import { testUser } from './idp.mjs';
import { dump, discovery } from './fedauth.mjs';

/** IdP "A": anna (user name anna, sub anna-sub-A). */
export const USERS_A = [testUser('anna', 'A', { given_name: 'Anna', family_name: 'Alpha' })];
/** IdP "B": bruno (user name bruno, sub bruno-sub-B); anna does not exist there. */
export const USERS_B = [testUser('bruno', 'B', { given_name: 'Bruno', family_name: 'Beta' })];
export const ANNA = { username: 'anna', password: 'anna-pass-A', sub: 'anna-sub-A' };
export const BRUNO = { username: 'bruno', password: 'bruno-pass-B', sub: 'bruno-sub-B' };

/** <Location path> with AuthType FedAuth, FedAuthProviders ids (none: all), Require valid-user. */
export function locationFor(path, ids = null, extra = '') {
  return `<Location ${path}>
    AuthType FedAuth
${ids ? `    FedAuthProviders ${ids.join(' ')}\n` : ''}${extra}    Require valid-user
</Location>
`;
}

const metaCache = new Map();
/** The discovery document of the IdP serving provider `id` of `site` (cached per issuer). */
export async function metaOf(site, id) {
  const idp = site.idpOf(id);
  assert.ok(idp, `no IdP for provider ${id}`);
  if (!metaCache.has(idp.issuer)) metaCache.set(idp.issuer, await discovery(idp.issuer));
  return metaCache.get(idp.issuer);
}

/**
 * `res` (one hop, not followed) sends the browser straight to the IdP of
 * provider `id`: 302 to its authorization endpoint with that provider's
 * client_id and redirect_uri <base>/signin-<id>. Returns the query.
 */
export async function assertToIdp(res, site, id, msg = '') {
  const meta = await metaOf(site, id);
  assert.equal(res.status, 302, `${msg}expected 302 to IdP of ${id}\n${dump(res)}`);
  const loc = new URL(res.location, res.url);
  assert.equal(`${loc.origin}${loc.pathname}`, meta.authorization_endpoint, `${msg}redirect to the IdP of ${id} (${meta.issuer})\n${dump(res)}`);
  const q = loc.searchParams;
  assert.equal(q.get('client_id'), site.clients[id].client_id, `${msg}client_id of ${id}\n${dump(res)}`);
  assert.equal(q.get('redirect_uri'), `${site.base}/signin-${id}`, `${msg}redirect_uri of ${id}`);
  return q;
}

/**
 * `res` (one hop) sends the browser to the chooser: 302 to
 * <base>/fedauth/login?return_to=<returnTo>, with idps listing exactly
 * `idps` (any order) or no idps when idps is null. Returns the URL.
 */
export function assertToChooser(res, site, returnTo, idps = null, msg = '') {
  assert.equal(res.status, 302, `${msg}expected 302 to the chooser\n${dump(res)}`);
  const loc = new URL(res.location, res.url);
  assert.equal(`${loc.origin}${loc.pathname}`, `${site.base}/fedauth/login`, `${msg}to /fedauth/login\n${dump(res)}`);
  assert.equal(loc.searchParams.get('return_to'), returnTo, `${msg}return_to\n${dump(res)}`);
  assert.equal(loc.searchParams.get('idp'), null, `${msg}no idp chosen yet`);
  if (idps === null) {
    assert.equal(loc.searchParams.get('idps'), null, `${msg}no idps parameter when the location does not restrict the providers\n${dump(res)}`);
  } else {
    const got = (loc.searchParams.get('idps') || '').split(',').filter(Boolean);
    assert.deepEqual([...got].sort(), [...idps].sort(), `${msg}idps=${idps.join(',')}\n${dump(res)}`);
  }
  return loc;
}
