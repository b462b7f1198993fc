// SPDX-License-Identifier: Apache-2.0
// The "https, or http only to a loopback host" rule for IdP URLs, decided
// on libcurl's own parse (issue 20 item 6). A discovery document whose
// token_endpoint is http://127.0.0.1:1@127.0.0.2:<port>/token once passed
// the rule (the host was read up to the first ':', "127.0.0.1") while
// libcurl sent the code and the client's credentials to 127.0.0.2 (the
// user name "127.0.0.1", password "1"). A second listener on 127.0.0.2
// stands for the other host: it must see no connection at all when an
// endpoint hides it behind userinfo. Each case has its own provider, so
// the module's discovery cache is cold; the IdP serves the hostile
// document through /_admin/discovery. apache2 -t refuses an Issuer or
// MetadataURL with userinfo.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import {
  startSite, Browser, parseEnv, dump, perProviderLocations, writeHttpdConfig, configTest,
  requireModule, removeDir,
} from '../lib/index.mjs';
import { assertRefused } from '../lib/hostile.mjs';

const OTHER = '127.0.0.2';
const PROVIDERS = ['ok', 'tok', 'tokhttps', 'jwks', 'authz', 'ui', 'plain'];

describe('IdP URL rule as libcurl reads it', () => {
  let site;
  let base;
  let other;
  let otherPort;
  const seen = { connections: 0, requests: [] };
  const dirs = [];

  before(async () => {
    // the other host: counts every TCP connection and request, answers 500
    other = http.createServer((req, res) => {
      seen.requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
      req.resume();
      req.on('end', () => { res.writeHead(500, { 'content-type': 'text/plain' }); res.end('no'); });
    });
    other.on('connection', () => { seen.connections++; });
    await new Promise((r) => other.listen(0, OTHER, r));
    otherPort = other.address().port;
    site = await startSite({
      providers: PROVIDERS.map((id) => ({ id })),
      locationsConf: perProviderLocations(PROVIDERS),
    });
    base = site.base;
  });
  afterEach(async () => {
    await site.idp.discoveryOverride(null);
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    await new Promise((r) => (other ? other.close(r) : r()));
    dirs.forEach(removeDir);
  });

  const start = (id) => `${base}/p/${id}/env.cgi`;
  const login = (id, b = new Browser()) => b.login(start(id), 'alice', 'alice-pass-1');
  const hidden = (scheme, path) => `${scheme}://127.0.0.1:1@${OTHER}:${otherPort}${path}`;
  const nothingReachedOther = () => {
    assert.equal(seen.connections, 0, `the other host got ${seen.connections} connection(s): ${JSON.stringify(seen.requests)}`);
  };

  it('control: a sign-in works while the discovery document is the IdP\'s own', async () => {
    const r = await login('ok');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).FEDAUTH_IDP, 'ok');
  });

  it('token_endpoint http://127.0.0.1:1@127.0.0.2:<port>/token: 502 invalid_discovery, no redirect to the IdP, nothing reaches 127.0.0.2', async () => {
    await site.idp.discoveryOverride({ token_endpoint: hidden('http', '/token') });
    const b = new Browser();
    const r = await login('tok', b);
    nothingReachedOther();
    assertRefused(r, { status: 502, code: 'invalid_discovery', id: 'tok', browser: b, site });
    assert.equal(r.loginFormSeen, false, 'never sent to the IdP');
    assert.match(site.errorLog(), /sign-in through tok refused: invalid_discovery: .*no user name or password in the URL/);
  });

  it('token_endpoint https://127.0.0.1:1@127.0.0.2:<port>/token (https with userinfo): 502 invalid_discovery, nothing reaches 127.0.0.2', async () => {
    await site.idp.discoveryOverride({ token_endpoint: hidden('https', '/token') });
    const b = new Browser();
    const r = await login('tokhttps', b);
    nothingReachedOther();
    assertRefused(r, { status: 502, code: 'invalid_discovery', id: 'tokhttps', browser: b, site });
  });

  it('jwks_uri with userinfo: 502 invalid_discovery, nothing reaches 127.0.0.2', async () => {
    await site.idp.discoveryOverride({ jwks_uri: hidden('http', '/jwks') });
    const b = new Browser();
    const r = await login('jwks', b);
    nothingReachedOther();
    assertRefused(r, { status: 502, code: 'invalid_discovery', id: 'jwks', browser: b, site });
  });

  it('authorization_endpoint with userinfo: 502 invalid_discovery, the browser is not sent there', async () => {
    await site.idp.discoveryOverride({ authorization_endpoint: hidden('http', '/auth') });
    const r = await new Browser().getOnce(start('authz'));
    assert.equal(r.location, undefined, dump(r));
    nothingReachedOther();
    assertRefused(r, { status: 502, code: 'invalid_discovery', id: 'authz', site });
  });

  it('userinfo_endpoint with userinfo: left unused (as an http one is), the sign-in works, nothing reaches 127.0.0.2', async () => {
    await site.idp.discoveryOverride({ userinfo_endpoint: hidden('http', '/me') });
    const r = await login('ui');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).FEDAUTH_IDP, 'ui');
    nothingReachedOther();
  });

  it('control: token_endpoint http://127.0.0.2:<port>/token (loopback, no userinfo) is allowed, and the other listener does get the token request', async () => {
    await site.idp.discoveryOverride({ token_endpoint: `http://${OTHER}:${otherPort}/token` });
    seen.requests.length = 0;
    const b = new Browser();
    const r = await login('plain', b);
    assert.notEqual(r.status, 200, dump(r));
    assert.equal(seen.requests.length, 1, JSON.stringify(seen.requests));
    assert.equal(seen.requests[0].method, 'POST');
    assert.equal(seen.requests[0].url, '/token');
  });

  for (const [name, directive, line] of [
    ['Issuer http://127.0.0.1:1@127.0.0.2:9', 'Issuer', `Issuer http://127.0.0.1:1@${OTHER}:9`],
    ['MetadataURL http://localhost@127.0.0.2:9/...', 'MetadataURL', `MetadataURL http://localhost@${OTHER}:9/.well-known/openid-configuration`],
    ['Issuer https://user@idp.example.com', 'Issuer', 'Issuer https://user@idp.example.com'],
  ]) {
    it(`apache2 -t: ${name} is refused, naming the directive`, async () => {
      requireModule();
      const issuer = directive === 'MetadataURL' ? 'Issuer http://127.0.0.1:9\n    ' : '';
      const { dir, confFile } = await writeHttpdConfig({
        providersConf: `FedAuthSecret "a long enough test passphrase for config tests"
<FedAuthProvider t>
    ${issuer}${line}
    ClientID      client-test
    ClientSecret  secret-test
</FedAuthProvider>`,
        locationsConf: '<Location /protected>\n    AuthType FedAuth\n    Require valid-user\n</Location>',
      });
      dirs.push(dir);
      const res = await configTest(confFile);
      const out = `${res.stdout}${res.stderr}`;
      assert.notEqual(res.code, 0, out);
      assert.match(out, new RegExp(`${directive} must be an https URL`), out);
      assert.match(out, /must be an https URL \(http only to 127\.0\.0\.1, ::1 or localhost\), without a user name or password/, out);
    });
  }

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
