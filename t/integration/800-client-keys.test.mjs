// SPDX-License-Identifier: Apache-2.0
// Client authentication with keys (RFC 7523, OpenID Connect Core 9):
// TokenEndpointAuth private_key_jwt with ClientKeyFile (RS256, PS256,
// ES256, ES384) and client_secret_jwt (HS256), each against oidc-provider
// with the client registered for that method; the assertions the IdP
// accepted are inspected there (t/idp/clientauth.mjs). A refresh
// authenticates the same way. A key the IdP does not know gives the error
// page with token_error and a log line naming the method and kid.
// /fedauth/jwks publishes the public keys (rollover: two keys, the first
// signs) and serves as the client's jwks_uri; ClientCertFile adds x5t and
// x5t#S256. apache2 -t refuses key files others may read, wrong curves,
// weak keys, unfit algs, a certificate of another key.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

import {
  startSite, Browser, dump, parseEnv, errorCodes, sleep, writeHttpdConfig, configTest,
  requireModule, removeDir, perProviderLocations,
} from '../lib/index.mjs';

const ACCESS_TTL = 15;
const BEFORE = 14; // an access token is due for refresh one second after it is issued
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-keys-'));
fs.chmodSync(keyDir, 0o700);
after(() => fs.rmSync(keyDir, { recursive: true, force: true }));

/** RFC 7638 thumbprint of a public JWK. */
function thumbprint(jwk) {
  const m = jwk.kty === 'RSA'
    ? { e: jwk.e, kty: 'RSA', n: jwk.n }
    : { crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y };
  return crypto.createHash('sha256').update(JSON.stringify(m)).digest('base64url');
}

/**
 * A key pair with its private key in a PEM file (mode 0600 unless given):
 * { file, jwk (public), kid, pem }. format: pkcs8 (default), pkcs1 (RSA),
 * sec1 (EC).
 */
function makeKey(name, type, opts, { format = 'pkcs8', mode = 0o600 } = {}) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync(type, opts);
  const file = path.join(keyDir, `${name}.pem`);
  const pem = privateKey.export({ type: format, format: 'pem' });
  fs.writeFileSync(file, pem, { mode });
  fs.chmodSync(file, mode);
  const jwk = publicKey.export({ format: 'jwk' });
  return { file, jwk, kid: thumbprint(jwk), pem };
}

/** A self-signed certificate for key (openssl CLI), valid for days: { file, der }. */
function makeCert(name, key, days = 2) {
  const file = path.join(keyDir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-new', '-key', key.file, '-subj', `/CN=${name}`,
    '-days', String(days), '-out', file], { stdio: 'ignore', timeout: 15000 });
  return { file, der: new crypto.X509Certificate(fs.readFileSync(file)).raw };
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const digest = (alg, buf) => crypto.createHash(alg).update(buf).digest('base64url');
const assertions = (events, clientId) => events.filter((e) => e.event === 'client_assertion' && e.client_id === clientId);

/** What every assertion must say, whatever the method. */
function checkAssertion(a, { clientId, tokenEndpoint, alg, kid }) {
  assert.equal(a.header.alg, alg, JSON.stringify(a));
  assert.equal(a.header.typ, 'JWT');
  if (kid) assert.equal(a.header.kid, kid, 'kid is the RFC 7638 thumbprint');
  else assert.equal(a.header.kid, undefined, 'no kid for client_secret_jwt');
  assert.equal(a.claims.iss, clientId);
  assert.equal(a.claims.sub, clientId);
  assert.equal(a.claims.aud, tokenEndpoint, 'aud is the token endpoint');
  assert.match(a.claims.jti, /^[A-Za-z0-9_-]{22,}$/, 'jti of 128 bits or more');
  assert.equal(a.claims.exp - a.claims.iat, 60, 'exp = iat + 60');
  assert.ok(Math.abs(a.claims.iat - a.at / 1000) < 5, 'iat is now');
}

