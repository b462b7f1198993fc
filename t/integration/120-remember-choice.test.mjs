// SPDX-License-Identifier: Apache-2.0
// issue3.md, FedAuthRememberChoice On: /fedauth/login?idp=b&remember=1
// sets the signed cookie <cookie>_idp (HttpOnly, SameSite=Lax, Max-Age 90
// days); with it the chooser is skipped (also after logout) where b is
// offered; choose=1 shows the chooser again and deletes the cookie; a
// tampered cookie is ignored. The signed-out page links to choose=1.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, parseChooser, chooserSubmitUrl, isDeletion,
  locationFor, assertToIdp, assertToChooser, USERS_A, USERS_B, ANNA, BRUNO,
  REMEMBER_COOKIE, SESSION_COOKIE, signOut,
} from '../lib/index.mjs';

const NINETY_DAYS = 90 * 24 * 3600;
const PROT = '/protected/env.cgi';

describe('FedAuthRememberChoice On', () => {
  let site;
  let base;
  const prot = () => `${base}${PROT}`;

  before(async () => {
    site = await startSite({
      idps: [
        { name: 'A', users: USERS_A, providers: [{ id: 'a', displayName: 'Alpha' }, { id: 'c', displayName: 'Gamma' }] },
        { name: 'B', users: USERS_B, providers: [{ id: 'b', displayName: 'Beta' }] },
      ],
      serverConf: 'FedAuthRememberChoice On\n',
      locationsConf: [locationFor('/protected'), locationFor('/p/ac/', ['a', 'c']), locationFor('/p/ab/', ['a', 'b'])].join('\n'),
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('the chooser has the "Remember my choice on this device" checkbox (name remember, value 1)', async () => {
    const r = await new Browser().get(prot());
    assert.equal(r.status, 200, dump(r));
    const ch = parseChooser(r.body);
    assert.ok(ch, r.body);
    assert.ok(ch.remember, `checkbox in the chooser form:\n${ch.raw}`);
    assert.equal(ch.remember.value, '1');
    assert.match(ch.raw, /Remember my choice on this device/);
  });

  it('without remember=1 no remembered-choice cookie is set', async () => {
    const b = new Browser();
    const r = await b.getOnce(`${base}/fedauth/login?idp=b&return_to=${encodeURIComponent(PROT)}`);
    await assertToIdp(r, site, 'b');
    assert.deepEqual(r.setCookies.filter((c) => c.name === REMEMBER_COOKIE).map((c) => c.header), []);
    const done = await b.login(`${base}/fedauth/login?idp=b&return_to=${encodeURIComponent(PROT)}`, BRUNO.username, BRUNO.password);
    assert.equal(done.status, 200, dump(done));
    assert.equal(b.jar.get(REMEMBER_COOKIE), undefined, 'no cookie after the whole login either');
  });

  const b = new Browser();
  let cookieHeader;
  it('/fedauth/login?idp=b&remember=1 sets fedauth_session_idp: signed, HttpOnly, SameSite=Lax, Max-Age about 90 days', async () => {
    const start = `${base}/fedauth/login?idp=b&remember=1&return_to=${encodeURIComponent(PROT)}`;
    const r = await b.login(start, BRUNO.username, BRUNO.password);
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.url, prot());
    assert.equal(parseEnv(r.body).FEDAUTH_IDP, 'b');
    const set = r.setCookiesAll.filter((c) => c.name === REMEMBER_COOKIE && c.value && !isDeletion(c));
    assert.equal(set.length, 1, `one ${REMEMBER_COOKIE} cookie set:\n${dump(r)}`);
    const c = set[0];
    cookieHeader = c.header;
    assert.equal(c.attrs.httponly, true, `HttpOnly: ${c.header}`);
    assert.equal(String(c.attrs.samesite).toLowerCase(), 'lax', `SameSite=Lax: ${c.header}`);
    assert.equal(c.attrs.secure, undefined, `no Secure over http: ${c.header}`);
    const maxAge = Number(c.attrs['max-age']);
    assert.ok(Math.abs(maxAge - NINETY_DAYS) <= 24 * 3600, `Max-Age about 90 days (${NINETY_DAYS}): ${c.header}`);
    assert.notEqual(c.value, 'b', 'the value is signed, not the bare id');
    assert.ok(c.value.length >= 20, `a signature in the value: ${c.value}`);
    assert.ok(b.jar.get(REMEMBER_COOKIE, prot()), `the cookie is sent with requests for ${PROT} (Path): ${c.header}`);
  });

  it('after logout the protected page goes straight to IdP B (no chooser)', async () => {
    assert.ok(cookieHeader, 'remembered');
    const out = await signOut(b, `${base}/fedauth/logout?return_to=%2Fsomewhere.html`);
    assert.ok([302, 303].includes(out.status), dump(out));
    assert.equal(b.jar.get(SESSION_COOKIE), undefined, 'signed out');
    assert.ok(b.jar.get(REMEMBER_COOKIE), `logout keeps the remembered choice: ${out.setCookies.map((c) => c.header).join(' | ')}`);
    await assertToIdp(await b.getOnce(prot()), site, 'b', 'remembered b: ');
  });

  it('/fedauth/login without idp (no choose=1) follows the remembered choice too', async () => {
    await assertToIdp(await b.getOnce(`${base}/fedauth/login?return_to=${encodeURIComponent(PROT)}`), site, 'b');
  });

  it('a location offering a and b: remembered b still goes straight to IdP B', async () => {
    await assertToIdp(await b.getOnce(`${base}/p/ab/env.cgi`), site, 'b');
  });

  it('a location that does not offer b (a, c): the chooser for a, c', async () => {
    assertToChooser(await b.getOnce(`${base}/p/ac/env.cgi`), site, '/p/ac/env.cgi', ['a', 'c']);
  });

  it('the remembered cookie does not replace signing in: the landing works only after the IdP login', async () => {
    const r = await b.login(prot(), BRUNO.username, BRUNO.password);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'bruno');
    assert.ok(r.hops.some((h) => h.url.startsWith(`${base}/signin-b?`)), dump(r));
    await signOut(b, `${base}/fedauth/logout`);
  });

  it('/fedauth/login?choose=1 shows the chooser again and deletes the cookie', async () => {
    const r = await b.getOnce(`${base}/fedauth/login?choose=1&return_to=${encodeURIComponent(PROT)}`);
    assert.equal(r.status, 200, dump(r));
    const ch = parseChooser(r.body);
    assert.ok(ch, r.body);
    assert.deepEqual(ch.buttons.map((x) => x.idp).sort(), ['a', 'b', 'c']);
    const del = r.setCookies.filter((c) => c.name === REMEMBER_COOKIE);
    assert.ok(del.length >= 1 && del.every(isDeletion), `${REMEMBER_COOKIE} deleted: ${r.setCookies.map((c) => c.header).join(' | ')}`);
    assert.equal(b.jar.get(REMEMBER_COOKIE), undefined, 'gone from the jar');
    assertToChooser(await b.getOnce(prot()), site, PROT, null, 'after choose=1: ');
  });

  it('remembering a from the chooser (button + checkbox), then the protected page goes straight to IdP A', async () => {
    const c = new Browser();
    const page = await c.get(prot());
    const ch = parseChooser(page.body);
    assert.ok(ch && ch.remember, page.body);
    const r = await c.login(chooserSubmitUrl(ch, page.url, 'a', { remember: true }), ANNA.username, ANNA.password);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).FEDAUTH_IDP, 'a');
    assert.ok(c.jar.get(REMEMBER_COOKIE), 'remembered');
    await signOut(c, `${base}/fedauth/logout`);
    await assertToIdp(await c.getOnce(prot()), site, 'a');
  });

  it('a tampered cookie value is ignored: the chooser is shown', async () => {
    const c = new Browser();
    const r0 = await c.getOnce(`${base}/fedauth/login?idp=b&remember=1&return_to=%2F`);
    const set = r0.setCookies.find((x) => x.name === REMEMBER_COOKIE && !isDeletion(x));
    assert.ok(set, `remember cookie set at the start of the login: ${dump(r0)}`);
    const v = set.value;
    const variants = {
      'one character changed': `${v.slice(0, -1)}${v.slice(-1) === 'A' ? 'B' : 'A'}`,
      'first character changed': `${v[0] === 'A' ? 'B' : 'A'}${v.slice(1)}`,
      'the bare id': 'b',
      'the bare id of a': 'a',
      empty: '',
      'the value with b replaced by a': v.replace(/b/g, 'a'),
    };
    for (const [what, value] of Object.entries(variants)) {
      if (value === v) continue;
      const d = new Browser();
      d.jar.set(base, REMEMBER_COOKIE, value);
      const r = await d.getOnce(prot());
      assertToChooser(r, site, PROT, null, `${what} (${JSON.stringify(value)}): `);
      const l = await d.getOnce(`${base}/fedauth/login?return_to=${encodeURIComponent(PROT)}`);
      assert.equal(l.status, 200, `${what}: chooser at /fedauth/login\n${dump(l)}`);
      assert.ok(parseChooser(l.body), `${what}: ${l.body}`);
    }
    // control: the untouched value does skip the chooser
    const e = new Browser();
    e.jar.set(base, REMEMBER_COOKIE, v);
    await assertToIdp(await e.getOnce(prot()), site, 'b', 'untouched value: ');
  });

  it('the signed-out page links to /fedauth/login?choose=1 ("Sign in again")', async () => {
    const r = await new Browser().getOnce(`${base}/fedauth/logout`);
    assert.equal(r.status, 200, dump(r));
    const m = /<a\b[^>]*href="([^"]*)"[^>]*>\s*Sign in again\s*<\/a>/i.exec(r.body);
    assert.ok(m, `a "Sign in again" link:\n${r.body}`);
    const u = new URL(m[1].replace(/&amp;/g, '&'), r.url);
    assert.equal(u.pathname, '/fedauth/login');
    assert.equal(u.searchParams.get('choose'), '1');
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
