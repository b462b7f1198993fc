// SPDX-License-Identifier: Apache-2.0
// issue5.md, FedAuthLogoutAtIdP On: /fedauth/logout ends the session here
// and sends the browser (302) to the IdP's end_session_endpoint with
// client_id, id_token_hint, a random state and post_logout_redirect_uri =
// the absolute URL of return_to (default "/", never another site); after
// the IdP's logout confirmation the browser is back on that page (with the
// state), signed out here and at the IdP. Host A has FedAuthLogoutAtIdP On, host B (same store and
// secret) the default Off as the control.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  Browser, parseEnv, dump, discovery, SESSION_COOKIE, isDeletion, signOut,
} from '../lib/index.mjs';
import { startHosts, logoutAtIdp } from '../lib/cluster.mjs';
import { sleep } from '../lib/procs.mjs';

const jwtPayload = (t) => JSON.parse(Buffer.from(String(t).split('.')[1] || '', 'base64url').toString('utf8'));

describe('FedAuthLogoutAtIdP On: logout at the IdP too', () => {
  let c;
  let A;
  let B;
  let meta;
  const prot = (base) => `${base}/protected/env.cgi`;

  before(async () => {
    c = await startHosts({
      hosts: 2,
      // shm store: the two hosts do not share sessions; each test signs in where it logs out
      storeConf: '',
      serverConf: ({ index }) => (index === 0 ? 'FedAuthLogoutAtIdP On' : ''),
      postLogoutPaths: ['/', '/somewhere.html'],
    });
    [A, B] = c.bases;
    meta = await discovery(c.idp.issuer);
  });
  after(async () => {
    await c?.stop();
    c?.cleanup();
  });

  const b = new Browser();
  let first;
  let cookie;

  it('signed in on A', async () => {
    const r = await b.login(prot(A), 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    cookie = b.jar.get(SESSION_COOKIE)?.value;
    assert.ok(cookie);
  });

  it('/fedauth/logout?return_to=/somewhere.html: 302 to end_session_endpoint with client_id, id_token_hint, post_logout_redirect_uri=<A>/somewhere.html; the cookie is cleared', async () => {
    assert.ok(cookie, 'signed in');
    first = await signOut(b, `${A}/fedauth/logout?return_to=${encodeURIComponent('/somewhere.html')}`);
    assert.equal(first.status, 302, dump(first));
    const to = new URL(first.location);
    assert.equal(`${to.origin}${to.pathname}`, meta.end_session_endpoint, first.location);
    const q = to.searchParams;
    assert.equal(q.get('client_id'), c.clients.test.client_id);
    assert.equal(q.get('post_logout_redirect_uri'), `${A}/somewhere.html`);
    const hint = q.get('id_token_hint');
    assert.ok(hint, 'id_token_hint');
    const p = jwtPayload(hint);
    assert.equal(p.iss, c.idp.issuer);
    assert.equal(p.aud, c.clients.test.client_id);
    assert.equal(p.sub, 'alice-sub-0001');
    const del = first.setCookies.filter((x) => x.name === SESSION_COOKIE);
    assert.equal(del.length, 1, first.setCookies.map((x) => x.header).join(' | '));
    assert.ok(isDeletion(del[0]), del[0].header);
  });

  it('the session is already gone on A before the IdP is visited (the old cookie is no session)', async () => {
    assert.ok(cookie, 'signed in');
    const old = new Browser();
    old.jar.set(A, SESSION_COOKIE, cookie);
    const s = await old.getOnce(`${A}/fedauth/session`);
    assert.equal(s.status, 401, dump(s));
  });

  it('following it: the IdP asks to confirm, then sends the browser back to <A>/somewhere.html (200)', async () => {
    assert.ok(first?.location, 'redirected to the IdP');
    await c.idp.clearEvents();
    const r = await logoutAtIdp(b, first.location);
    assert.ok(r.confirmPage, `the IdP's logout confirmation: ${dump(r)}`);
    assert.equal(r.status, 200, dump(r));
    // the IdP hands back the state the logout sent (833-logout-no-refresh-state)
    const state = new URL(first.location).searchParams.get('state');
    assert.ok(state, first.location);
    assert.equal(r.url, `${A}/somewhere.html?state=${state}`, dump(r));
    assert.match(r.body, /id="somewhere"/);
    const events = await c.idp.events();
    assert.ok(events.some((e) => e.event === 'end_session.success'), JSON.stringify(events));
    assert.ok(!events.some((e) => /error/.test(e.event)), `IdP errors: ${JSON.stringify(events)}`);
  });

  it('signed out here and at the IdP: the protected page sends the browser to sign in, and the IdP shows its login form again', async () => {
    const p = await b.getOnce(prot(A));
    assert.equal(p.status, 302, dump(p));
    assert.ok(p.location.startsWith(meta.authorization_endpoint), p.location);
    const s = await b.getOnce(`${A}/fedauth/session`);
    assert.equal(s.status, 401, dump(s));
    const again = await b.login(prot(A), 'alice', 'alice-pass-1');
    assert.equal(again.status, 200, dump(again));
    assert.equal(again.loginFormSeen, true, 'the IdP session ended: the login form is shown again');
  });

  it('/fedauth/logout without return_to: post_logout_redirect_uri=<A>/ and the browser lands there', async () => {
    const r = await signOut(b, `${A}/fedauth/logout`);
    assert.equal(r.status, 302, dump(r));
    assert.equal(new URL(r.location).searchParams.get('post_logout_redirect_uri'), `${A}/`);
    const back = await logoutAtIdp(b, r.location);
    assert.equal(back.status, 200, dump(back));
    assert.equal(back.url, `${A}/?state=${new URL(r.location).searchParams.get('state')}`, dump(back));
  });

  for (const evil of ['https://evil.example/x', '//evil.example/x', '/\\evil.example/x']) {
    it(`return_to=${JSON.stringify(evil)}: post_logout_redirect_uri stays on this site`, async () => {
      const x = new Browser();
      const l = await x.login(prot(A), 'bob', 'bob-pass-2');
      assert.equal(l.status, 200, dump(l));
      const r = await signOut(x, `${A}/fedauth/logout?return_to=${encodeURIComponent(evil)}`);
      assert.equal(r.status, 302, dump(r));
      const plr = new URL(r.location).searchParams.get('post_logout_redirect_uri');
      assert.ok(plr, r.location);
      assert.equal(new URL(plr).origin, A, `post_logout_redirect_uri ${plr}`);
    });
  }

  it('control, FedAuthLogoutAtIdP Off on B: logout?return_to=/somewhere.html goes straight there, not to the IdP', async () => {
    const x = new Browser();
    const l = await x.login(prot(B), 'alice', 'alice-pass-1');
    assert.equal(l.status, 200, dump(l));
    const r = await signOut(x, `${B}/fedauth/logout?return_to=${encodeURIComponent('/somewhere.html')}`);
    assert.equal(r.status, 302, dump(r));
    assert.equal(new URL(r.location, r.url).href, `${B}/somewhere.html`);
  });

  it('httpds stop cleanly; no crash lines in the error logs', async () => {
    for (const h of c.hosts) {
      const info = await h.stop();
      assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    }
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs()}`);
  });
});

// The request path reads a session record without its ID token (the
// record's head, issue 24); a request that writes the idle clock back
// reads the whole record first, so the ID token survives any number of
// write-backs and still goes to the IdP as the logout hint.
describe('FedAuthLogoutAtIdP On: the ID token survives the idle clock\'s write-backs', () => {
  let c;
  let A;
  const prot = (base) => `${base}/protected/env.cgi`;

  before(async () => {
    c = await startHosts({
      hosts: 1,
      storeConf: '',
      // a write-back of the idle clock every 2 s of use
      serverConf: () => 'FedAuthLogoutAtIdP On\nFedAuthSessionIdleTimeout 20',
      postLogoutPaths: ['/'],
    });
    [A] = c.bases;
  });
  after(async () => {
    await c?.stop();
    c?.cleanup();
  });

  it('signed in, two requests 2.2 s apart each write the idle clock back; logout still sends id_token_hint with the user\'s sub', async () => {
    const b = new Browser();
    const r = await b.login(prot(A), 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    for (let i = 0; i < 2; i++) {
      await sleep(2200);
      const again = await b.get(prot(A));
      assert.equal(again.status, 200, dump(again));
      assert.equal(parseEnv(again.body).REMOTE_USER, 'alice');
    }
    const out = await signOut(b, `${A}/fedauth/logout`);
    assert.equal(out.status, 302, dump(out));
    const hint = new URL(out.location).searchParams.get('id_token_hint');
    assert.ok(hint, `no id_token_hint: ${out.location}`);
    assert.equal(jwtPayload(hint).sub, 'alice-sub-0001');
  });

  it('httpd stops cleanly; no crash lines in the error log', async () => {
    const info = await c.hosts[0].stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}`);
  });
});
