// SPDX-License-Identifier: Apache-2.0
// issue3.md, ValidIssuer and {tenantid}: another accepted iss; in Issuer
// and ValidIssuer, {tenantid} stands for the token's own tid claim (1-64 of
// [A-Za-z0-9-]). The test IdP re-signs its ID tokens with claim overrides
// ("claims" tamper mode, its own key), so only iss / tid are unusual.
// A second IdP plays Entra ID's /common endpoint: its discovery document
// names the issuer "<issuer>/{tenantid}/v2.0" and its authorization
// responses carry no iss parameter; the provider's Issuer is that template
// (with MetadataURL).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, errorCodes, sessionCookiesSet, locationFor,
  USERS_A, USERS_B, ANNA, BRUNO, SESSION_COOKIE,
} from '../lib/index.mjs';

const TPL = '{issuer}/tenants/{tenantid}/v2.0';
const tenantIss = (tid) => `{issuer}/tenants/${tid}/v2.0`;
// issue3.md names the code only for "tid T2, iss for T1" (wrong_iss); for a
// missing or malformed tid it says "refused": wrong_iss (what the module
// answers today) or a tid-specific code
const UNNAMED = ['wrong_iss', 'missing_tid', 'invalid_tid'];

describe('ValidIssuer with {tenantid}', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({
      idps: [
        {
          name: 'A',
          users: USERS_A,
          providers: [
            { id: 'mt', extra: ({ issuer }) => `ValidIssuer ${TPL.replace('{issuer}', issuer)}\nValidIssuer ${issuer}/alt\n` },
            { id: 'plain' },
            // Issuer with {tenantid}, but this IdP's discovery names its plain issuer
            {
              id: 'tplmismatch',
              issuer: ({ idp }) => `${idp.issuer}/{tenantid}/v2.0`,
              extra: ({ idp }) => `MetadataURL ${idp.issuer}/.well-known/openid-configuration\n`,
            },
          ],
        },
        {
          name: 'E',
          users: USERS_B,
          setup: (idp) => idp.discoveryOverride({ issuer: `${idp.issuer}/{tenantid}/v2.0` }, { stripIssParam: true }),
          providers: [{
            id: 'common',
            issuer: ({ idp }) => `${idp.issuer}/{tenantid}/v2.0`,
            extra: ({ idp }) => `MetadataURL ${idp.issuer}/.well-known/openid-configuration\n`,
          }],
        },
      ],
      locationsConf: ['mt', 'plain', 'common', 'tplmismatch'].map((id) => locationFor(`/p/${id}/`, [id])).join('\n'),
    });
    base = site.base;
  });
  after(async () => {
    for (const idp of Object.values(site?.idps || {})) await idp?.tamperClaims(null).catch(() => {});
    await site?.stop();
    site?.cleanup();
  });

  /** Sign in at provider id while its IdP puts `claims` into the ID token. */
  async function loginWith(id, claims, user = ANNA) {
    const idp = site.idpOf(id);
    const b = new Browser();
    if (claims) await idp.tamperClaims(claims);
    let r;
    try {
      r = await b.login(`${base}/p/${id}/env.cgi`, user.username, user.password);
    } finally {
      if (claims) await idp.tamperClaims(null);
    }
    assert.ok(r.hops.some((h) => h.url.startsWith(`${base}/signin-${id}?`)), `reached the callback:\n${dump(r)}`);
    return { r, b };
  }

  function assertAccepted({ r }, id, user) {
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.url, `${base}/p/${id}/env.cgi`, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.FEDAUTH_IDP, id, r.body);
    assert.equal(env.REMOTE_USER, user.username, r.body);
  }

  function assertRefused({ r, b }, codes = ['wrong_iss']) {
    assert.equal(r.status, 401, dump(r));
    const got = errorCodes(r.body);
    assert.ok(codes.some((c) => got.includes(c)), `<code>${codes.join('|')}</code> expected, got ${JSON.stringify(got)}:\n${dump(r)}`);
    assert.deepEqual(sessionCookiesSet(r.setCookiesAll), [], 'no session cookie');
    assert.equal(b.jar.get(SESSION_COOKIE), undefined);
  }

  it('control: a token whose iss is the Issuer itself is accepted (no tid needed)', async () => {
    assertAccepted(await loginWith('mt', null), 'mt', ANNA);
  });

  for (const tid of ['T1', 'aBc-123-DEF', '72f988bf-86f1-41af-91ab-2d7cd011db47', '9', 'x'.repeat(64)]) {
    it(`iss = the template filled with the token's own tid ${tid.length > 20 ? `(${tid.length} chars)` : tid}: accepted`, async () => {
      assertAccepted(await loginWith('mt', { tid, iss: tenantIss(tid) }), 'mt', ANNA);
    });
  }

  it('a second, plain ValidIssuer: a token with that iss (no tid) is accepted', async () => {
    assertAccepted(await loginWith('mt', { iss: '{issuer}/alt', tid: null }), 'mt', ANNA);
  });

  it('tid T2 but iss for T1: 401 wrong_iss, no session', async () => {
    assertRefused(await loginWith('mt', { tid: 'T2', iss: tenantIss('T1') }));
  });

  it('no tid, iss for T1: refused (401), no session', async () => {
    assertRefused(await loginWith('mt', { tid: null, iss: tenantIss('T1') }), UNNAMED);
  });

  for (const [what, tid] of [
    ['65 characters', 'y'.repeat(65)],
    ['a dot', 'T1.evil'],
    ['a slash', 'T1/x'],
    ['a space', 'T1 x'],
    ['an underscore', 'T1_x'],
    ['empty', ''],
    ['non-ASCII', 'T\u00e9'],
  ]) {
    it(`a tid with ${what}, iss filled with it: refused (401)`, async () => {
      assertRefused(await loginWith('mt', { tid, iss: tenantIss(tid) }), UNNAMED);
    });
  }

  it('a tid that is not a string (a number), iss filled with it: refused (401)', async () => {
    assertRefused(await loginWith('mt', { tid: 12345, iss: tenantIss('12345') }), UNNAMED);
  });

  it('iss = the template text itself ({tenantid} not filled): refused, also with tid "{tenantid}"', async () => {
    assertRefused(await loginWith('mt', { tid: 'T1', iss: TPL }));
    assertRefused(await loginWith('mt', { tid: '{tenantid}', iss: TPL }), UNNAMED);
  });

  it('iss for T1 with a suffix or prefix: 401 wrong_iss', async () => {
    assertRefused(await loginWith('mt', { tid: 'T1', iss: `${tenantIss('T1')}/` }));
    assertRefused(await loginWith('mt', { tid: 'T1', iss: `x${tenantIss('T1')}` }));
  });

  it('ValidIssuer is per provider: the same tenant token at a provider without it is 401 wrong_iss', async () => {
    assertRefused(await loginWith('plain', { tid: 'T1', iss: tenantIss('T1') }));
  });

  it('Issuer with {tenantid} (Entra-style /common): the discovery issuer is the template text', async () => {
    const m = await (await fetch(`${site.idps.E.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(m.issuer, `${site.idps.E.issuer}/{tenantid}/v2.0`);
  });

  it('Issuer with {tenantid}: a token with iss for its own tid T9 is accepted', async () => {
    assertAccepted(await loginWith('common', { tid: 'T9', iss: '{issuer}/T9/v2.0' }, BRUNO), 'common', BRUNO);
  });

  it('Issuer with {tenantid}: tid T8, iss for T9: 401 wrong_iss', async () => {
    assertRefused(await loginWith('common', { tid: 'T8', iss: '{issuer}/T9/v2.0' }, BRUNO));
  });

  it('Issuer with {tenantid}: the IdP\'s plain issuer (no tenant) is not accepted: 401 wrong_iss', async () => {
    assertRefused(await loginWith('common', { tid: 'T9' }, BRUNO));
  });

  it('Issuer with {tenantid} whose discovery document names another issuer: 502 discovery_issuer_mismatch, no redirect', async () => {
    const r = await new Browser().getOnce(`${base}/p/tplmismatch/env.cgi`);
    assert.equal(r.status, 502, dump(r));
    assert.ok(errorCodes(r.body).includes('discovery_issuer_mismatch'), dump(r));
    assert.equal(r.location, undefined);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
