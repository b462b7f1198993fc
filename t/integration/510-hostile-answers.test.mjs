// SPDX-License-Identifier: Apache-2.0
// Hostile IdP (issue 7), answers: documents too large to take and answers
// that are no answer. A huge ID token (claims over 64 KiB: refused by the
// JWS size limit; over 128 KiB: the token response is not even read to
// the end), a token endpoint answering junk of several kinds or hanging
// past FedAuthHTTPTimeout, a discovery document over 64 KiB or not JSON,
// a userinfo answer over 64 KiB. Each: what the user sees (status, code),
// no session cookie, and the error log line naming the failure. The test
// IdP answers through /_admin/keys and /_admin/override (t/lib/hostile.mjs);
// a case that needs the module's cold discovery cache has a provider of
// its own.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, perProviderLocations, loginUntilCallback, errorCodes,
} from '../lib/index.mjs';
import {
  idpKeys, idpOverride, idpBehave, idpDiscovery, assertRefused,
} from '../lib/hostile.mjs';

const TIMEOUT = 2; // FedAuthHTTPTimeout here

const PROVIDERS = ['big', 'bigger', 'junk', 'slow', 'disc', 'discjunk', 'ui'];

describe('hostile IdP: oversized and junk answers', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({
      httpTimeout: TIMEOUT,
      providers: PROVIDERS.map((id) => ({ id })),
      locationsConf: perProviderLocations(PROVIDERS),
    });
    base = site.base;
  });
  afterEach(async () => {
    await idpBehave(site.idp);
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const start = (id) => `${base}/p/${id}/env.cgi`;
  const login = (id, b = new Browser()) => b.login(start(id), 'alice', 'alice-pass-1');

  it('control: a login through each provider works while the IdP behaves (except the cold-cache ones)', async () => {
    for (const id of ['big', 'bigger', 'junk', 'slow', 'ui']) {
      const r = await login(id);
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).FEDAUTH_IDP, id);
    }
  });

  it('ID token with 70 KB of claims (token response under its limit): 401 invalid_token, no session', async () => {
    await idpKeys(site.idp, { padClaimBytes: 70000 });
    const b = new Browser();
    const r = await login('big', b);
    assert.ok(r.hops.some((h) => h.url.startsWith(`${base}/signin-big?`)), dump(r));
    assertRefused(r, { status: 401, code: 'invalid_token', id: 'big', browser: b, site });
    assert.match(site.errorLog(), /refused: invalid_token: token missing or over 65536 bytes/);
  });

  it('ID token with 110 KB of claims (token response over 128 KiB): 502 idp_bad_response, not read to the end', async () => {
    await idpKeys(site.idp, { padClaimBytes: 110000 });
    const b = new Browser();
    const r = await login('bigger', b);
    assertRefused(r, { status: 502, code: 'idp_bad_response', id: 'bigger', browser: b, site });
    assert.match(site.errorLog(), /refused: idp_bad_response: response from \S+\/token is too large/);
  });

  // [name, override of POST /token, expected status, code, log text]
  const JUNK = [
    ['HTML with 200', { contentType: 'text/html', body: '<html><body>Welcome!</body></html>' }, 502, 'idp_bad_response', 'answered 200 with no JSON object'],
    ['an empty 200', { body: '' }, 502, 'idp_bad_response', 'answered 200 with no JSON object'],
    ['a JSON array', { body: '[{"id_token":"a.b.c"}]' }, 502, 'idp_bad_response', 'answered 200 with no JSON object'],
    ['JSON with a numeric id_token', { body: '{"id_token":12345,"token_type":"Bearer"}' }, 502, 'idp_bad_response', 'response has no id_token'],
    ['truncated JSON', { body: '{"access_token":"x","id_token":"eyJ' }, 502, 'idp_bad_response', 'answered 200 with no JSON object'],
    ['an id_token that is no JWS', { body: '{"id_token":"not-a-jwt","access_token":"x"}' }, 401, 'invalid_token', 'token has 1 parts'],
    ['a redirect', { status: 302, contentType: 'text/plain', body: 'moved' }, 502, 'idp_bad_response', 'answered 302'],
    ['a 503 JSON error without "error"', { status: 503, body: '{"message":"down"}' }, 502, 'idp_bad_response', 'answered 503 with JSON'],
    ['a 400 with an HTML error_description', {
      status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: '<script>alert(1)</script>\r\nX-Injected: 1' }),
    }, 401, 'token_error', 'error=invalid_grant'],
  ];
  for (const [name, spec, status, code, logText] of JUNK) {
    it(`token endpoint answering ${name}: ${status} ${code}`, async () => {
      const b = new Browser();
      const cb = await loginUntilCallback(b, start('junk'), base, 'junk');
      await idpOverride(site.idp, '/token', { method: 'POST', ...spec });
      const r = await b.get(cb);
      assertRefused(r, { status, code, id: 'junk', browser: b, site });
      const line = site.errorLog().split('\n').filter((l) => l.includes('sign-in through junk refused')).pop();
      assert.ok(line && line.includes(logText), `log line names the failure (${logText}):\n${line}`);
      assert.doesNotMatch(r.body, /<script>/, 'nothing from the IdP unescaped in the page');
      assert.doesNotMatch(site.errorLog(), /^X-Injected/m, 'what the IdP says stays on one log line');
    });
  }

  it(`token endpoint that answers only after 10 s: 502 idp_unreachable within ${TIMEOUT}+1 s`, async () => {
    const b = new Browser();
    const cb = await loginUntilCallback(b, start('slow'), base, 'slow');
    await idpOverride(site.idp, '/token', { method: 'POST', delayMs: 10000, body: '{}' });
    const t = Date.now();
    const r = await b.get(cb);
    const ms = Date.now() - t;
    assertRefused(r, { status: 502, code: 'idp_unreachable', id: 'slow', browser: b, site });
    assert.ok(ms < (TIMEOUT + 1) * 1000, `answered after ${ms} ms`);
    assert.match(site.errorLog(), /refused: idp_unreachable: \S+\/token: Timeout/i);
  });

  it('discovery document over 64 KiB: 502 idp_bad_response, no redirect; served normally again: to the IdP', async () => {
    const doc = await idpDiscovery(site.idp);
    const body = JSON.stringify({ ...doc, x_padding: 'x'.repeat(70 * 1024) });
    await idpOverride(site.idp, '/.well-known/openid-configuration', { body });
    const r = await new Browser().getOnce(start('disc'));
    assert.equal(r.location, undefined, dump(r));
    assertRefused(r, { status: 502, code: 'idp_bad_response', id: 'disc', site });
    assert.match(site.errorLog(), /refused: idp_bad_response: response from \S+\/\.well-known\/openid-configuration is too large/);
    await idpOverride(site.idp, '/.well-known/openid-configuration', null);
    const again = await new Browser().getOnce(start('disc'));
    assert.equal(again.status, 302, dump(again));
    assert.ok(again.location.startsWith(doc.authorization_endpoint), again.location);
  });

  it('discovery document that is not JSON: 502 invalid_discovery', async () => {
    await idpOverride(site.idp, '/.well-known/openid-configuration', { contentType: 'text/html', body: '<!DOCTYPE html><p>Sign in</p>' });
    const r = await new Browser().getOnce(start('discjunk'));
    assertRefused(r, { status: 502, code: 'invalid_discovery', id: 'discjunk', site });
    assert.equal(r.location, undefined);
  });

  it('userinfo answer over 64 KiB: 502 idp_bad_response, no session', async () => {
    const body = JSON.stringify({ sub: 'alice-sub-0001', name: 'Alice', x_padding: 'y'.repeat(70 * 1024) });
    await idpOverride(site.idp, '/me', { method: 'GET', body });
    const b = new Browser();
    const r = await login('ui', b);
    assertRefused(r, { status: 502, code: 'idp_bad_response', id: 'ui', browser: b, site });
    assert.match(site.errorLog(), /refused: idp_bad_response: response from \S+\/me is too large/);
  });

  it('every error page names its code and nothing else leaks', async () => {
    // one of the refusals above, looked at once more: the IdP's words are not in the page
    const b = new Browser();
    const cb = await loginUntilCallback(b, start('junk'), base, 'junk');
    await idpOverride(site.idp, '/token', { method: 'POST', contentType: 'text/html', body: '<h1>secret-ish IdP page</h1>' });
    const r = await b.get(cb);
    assert.deepEqual(errorCodes(r.body), ['idp_bad_response'], r.body);
    assert.doesNotMatch(r.body, /secret-ish/);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
