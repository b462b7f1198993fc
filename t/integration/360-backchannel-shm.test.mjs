// SPDX-License-Identifier: Apache-2.0
// issue5.md: "The shm store supports this too (one host)": back-channel
// logout with the embedded store. The IdP's logout token (with sid) ends
// that browser's session only; an IdP-signed token with sub only ends
// every session of that user; a garbage or nonce-carrying token and a
// replay get 400.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Browser, parseEnv, dump, discovery } from '../lib/index.mjs';
import {
  startHosts, logoutAtIdp, endSessionUrl, logoutClaims, signAtIdp, postLogoutToken,
} from '../lib/cluster.mjs';

describe('back-channel logout with the shm store (one host)', () => {
  let c;
  let base;
  let meta;
  let clientId;
  const b1 = new Browser();
  const b2 = new Browser();
  const b3 = new Browser();
  const prot = () => `${base}/protected/env.cgi`;
  const status = async (b) => (await b.getOnce(prot())).status;

  before(async () => {
    c = await startHosts({
      hosts: 1,
      storeConf: 'FedAuthSessionStore shm',
      providers: [{ id: 'test', client: { backchannel_logout_session_required: true } }],
    });
    base = c.base;
    meta = await discovery(c.idp.issuer);
    clientId = c.clients.test.client_id;
  });
  after(async () => {
    await c?.stop();
    c?.cleanup();
  });

  it('alice signs in in two browsers, bob in a third', async () => {
    for (const [b, u, p, user] of [[b1, 'alice', 'alice-pass-1', 'alice'], [b2, 'alice', 'alice-pass-1', 'alice'], [b3, 'bob', 'bob-pass-2', 'bob@example.org']]) {
      const r = await b.login(prot(), u, p);
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, user);
    }
  });

  it('garbage and an IdP-signed token with a nonce: 400, nothing ends', async () => {
    const nonce = await signAtIdp(c.idp, clientId, logoutClaims(c.idp, clientId, { sub: 'alice-sub-0001', nonce: 'abc' }));
    for (const t of ['garbage', nonce]) {
      const r = await postLogoutToken(base, 'test', t);
      assert.equal(r.status, 400, r.body);
      assert.equal(r.json?.error, 'invalid_request', r.body);
    }
    for (const b of [b1, b2, b3]) assert.equal(await status(b), 200);
  });

  it('alice ends her IdP session in browser 1: the IdP\'s logout token (sid) ends that session only', async () => {
    await c.idp.clearEvents();
    const r = await logoutAtIdp(b1, endSessionUrl(meta, { client_id: clientId }));
    assert.equal(r.status, 200, dump(r));
    const events = await c.idp.events();
    assert.deepEqual(events.filter((e) => e.event.startsWith('backchannel.')).map((e) => e.event), ['backchannel.success'], JSON.stringify(events));
    const p = await b1.getOnce(prot());
    assert.equal(p.status, 302, dump(p));
    assert.ok(p.location.startsWith(meta.authorization_endpoint), p.location);
    assert.equal(await status(b2), 200, 'alice in browser 2 (another sid) stays');
    assert.equal(await status(b3), 200, 'bob stays');
  });

  let token;
  it('an IdP-signed token with sub only: 200, every session of alice ends, bob stays', async () => {
    token = await signAtIdp(c.idp, clientId, logoutClaims(c.idp, clientId, { sub: 'alice-sub-0001' }));
    const r = await postLogoutToken(base, 'test', token);
    assert.equal(r.status, 200, r.body);
    assert.equal(await status(b2), 302);
    assert.equal((await b2.getOnce(`${base}/fedauth/session`)).status, 401);
    assert.equal(await status(b3), 200);
  });

  it('the same token again: 400', async () => {
    assert.ok(token);
    const r = await postLogoutToken(base, 'test', token);
    assert.equal(r.status, 400, r.body);
    assert.equal(await status(b3), 200);
  });

  it('httpd stops cleanly; no crash lines in the error log', async () => {
    const info = await c.hosts[0].stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs()}`);
  });
});
