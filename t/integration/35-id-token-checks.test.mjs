// SPDX-License-Identifier: Apache-2.0
// ID token and token endpoint checks through the real flow: the test IdP
// is switched into a misbehaving mode (t/idp/server.mjs TAMPER_MODES) and
// the login must fail with the stable code, 401 (or 502 for a broken IdP),
// no session, and a log line naming the code.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, dump, errorCodes, sessionCookiesSet, SESSION_COOKIE, parseEnv,
  perProviderLocations,
} from '../lib/index.mjs';

// [tamper mode, provider, expected status, expected code]
const CASES = [
  ['bad_signature', 'conf', 401, 'invalid_signature'], // ES256
  ['bad_signature', 'pub', 401, 'invalid_signature'], // RS256
  ['unknown_kid', 'conf', 401, 'unknown_key'],
  ['wrong_nonce', 'conf', 401, 'wrong_nonce'],
  ['missing_nonce', 'conf', 401, 'wrong_nonce'],
  ['wrong_aud', 'conf', 401, 'wrong_aud'],
  ['wrong_azp', 'conf', 401, 'wrong_azp'],
  ['wrong_iss', 'conf', 401, 'wrong_iss'],
  ['expired', 'conf', 401, 'token_expired'],
  ['iat_future', 'conf', 401, 'invalid_iat'],
  ['missing_sub', 'conf', 401, 'missing_sub'],
  ['alg_none', 'conf', 401, 'unsupported_alg'],
  // a public client has no secret: HS256 must never be checked with a
  // public key as the HMAC key
  ['hs256_confusion', 'pub', 401, 'unsupported_alg'],
  // a confidential client: the HMAC key is its secret, so the signature fails
  ['hs256_confusion', 'conf', 401, 'invalid_signature'],
  ['wrong_nonce', 'hs', 401, 'wrong_nonce'],
  ['no_id_token', 'conf', 502, 'idp_bad_response'],
  ['token_500', 'conf', 502, 'idp_bad_response'],
];

describe('ID token and token endpoint checks', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({
      providers: [
        { id: 'conf', auth: 'client_secret_basic', alg: 'ES256' },
        { id: 'pub', auth: 'none', alg: 'RS256' },
        { id: 'hs', auth: 'client_secret_post', alg: 'HS256', secret: 'a-long-client-secret-for-hs256-0123456789abcdef' },
        { id: 'disc' },
      ],
      locationsConf: perProviderLocations(['conf', 'pub', 'hs', 'disc']),
    });
    base = site.base;
  });
  after(async () => {
    await site?.idp?.tamper(null).catch(() => {});
    await site?.stop();
    site?.cleanup();
  });

  it('control: each provider logs in while the IdP behaves', async () => {
    for (const id of ['conf', 'pub', 'hs']) {
      const r = await new Browser().login(`${base}/p/${id}/env.cgi`, 'alice', 'alice-pass-1');
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).FEDAUTH_IDP, id);
    }
  });

  for (const [mode, id, status, code] of CASES) {
    it(`${mode} (${id}): ${status} ${code}, no session`, async () => {
      const b = new Browser();
      await site.idp.tamper(mode);
      let r;
      try {
        r = await b.login(`${base}/p/${id}/env.cgi`, 'alice', 'alice-pass-1');
      } finally {
        await site.idp.tamper(null);
      }
      assert.ok(r.hops.some((h) => h.url.startsWith(`${base}/signin-${id}?`)), dump(r));
      assert.equal(r.status, status, dump(r));
      assert.ok(errorCodes(r.body).includes(code), `<code>${code}</code> expected:\n${dump(r)}`);
      assert.deepEqual(sessionCookiesSet(r.setCookiesAll), [], 'no session cookie');
      assert.equal(b.jar.get(SESSION_COOKIE), undefined);
      assert.ok(site.errorLog().includes(code), `error log names ${code}`);
      // the browser is not signed in
      const again = await b.getOnce(`${base}/p/${id}/env.cgi`);
      assert.equal(again.status, 302, dump(again));
    });
  }

  it('ID token without iat (re-signed by the IdP): 401 invalid_iat, no session', async () => {
    const b = new Browser();
    await site.idp.tamperClaims({ iat: null });
    let r;
    try {
      r = await b.login(`${base}/p/pub/env.cgi`, 'alice', 'alice-pass-1');
    } finally {
      await site.idp.tamperClaims(null);
    }
    assert.equal(r.status, 401, dump(r));
    assert.ok(errorCodes(r.body).includes('invalid_iat'), dump(r));
    assert.deepEqual(sessionCookiesSet(r.setCookiesAll), [], 'no session cookie');
    assert.ok(site.errorLog().includes('invalid_iat'), 'error log names invalid_iat');
  });

  it('discovery document naming another issuer: 502 discovery_issuer_mismatch, no redirect to the IdP', async () => {
    await site.idp.tamper('discovery_issuer');
    let r;
    try {
      r = await new Browser().getOnce(`${base}/p/disc/env.cgi`);
    } finally {
      await site.idp.tamper(null);
    }
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