describe('private_key_jwt and client_secret_jwt against oidc-provider (keys given inline)', () => {
  const keys = {
    rs256: makeKey('rs256', 'rsa', { modulusLength: 2048 }, { format: 'pkcs1' }),
    ps256: makeKey('ps256', 'rsa', { modulusLength: 3072 }),
    es256: makeKey('es256', 'ec', { namedCurve: 'P-256' }, { format: 'sec1' }),
    es384: makeKey('es384', 'ec', { namedCurve: 'P-384' }),
    wrong: makeKey('wrong', 'rsa', { modulusLength: 2048 }),
    aud: makeKey('aud', 'ec', { namedCurve: 'P-256' }),
  };
  const other = makeKey('other', 'rsa', { modulusLength: 2048 });
  const hsSecret = crypto.randomBytes(32).toString('hex');
  const CASES = [
    // [provider id, alg, key, extra ClientKeyFile argument]
    ['rs256', 'RS256', keys.rs256, ''],
    ['ps256', 'PS256', keys.ps256, ' PS256'],
    ['es256', 'ES256', keys.es256, ''],
    ['es384', 'ES384', keys.es384, ''],
  ];
  let site;
  let base;
  let tokenEndpoint;
  const b = {};

  before(async () => {
    // registered: the key the IdP knows; signing: the one httpd has
    const pkj = ([id, alg, signing, algArg], registered = signing) => ({
      id,
      auth: 'private_key_jwt',
      clientExtra: {
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_signing_alg: alg,
        jwks: { keys: [{ ...registered.jwk, kid: registered.kid }] },
      },
      extra: `ClientKeyFile "${signing.file}"${algArg}`,
    });
    site = await startSite({
      idps: [{
        name: 'default',
        idpConfig: { accessTokenTTL: ACCESS_TTL, refreshTokens: {} },
        providers: [
          ...CASES.map((c) => pkj(c)),
          {
            id: 'hs256',
            auth: 'client_secret_jwt',
            secret: hsSecret,
            clientExtra: { grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_signing_alg: 'HS256' },
          },
          // the IdP knows another key than the one httpd signs with
          pkj(['wrong', 'RS256', keys.wrong, ''], other),
          // aud: the issuer (FAPI 2.0) instead of the token endpoint
          { ...pkj(['aud', 'ES256', keys.aud, '']), extra: `ClientKeyFile "${keys.aud.file}"\nClientAssertionAudience issuer` },
        ],
      }],
      serverConf: `FedAuthRefreshBeforeExpiry ${BEFORE}\nFedAuthRefreshFailure end`,
      locationsConf: perProviderLocations(['rs256', 'ps256', 'es256', 'es384', 'hs256', 'wrong', 'aud'])
        + `<Location /p/rstok/>
    AuthType FedAuth
    FedAuthProviders rs256
    FedAuthPassAccessToken On
    Require valid-user
</Location>
`,
    });
    base = site.base;
    tokenEndpoint = (await (await fetch(`${site.idp.issuer}/.well-known/openid-configuration`)).json()).token_endpoint;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  for (const [id, alg] of [...CASES.map((c) => [c[0], c[1]]), ['hs256', 'HS256']]) {
    it(`${id}: the sign-in succeeds; the IdP accepted one ${alg} assertion with iss = sub = client id, aud = token endpoint, jti, exp = iat + 60, kid`, async () => {
      b[id] = new Browser();
      const r = await b[id].login(`${base}/p/${id}/env.cgi`, 'alice', 'alice-pass-1');
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
      const ev = await site.idp.events();
      // the code exchange's; a refresh may follow (an access token is due
      // one second after it was issued, to the second: a sign-in at
      // .97 s whose page comes at .02 s the next second refreshes it),
      // and it carries an assertion of its own, checked the same way
      const all = assertions(ev, `client-${id}`);
      const mine = all.filter((e) => e.grant_type === 'authorization_code');
      assert.equal(mine.length, 1, JSON.stringify(ev));
      for (const a of all) {
        assert.ok(['authorization_code', 'refresh_token'].includes(a.grant_type), JSON.stringify(a));
        checkAssertion(a, {
          clientId: `client-${id}`, tokenEndpoint, alg, kid: id === 'hs256' ? undefined : keys[id].kid,
        });
      }
      assert.ok(!ev.some((e) => e.event === 'grant.error' && e.client_id === `client-${id}`), JSON.stringify(ev));
    });
  }

  it('ClientAssertionAudience issuer: the assertion\'s aud is the issuer, which the IdP accepts', async () => {
    const r = await new Browser().login(`${base}/p/aud/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    // the code exchange's, and a refresh's if one came (on a slow machine
    // an access token due a second after it was issued is refreshed by
    // the sign-in's own page); each carries the issuer as its aud
    const all = assertions(await site.idp.events(), 'client-aud');
    assert.equal(all.filter((e) => e.grant_type === 'authorization_code').length, 1, JSON.stringify(all));
    for (const a of all) {
      assert.ok(['authorization_code', 'refresh_token'].includes(a.grant_type), JSON.stringify(a));
      checkAssertion(a, { clientId: 'client-aud', tokenEndpoint: site.idp.issuer, alg: 'ES256', kid: keys.aud.kid });
    }
  });

  it('8 sign-ins at once (ES256 and PS256, worker threads signing in parallel with the shared keys): all succeed, each with its own assertion', async () => {
    // code exchanges only: on a slow machine (sanitizers) an access token
    // due a second after it was issued is refreshed by the first request
    const codes = async () => (await site.idp.events())
      .filter((e) => e.event === 'client_assertion' && e.grant_type === 'authorization_code').length;
    const before = await codes();
    const runs = await Promise.all([...Array(8).keys()].map((i) => new Browser()
      .login(`${base}/p/${i % 2 ? 'es256' : 'ps256'}/env.cgi`, 'bob', 'bob-pass-2')));
    for (const r of runs) assert.equal(r.status, 200, dump(r));
    assert.equal(await codes() - before, 8);
  });

  it('every assertion has its own jti', async () => {
    const all = (await site.idp.events()).filter((e) => e.event === 'client_assertion');
    assert.ok(all.length >= 14, JSON.stringify(all));
    assert.equal(new Set(all.map((e) => e.claims.jti)).size, all.length);
  });

  it('a refresh authenticates with the key too: the refresh_token grant carries a fresh RS256 assertion', async () => {
    const refreshesOf = async () => assertions(await site.idp.events(), 'client-rs256')
      .filter((e) => e.grant_type === 'refresh_token');
    const before = (await refreshesOf()).length;
    const br = new Browser();
    let r = await br.login(`${base}/p/rstok/env.cgi`, 'bob', 'bob-pass-2');
    assert.equal(r.status, 200, dump(r));
    const first = parseEnv(r.body).FEDAUTH_ACCESS_TOKEN;
    assert.ok(first, r.body);
    await sleep(1500);
    r = await br.getOnce(`${base}/p/rstok/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    const second = parseEnv(r.body).FEDAUTH_ACCESS_TOKEN;
    assert.ok(second && second !== first, 'the access token was refreshed');
    // one refresh, or two when the sign-in's own page came in the second
    // its token fell due (see the sign-in cases above): each with an
    // assertion of its own
    const refreshes = (await refreshesOf()).slice(before);
    assert.ok(refreshes.length >= 1 && refreshes.length <= 2, `refreshes authenticated by an assertion: ${refreshes.length}`);
    for (const a of refreshes) checkAssertion(a, { clientId: 'client-rs256', tokenEndpoint, alg: 'RS256', kid: keys.rs256.kid });
    assert.equal(new Set(refreshes.map((e) => e.claims.jti)).size, refreshes.length);
  });

  it('a key the IdP does not know: error page with token_error, no session; the log names the method and the kid', async () => {
    const bw = new Browser();
    const r = await bw.login(`${base}/p/wrong/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 401, dump(r));
    assert.ok(errorCodes(r.body).includes('token_error'), r.body);
    const sess = await bw.getOnce(`${base}/fedauth/session`);
    assert.equal(sess.status, 401, 'no session');
    const log = site.errorLog();
    const re = new RegExp(`private_key_jwt kid ${keys.wrong.kid}: token endpoint answered 40\\d error=invalid_client`);
    assert.match(log, re);
    const ev = await site.idp.events();
    assert.ok(ev.some((e) => e.event === 'grant.error' && e.client_id === 'client-wrong' && e.error === 'invalid_client'), JSON.stringify(ev));
    assert.equal(assertions(ev, 'client-wrong').length, 0);
  });

  it('no key material and no assertion in the error log', () => {
    const log = site.errorLog();
    assert.ok(!/PRIVATE KEY/.test(log));
    for (const k of Object.values(keys)) {
      const body = k.pem.split('\n').filter((l) => l && !l.startsWith('-----'));
      for (const line of body) assert.ok(!log.includes(line), 'a line of a key file in the log');
    }
    assert.ok(!log.includes(ASSERTION_TYPE));
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.eyJ/.test(log), 'no JWT in the log');
    assert.deepEqual(site.troubles(), []);
  });
});

describe('/fedauth/jwks as the client\'s jwks_uri: rollover with two keys, ClientCertFile', () => {
  const k1 = makeKey('roll-ec', 'ec', { namedCurve: 'P-256' });
  const k2 = makeKey('roll-rsa', 'rsa', { modulusLength: 2048 });
  const cert = makeCert('roll-ec', k1);
  const cert2 = makeCert('roll-rsa', k2, 400);
  const k384 = makeKey('uri-384', 'ec', { namedCurve: 'P-384' });
  const kps = makeKey('uri-ps', 'rsa', { modulusLength: 2048 });
  let order = 'first';
  let site;
  let base;
  let tokenEndpoint;

  const jwksUri = (c) => ({ jwks_uri: `${new URL(c.redirect_uris[0]).origin}/fedauth/jwks` });

  before(async () => {
    site = await startSite({
      providers: [{
        id: 'roll',
        auth: 'private_key_jwt',
        clientExtra: jwksUri,
        extra: () => (order === 'first'
          ? `ClientKeyFile "${k1.file}"\nClientKeyFile "${k2.file}"\nClientCertFile "${cert.file}"`
          : `ClientKeyFile "${k2.file}"\nClientKeyFile "${k1.file}"\nClientCertFile "${cert2.file}"`),
      },
      // two more providers: their keys join the same JWKS (ES384, PS256)
      { id: 'uri384', auth: 'private_key_jwt', clientExtra: jwksUri, extra: `ClientKeyFile "${k384.file}"` },
      { id: 'urips', auth: 'private_key_jwt', clientExtra: jwksUri, extra: `ClientKeyFile "${kps.file}" PS256` }],
      locationsConf: perProviderLocations(['roll', 'uri384', 'urips']),
    });
    base = site.base;
    tokenEndpoint = (await (await fetch(`${site.idp.issuer}/.well-known/openid-configuration`)).json()).token_endpoint;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('GET /fedauth/jwks without a session: 200, application/jwk-set+json, Cache-Control public max-age=3600, the public keys of every provider in order, no private member', async () => {
    const r = await fetch(`${base}/fedauth/jwks`, { signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/jwk-set+json');
    assert.equal(r.headers.get('cache-control'), 'public, max-age=3600');
    assert.equal(r.headers.get('set-cookie'), null);
    const doc = await r.json();
    assert.equal(doc.keys.length, 4, JSON.stringify(doc));
    const [a, c] = doc.keys;
    assert.deepEqual(doc.keys.slice(2).map((k) => [k.kid, k.alg]), [[k384.kid, 'ES384'], [kps.kid, 'PS256']]);
    assert.deepEqual({ kty: a.kty, crv: a.crv, x: a.x, y: a.y }, { kty: 'EC', crv: 'P-256', x: k1.jwk.x, y: k1.jwk.y });
    assert.deepEqual({ kty: c.kty, n: c.n, e: c.e }, { kty: 'RSA', n: k2.jwk.n, e: k2.jwk.e });
    assert.deepEqual([a.kid, c.kid], [k1.kid, k2.kid]);
    assert.deepEqual([a.alg, c.alg], ['ES256', 'RS256']);
    assert.deepEqual([a.use, c.use], ['sig', 'sig']);
    assert.deepEqual(a.x5c, [cert.der.toString('base64')], 'x5c: the certificate of the first key');
    assert.equal(a['x5t#S256'], digest('sha256', cert.der));
    assert.equal(c.x5c, undefined);
    for (const k of doc.keys) {
      for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(k[m], undefined, `member ${m}`);
    }
  });

  it('HEAD answers 200; POST 405 with Allow: GET', async () => {
    let r = await fetch(`${base}/fedauth/jwks`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 200);
    r = await fetch(`${base}/fedauth/jwks`, { method: 'POST', body: 'x=1', signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 405);
    assert.match(r.headers.get('allow') || '', /GET/);
  });

  it('the IdP fetches /fedauth/jwks and accepts the first key\'s ES256 assertion, with x5t#S256 and x5t (SHA-1) of the certificate', async () => {
    const r = await new Browser().login(`${base}/p/roll/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    const mine = assertions(await site.idp.events(), 'client-roll');
    assert.equal(mine.length, 1);
    checkAssertion(mine[0], { clientId: 'client-roll', tokenEndpoint, alg: 'ES256', kid: k1.kid });
    assert.equal(mine[0].header['x5t#S256'], digest('sha256', cert.der));
    assert.equal(mine[0].header.x5t, digest('sha1', cert.der));
    const fetched = /"GET \/fedauth\/jwks HTTP\/1\.1" 200/;
    assert.match(await site.httpd.accessLogWhen((l) => fetched.test(l)), fetched);
  });

  for (const [id, alg, key] of [['uri384', 'ES384', k384], ['urips', 'PS256', kps]]) {
    it(`${id}: ${alg} with the key the IdP found in /fedauth/jwks`, async () => {
      const r = await new Browser().login(`${base}/p/${id}/env.cgi`, 'alice', 'alice-pass-1');
      assert.equal(r.status, 200, dump(r));
      const mine = assertions(await site.idp.events(), `client-${id}`);
      assert.equal(mine.length, 1);
      checkAssertion(mine[0], { clientId: `client-${id}`, tokenEndpoint, alg, kid: key.kid });
    });
  }

  it('a ClientCertFile that ends within 30 days: one start-up warning FA01000 naming the provider and the days left', () => {
    const lines = site.errorLog().split('\n').filter((l) => l.includes('FA01000'));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], /provider roll: the ClientCertFile \S+roll-ec\.crt ends in [01] days: renew it/);
  });

  it('rollover: the second key moved first (after a restart) signs, and the IdP, still holding the published set, accepts it', async () => {
    order = 'second';
    await site.restartHttpd();
    await site.idp.clearEvents();
    const doc = await (await fetch(`${base}/fedauth/jwks`)).json();
    assert.deepEqual(doc.keys.map((k) => k.kid), [k2.kid, k1.kid, k384.kid, kps.kid]);
    const r = await new Browser().login(`${base}/p/roll/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    const mine = assertions(await site.idp.events(), 'client-roll');
    assert.equal(mine.length, 1);
    checkAssertion(mine[0], { clientId: 'client-roll', tokenEndpoint, alg: 'RS256', kid: k2.kid });
    assert.equal(mine[0].header['x5t#S256'], digest('sha256', cert2.der));
    assert.ok(!site.errorLog().includes('FA01000'), 'no warning for a certificate of 400 days');
    assert.deepEqual(site.troubles(), []);
  });
});

describe('/fedauth/jwks without keys', () => {
  let site;
  before(async () => { site = await startSite({ providers: [{ id: 'test' }] }); });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });
  it('404 like any unknown URL when no provider has a ClientKeyFile', async () => {
    const r = await fetch(`${site.base}/fedauth/jwks`, { signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 404);
  });
});

describe('apache2 -t refuses bad keys, naming the directive and file:line', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));
  const good = makeKey('good', 'ec', { namedCurve: 'P-256' });
  const goodCert = makeCert('good', good);

  const block = (lines, { auth = 'private_key_jwt', secret } = {}) => `<FedAuthProvider keys>
    Issuer        http://127.0.0.1:9
    ClientID      client-keys
${secret ? `    ClientSecret  "${secret}"\n` : ''}    TokenEndpointAuth ${auth}
${lines}
</FedAuthProvider>`;

  async function check(providers) {
    requireModule();
    const { dir, confFile } = await writeHttpdConfig({
      providersConf: `FedAuthSecret "a long enough test passphrase for config tests"\n${providers}`,
      locationsConf: '<Location /protected>\n    AuthType FedAuth\n    Require valid-user\n</Location>',
    });
    dirs.push(dir);
    const res = await configTest(confFile);
    const lines = fs.readFileSync(confFile, 'utf8').split('\n');
    return { res, out: `${res.stdout}${res.stderr}`, lineOf: (m) => lines.findIndex((l) => l.includes(m)) + 1, confFile };
  }

  async function refused(lines, re, marker, opts) {
    const { res, out, lineOf, confFile } = await check(block(lines, opts));
    assert.notEqual(res.code, 0, out);
    assert.match(out, re);
    if (marker) assert.ok(out.includes(`${path.basename(confFile)}:${lineOf(marker)}`), `names the line of ${marker}:\n${out}`);
    assert.ok(!/PRIVATE KEY|BEGIN/.test(out), out);
    return out;
  }

  it('control: a 0600 key with its certificate passes, and so does 0400', async () => {
    let { res, out } = await check(block(`    ClientKeyFile "${good.file}"\n    ClientCertFile "${goodCert.file}"`));
    assert.equal(res.code, 0, out);
    const ro = makeKey('readonly', 'rsa', { modulusLength: 2048 }, { mode: 0o400 });
    ({ res, out } = await check(block(`    ClientKeyFile "${ro.file}" PS256`)));
    assert.equal(res.code, 0, out);
  });

  it('a key file readable by others (0644) or by the group (0640)', async () => {
    for (const mode of [0o644, 0o640]) {
      const k = makeKey(`mode-${mode.toString(8)}`, 'ec', { namedCurve: 'P-256' }, { mode });
      const out = await refused(`    ClientKeyFile "${k.file}"`, /ClientKeyFile .*may be read or written by group or other/, 'ClientKeyFile');
      assert.ok(out.includes(k.file), out);
    }
  });

  it('a key file (0600) that belongs to another user than the one reading the configuration', { skip: process.getuid() !== 0 && 'needs root to chown' }, async () => {
    const k = makeKey('owner', 'ec', { namedCurve: 'P-256' });
    fs.chownSync(k.file, 65534, 65534);
    await refused(`    ClientKeyFile "${k.file}"`, /ClientKeyFile .*belongs to uid 65534, not to uid 0/, 'ClientKeyFile');
  });

  it('an EC key on P-521, and on secp256k1', async () => {
    const k = makeKey('p521', 'ec', { namedCurve: 'P-521' });
    await refused(`    ClientKeyFile "${k.file}"`, /ClientKeyFile .*P-256 or P-384/, 'ClientKeyFile');
    const k2 = makeKey('k256', 'ec', { namedCurve: 'secp256k1' });
    await refused(`    ClientKeyFile "${k2.file}"`, /ClientKeyFile .*P-256 or P-384/, 'ClientKeyFile');
  });

  it('an RSA key of 1024 bits; an Ed25519 key', async () => {
    const k = makeKey('rsa1024', 'rsa', { modulusLength: 1024 });
    await refused(`    ClientKeyFile "${k.file}"`, /ClientKeyFile .*at least 2048 bits/, 'ClientKeyFile');
    const e = makeKey('ed', 'ed25519', undefined);
    await refused(`    ClientKeyFile "${e.file}"`, /ClientKeyFile .*RSA or EC/, 'ClientKeyFile');
  });

  it('an alg that does not fit the key, or is unknown', async () => {
    const rsa = makeKey('fit-rsa', 'rsa', { modulusLength: 2048 });
    const p384 = makeKey('fit-384', 'ec', { namedCurve: 'P-384' });
    await refused(`    ClientKeyFile "${rsa.file}" ES256`, /ClientKeyFile .*ES256 needs/, 'ClientKeyFile');
    await refused(`    ClientKeyFile "${p384.file}" ES256`, /ClientKeyFile .*ES256 for a P-256 key/, 'ClientKeyFile');
    await refused(`    ClientKeyFile "${good.file}" HS256`, /ClientKeyFile unknown alg/, 'ClientKeyFile');
  });

  it('a missing file, a file without a private key, an encrypted key, three keys', async () => {
    await refused(`    ClientKeyFile "${keyDir}/nope.pem"`, /ClientKeyFile cannot read/, 'ClientKeyFile');
    const certAsKey = path.join(keyDir, 'cert-as-key.pem');
    fs.copyFileSync(goodCert.file, certAsKey);
    fs.chmodSync(certAsKey, 0o600);
    await refused(`    ClientKeyFile "${certAsKey}"`, /ClientKeyFile .*holds no PEM private key/, 'ClientKeyFile');
    // an encrypted key is refused at once (OpenSSL is never left to ask a terminal)
    const enc = path.join(keyDir, 'encrypted.pem');
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fs.writeFileSync(enc, privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass' }), { mode: 0o600 });
    const t0 = Date.now();
    await refused(`    ClientKeyFile "${enc}"`, /ClientKeyFile .*holds no PEM private key \(or one with a passphrase\)/, 'ClientKeyFile');
    assert.ok(Date.now() - t0 < 10000, 'no wait for a passphrase');
    const k = makeKey('third', 'ec', { namedCurve: 'P-256' });
    await refused(`    ClientKeyFile "${good.file}"\n    ClientKeyFile "${k.file}"\n    ClientKeyFile "${k.file}" `,
      /ClientKeyFile may be given twice at most/);
  });

  it('a certificate of another key; ClientCertFile without ClientKeyFile', async () => {
    const other = makeKey('certother', 'ec', { namedCurve: 'P-256' });
    const otherCert = makeCert('certother', other);
    await refused(`    ClientKeyFile "${good.file}"\n    ClientCertFile "${otherCert.file}"`,
      /ClientCertFile the certificate in .* is not for the \(first\) ClientKeyFile's key/, 'ClientCertFile');
    await refused(`    ClientCertFile "${goodCert.file}"`, /ClientCertFile needs a ClientKeyFile/, 'ClientCertFile', { auth: 'client_secret_basic', secret: 'x'.repeat(40) });
  });

  it('private_key_jwt without ClientKeyFile; client_secret_jwt with a secret under 32 bytes; ClientAssertionAudience both; an unknown method', async () => {
    await refused('', /private_key_jwt needs a ClientKeyFile/);
    await refused('', /client_secret_jwt needs a ClientSecret of at least 32 bytes/, null, { auth: 'client_secret_jwt', secret: 'y'.repeat(31) });
    const { res, out } = await check(block('', { auth: 'client_secret_jwt', secret: 'y'.repeat(32) }));
    assert.equal(res.code, 0, out);
    await refused('    ClientAssertionAudience both', /ClientAssertionAudience expects token_endpoint or issuer/, 'ClientAssertionAudience', { auth: 'client_secret_jwt', secret: 'y'.repeat(32) });
    await refused('', /TokenEndpointAuth expects client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt or none/, 'TokenEndpointAuth', { auth: 'tls_client_auth' });
  });
});
