// SPDX-License-Identifier: Apache-2.0
// issue 22, RP-initiated logout done right: logging out never refreshes a
// token first (an access token due for a refresh used to be refreshed at
// the IdP by the logout request itself: new tokens minted for a session
// that ends the same moment), counted at the IdP; and the redirect to the
// IdP's end_session_endpoint carries a fresh random state (some IdPs,
// Glewlwyd among them, only send the browser back with one), which the
// IdP hands back on the way home.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  Browser, dump, signOut, sleep,
} from '../lib/index.mjs';
import { startHosts, logoutAtIdp } from '../lib/cluster.mjs';

const ACCESS_TTL = 10;
const BEFORE = 9; // due one second after the sign-in

const refreshGrants = (events) => events.filter((e) => e.event.startsWith('grant.') && e.grant_type === 'refresh_token');

describe('logout: no refresh first, a state to the IdP', () => {
  let c;
  let base;
  const prot = () => `${base}/protected/env.cgi`;

  before(async () => {
    c = await startHosts({
      hosts: 1,
      storeConf: 'FedAuthSessionStore shm',
      idpConfig: { accessTokenTTL: ACCESS_TTL, refreshTokens: {} },
      providers: [{ id: 'test', client: { grant_types: ['authorization_code', 'refresh_token'] } }],
      serverConf: `LogLevel warn fedauth:info\nFedAuthRefreshBeforeExpiry ${BEFORE}\nFedAuthLogoutAtIdP On`,
      postLogoutPaths: ['/', '/somewhere.html'],
    });
    base = c.base;
  });
  after(async () => {
    await c?.stop();
    c?.cleanup();
  });

  async function signedInAndDue(user, password) {
    const b = new Browser();
    const r = await b.login(prot(), user, password);
    assert.equal(r.status, 200, dump(r));
    await sleep(1500);
    await c.idp.clearEvents();
    await c.idp.admin('/_admin/hits/clear', { method: 'POST' });
    return b;
  }

  it('control: with the access token due, a request to a protected page refreshes it at the IdP (one refresh_token grant)', async () => {
    const b = await signedInAndDue('bob', 'bob-pass-2');
    const r = await b.getOnce(prot());
    assert.equal(r.status, 200, dump(r));
    const grants = refreshGrants(await c.idp.events());
    assert.equal(grants.length, 1, JSON.stringify(await c.idp.events()));
  });

  let state1;
  let first;
  it('with the access token due, the confirm page and the logout POST reach the IdP\'s token endpoint 0 times; 302 to end_session with a random state', async () => {
    const b = await signedInAndDue('alice', 'alice-pass-1');
    first = await signOut(b, `${base}/fedauth/logout`);
    assert.equal(first.status, 302, dump(first));
    assert.ok(first.confirm, 'through the confirm page');
    assert.deepEqual(refreshGrants(await c.idp.events()), [], JSON.stringify(await c.idp.events()));
    assert.equal((await c.idp.admin('/_admin/hits'))['/token'] || 0, 0);
    state1 = new URL(first.location).searchParams.get('state');
    assert.match(state1 || '', /^[A-Za-z0-9_-]{22,}$/, first.location);
    assert.equal((await b.getOnce(`${base}/fedauth/session`)).status, 401);
    first.browser = b;
  });

  it('the IdP sends the browser back with that state', async () => {
    assert.ok(first?.browser, 'logged out');
    const back = await logoutAtIdp(first.browser, first.location);
    assert.equal(back.status, 200, dump(back));
    const u = new URL(back.url);
    assert.equal(`${u.origin}${u.pathname}`, `${base}/`);
    assert.equal(u.searchParams.get('state'), state1);
  });

  it('another logout sends another state', async () => {
    const b = new Browser();
    const r = await b.login(prot(), 'bob', 'bob-pass-2');
    assert.equal(r.status, 200, dump(r));
    const out = await signOut(b, `${base}/fedauth/logout`);
    assert.equal(out.status, 302, dump(out));
    const state2 = new URL(out.location).searchParams.get('state');
    assert.match(state2 || '', /^[A-Za-z0-9_-]{22,}$/);
    assert.notEqual(state2, state1);
  });

  it('httpd stops cleanly; no crash lines', async () => {
    const info = await c.hosts[0].stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}`);
  });
});
