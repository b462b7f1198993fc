// SPDX-License-Identifier: Apache-2.0
// 2. ID tokens signed with each algorithm give a working login: one
// provider (and IdP client) per algorithm, all in one httpd, each offered
// by its own location through FedAuthProviders.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { startSite, perProviderLocations, Browser, parseEnv, dump } from '../lib/index.mjs';

const ALGS = ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256'];
const idOf = (alg) => `alg-${alg.toLowerCase()}`;

describe('ID token signing algorithms', () => {
  let site;

  before(async () => {
    const providers = ALGS.map((alg) => ({
      id: idOf(alg),
      alg,
      auth: 'client_secret_basic',
      // HS256 signs with the client secret: give it a long one
      secret: alg === 'HS256' ? crypto.randomBytes(32).toString('base64url') : undefined,
    }));
    site = await startSite({ providers, locationsConf: perProviderLocations(providers.map((p) => p.id)) });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  for (const alg of ALGS) {
    it(`${alg}: login works and the IdP issued a ${alg} ID token`, async () => {
      const id = idOf(alg);
      const client = site.clients[id];
      assert.equal(client.id_token_signed_response_alg, alg);
      const b = new Browser();
      const target = `${site.base}/p/${id}/env.cgi`;
      const first = await b.getOnce(target);
      assert.equal(first.status, 302, dump(first));
      assert.equal(new URL(first.location).searchParams.get('client_id'), client.client_id, 'the location offers only its provider');

      const r = await b.login(target, 'alice', 'alice-pass-1');
      assert.equal(r.status, 200, dump(r));
      assert.equal(r.url, target, dump(r));
      const env = parseEnv(r.body);
      assert.equal(env.REMOTE_USER, 'alice', r.body);
      assert.equal(env.FEDAUTH_IDP, id, r.body);
      assert.equal(env.FEDAUTH_SUB, 'alice-sub-0001', r.body);
      const ev = await site.idp.events();
      assert.ok(ev.some((e) => e.event === 'grant.success' && e.client_id === client.client_id), JSON.stringify(ev));
    });
  }

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
