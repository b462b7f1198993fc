// SPDX-License-Identifier: Apache-2.0
// The test IdP's additions for the claims tests, checked without httpd by
// the node relying party (t/lib/rp.mjs): custom claims (nested objects,
// arrays, numbers, booleans, CR/LF, 10 KiB) are released with the profile
// scope; a user's `userinfoOnly` claims come from the userinfo endpoint
// only; the userinfo tamper modes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { startIdp, clientFor, Browser, freePort } from '../lib/index.mjs';
import { discover, pkcePair, authorizationUrl, exchangeCode, verifyIdToken } from '../lib/rp.mjs';

const BIG = '0123456789abcdef'.repeat(640); // 10 KiB

const USERS = [{
  username: 'uma',
  password: 'uma-pass',
  claims: {
    sub: 'uma-sub',
    preferred_username: 'uma',
    name: 'Uma from the ID token',
    department: 'Research',
    projects: ['apollo', 'gemini'],
    level: 42,
    contractor: false,
    org: { unit: 'R&D', floor: 3 },
    crlf: 'line1\r\nX-Injected: evil',
    big: BIG,
  },
  userinfoOnly: {
    name: 'Uma from userinfo',
    family_name: 'Userinfo',
    groups: ['ui-admins'],
    cost_center: 'CC-7',
  },
}];

describe('test IdP: custom claims, userinfoOnly, userinfo tamper modes (no httpd)', () => {
  let idp;
  let meta;
  let client;

  before(async () => {
    const rpBase = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    client = clientFor({ id: 'selftest', httpdBase: rpBase });
    idp = await startIdp({ clients: [client], users: USERS });
    meta = await discover(idp.issuer);
  });
  after(async () => {
    await idp?.stop();
    idp?.cleanup();
  });

  async function flow() {
    const redirectUri = client.redirect_uris[0];
    const { verifier, challenge } = pkcePair();
    const state = crypto.randomBytes(16).toString('base64url');
    const nonce = crypto.randomBytes(16).toString('base64url');
    const url = authorizationUrl(meta, { client, redirectUri, state, nonce, challenge });
    const res = await new Browser().login(url, 'uma', 'uma-pass', { stopAt: (u) => u.startsWith(redirectUri) });
    assert.ok(res.stoppedAt, 'reached the redirect URI');
    const code = new URL(res.stoppedAt).searchParams.get('code');
    const tok = await exchangeCode(meta, { client, code, redirectUri, verifier });
    assert.equal(tok.status, 200, JSON.stringify(tok.json));
    const { payload } = await verifyIdToken(meta, tok.json.id_token);
    return { payload, accessToken: tok.json.access_token };
  }
  const userinfo = (accessToken) => fetch(meta.userinfo_endpoint, {
    headers: { Authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(5000),
  });

  it('discovery lists the userinfo endpoint at /me', () => {
    assert.equal(meta.userinfo_endpoint, `${idp.issuer}/me`);
  });

  it('the ID token holds the custom claims as given, and none of userinfoOnly', async () => {
    const { payload } = await flow();
    assert.equal(payload.department, 'Research');
    assert.deepEqual(payload.projects, ['apollo', 'gemini']);
    assert.equal(payload.level, 42);
    assert.equal(payload.contractor, false);
    assert.deepEqual(payload.org, { unit: 'R&D', floor: 3 });
    assert.equal(payload.crlf, 'line1\r\nX-Injected: evil');
    assert.equal(payload.big, BIG);
    assert.equal(payload.name, 'Uma from the ID token');
    assert.equal(payload.family_name, undefined);
    assert.equal(payload.groups, undefined);
    assert.equal(payload.cost_center, undefined);
  });

  it('userinfo holds the claims and userinfoOnly merged over them', async () => {
    const { accessToken } = await flow();
    const r = await userinfo(accessToken);
    assert.equal(r.status, 200);
    const j = await r.json();
    assert.equal(j.sub, 'uma-sub');
    assert.equal(j.name, 'Uma from userinfo');
    assert.equal(j.family_name, 'Userinfo');
    assert.deepEqual(j.groups, ['ui-admins']);
    assert.equal(j.cost_center, 'CC-7');
    assert.equal(j.department, 'Research');
  });

  it('tamper userinfo_sub / userinfo_500 / userinfo_bad_json alter only userinfo', async () => {
    const { accessToken } = await flow();
    try {
      await idp.tamper('userinfo_sub');
      let r = await userinfo(accessToken);
      assert.equal(r.status, 200);
      assert.equal((await r.json()).sub, 'uma-sub-someone-else');
      // the token endpoint still behaves
      const again = await flow();
      assert.equal(again.payload.sub, 'uma-sub');

      await idp.tamper('userinfo_500');
      r = await userinfo(accessToken);
      assert.equal(r.status, 500);
      await r.text();

      await idp.tamper('userinfo_bad_json');
      r = await userinfo(accessToken);
      assert.equal(r.status, 200);
      assert.throws(() => JSON.parse('{"sub": "tampered", oops'));
      await assert.rejects(r.json());
    } finally {
      await idp.tamper(null);
    }
    const r = await userinfo(accessToken);
    assert.equal((await r.json()).sub, 'uma-sub');
  });
});
