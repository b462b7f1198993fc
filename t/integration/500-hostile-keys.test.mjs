// SPDX-License-Identifier: Apache-2.0
// Hostile IdP (issue 7), keys: ID tokens without kid (one key in the JWKS,
// several keys of one type, every type and curve, a key the module has not
// cached), a signing key rotated between two logins, named by kid or not
// (the module fetches the JWKS once more and accepts; not again within
// FA_IDP_REFETCH_MIN),
// and JWKS documents no module should take: thousands of keys, a document
// over the size limit, one that is not JSON. The test IdP changes its keys
// and answers through /_admin/keys and /_admin/override (t/lib/hostile.mjs).
// One httpd child process, so that the per-process JWKS cache is the one
// every request sees; each case that needs a cold cache has a provider of
// its own.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import {
  startSite, Browser, parseEnv, dump, perProviderLocations, sleep,
} from '../lib/index.mjs';
import {
  idpKeys, idpOverride, idpBehave, idpHits, idpJwks, assertRefused, logLines, logPid, ONE_PROCESS,
} from '../lib/hostile.mjs';

// FA_IDP_REFETCH_MIN (include/fa_idp.h) and a second of margin
const REFETCH_GUARD_MS = 11000;

const PROVIDERS = [
  { id: 'rot' },
  { id: 'rotnow' },
  { id: 'nokid1' },
  { id: 'nokid2' },
  { id: 'nokid3', alg: 'ES256' },
  { id: 'nokidrot' },
  { id: 'many' },
  { id: 'huge' },
  { id: 'junk' },
  { id: 'costly' },
  { id: 'badkey' },
];

/** Odd primes below n. */
function primesBelow(n) {
  const sieve = new Uint8Array(n);
  const out = [];
  for (let i = 3; i < n; i += 2) {
    if (sieve[i]) continue;
    out.push(BigInt(i));
    for (let j = i * i; j < n; j += 2 * i) sieve[j] = 1;
  }
  return out;
}

/**
 * An 8192-bit odd modulus without small factors, as base64url: as costly
 * for a full RSA public key check (a Miller-Rabin round) as a real key,
 * without the seconds a real 8192-bit key takes to make.
 */
function costlyModulus(small) {
  for (;;) {
    const b = crypto.randomBytes(1024);
    b[0] |= 0x80;
    b[1023] |= 1;
    const n = BigInt(`0x${b.toString('hex')}`);
    if (small.every((p) => n % p !== 0n)) return b.toString('base64url');
  }
}

describe('hostile IdP: keys and JWKS', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({
      providers: PROVIDERS,
      locationsConf: perProviderLocations(PROVIDERS.map((p) => p.id)),
      extraConf: ONE_PROCESS,
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

  const login = (id, b = new Browser()) => b.login(`${base}/p/${id}/env.cgi`, 'alice', 'alice-pass-1');
  const jwksFetches = (id) => logLines(site, new RegExp(`FA01703: provider ${id}: fetched JWKS with`));
  const jwksHits = async () => (await idpHits(site.idp))['/jwks'] || 0;

  function assertSignedIn(r, id) {
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.FEDAUTH_IDP, id, r.body);
    assert.equal(env.REMOTE_USER, 'alice', r.body);
  }

  it('ID token without kid, the JWKS holding one key: accepted', async () => {
    const k = await idpKeys(site.idp, { jwksOnly: ['rsa-1'], dropKid: true });
    assert.deepEqual(k.jwks, ['rsa-1']);
    const served = await idpJwks(site.idp);
    assert.equal(served.keys.length, 1);
    const r = await login('nokid1');
    assertSignedIn(r, 'nokid1');
    assert.equal(jwksFetches('nokid1').length, 1);
    assert.match(jwksFetches('nokid1')[0], /with 1 usable keys/);
  });

  it('ID token without kid, two RSA keys (the wrong one listed first): the right key is found', async () => {
    const k = await idpKeys(site.idp, { rotate: true, keepOld: true, dropKid: true });
    const served = await idpJwks(site.idp);
    const rsa = served.keys.filter((x) => x.kty === 'RSA').map((x) => x.kid);
    assert.deepEqual(rsa, ['rsa-1', k.signingKid], 'the old key first, the signing key last');
    const r = await login('nokid2');
    assertSignedIn(r, 'nokid2');
  });

  it('ES256 ID token without kid, keys of every type and curve in the JWKS: the one that fits is used', async () => {
    await idpKeys(site.idp, { dropKid: true });
    const served = await idpJwks(site.idp);
    assert.ok(served.keys.length >= 5, JSON.stringify(served.keys.map((x) => x.kid)));
    const r = await login('nokid3');
    assertSignedIn(r, 'nokid3');
  });

  it('ID token without kid from a key the module has not cached: the JWKS is fetched once more and the login accepted; '
    + 'rotated again at once: 401 invalid_signature, no second fetch within 10 s', async () => {
    assertSignedIn(await login('nokidrot'), 'nokidrot'); // caches the JWKS
    const cachedAt = Date.now();
    assert.equal(jwksFetches('nokidrot').length, 1);

    // nothing names the new key; a signature no cached key verifies is the only sign
    await idpKeys(site.idp, { rotate: true, keepOld: true, dropKid: true });
    await sleep(Math.max(0, cachedAt + REFETCH_GUARD_MS - Date.now()));
    let hits = await jwksHits();
    assertSignedIn(await login('nokidrot'), 'nokidrot');
    assert.equal(await jwksHits() - hits, 1, 'exactly one JWKS fetch');
    assert.equal(jwksFetches('nokidrot').length, 2, site.errorLog());

    // within the refetch guard the cached JWKS is final
    await idpKeys(site.idp, { rotate: true, keepOld: true, dropKid: true });
    hits = await jwksHits();
    const b = new Browser();
    const r = await login('nokidrot', b);
    assertRefused(r, { status: 401, code: 'invalid_signature', id: 'nokidrot', browser: b, site });
    assert.equal(await jwksHits(), hits, 'no JWKS fetch within the refetch guard');
    assert.equal((await b.getOnce(`${base}/p/nokidrot/env.cgi`)).status, 302, 'not signed in');
  });

  it('signing key rotated between two logins: the JWKS is fetched once more and the login accepted; '
    + 'rotated again at once: 401 unknown_key (no second fetch within 10 s); after that: accepted', async () => {
    // 1. a login caches the JWKS (rsa-1 signs)
    assertSignedIn(await login('rot'), 'rot');
    const cachedAt = Date.now();
    assert.equal(jwksFetches('rot').length, 1);

    // 2. the IdP signs with a new key, published in its JWKS beside the old one
    const k1 = await idpKeys(site.idp, { rotate: true, keepOld: true });
    assert.ok((await idpJwks(site.idp)).keys.some((x) => x.kid === k1.signingKid));
    await sleep(Math.max(0, cachedAt + REFETCH_GUARD_MS - Date.now()));
    let hits = await jwksHits();
    const r2 = await login('rot');
    assertSignedIn(r2, 'rot');
    assert.equal(await jwksHits() - hits, 1, 'exactly one JWKS fetch for the unknown kid');
    assert.equal(jwksFetches('rot').length, 2, site.errorLog());
    const refetchedAt = Date.now();

    // 3. rotated again right away: the module does not ask the IdP again so soon
    const k2 = await idpKeys(site.idp, { rotate: true, keepOld: true });
    assert.notEqual(k2.signingKid, k1.signingKid);
    hits = await jwksHits();
    const b3 = new Browser();
    const r3 = await login('rot', b3);
    assertRefused(r3, { status: 401, code: 'unknown_key', id: 'rot', browser: b3, site });
    assert.match(site.errorLog(), new RegExp(`refused: unknown_key: no key with kid ${k2.signingKid}`));
    assert.equal(await jwksHits(), hits, 'no JWKS fetch within the refetch guard');

    // 4. once the guard has passed, the new key is fetched and accepted
    await sleep(Math.max(0, refetchedAt + REFETCH_GUARD_MS - Date.now()));
    hits = await jwksHits();
    assertSignedIn(await login('rot'), 'rot');
    assert.equal(await jwksHits() - hits, 1);
    const lines = jwksFetches('rot');
    assert.equal(lines.length, 3, site.errorLog());
    assert.equal(new Set(lines.map(logPid)).size, 1, 'all in the one child process');
  });

  it('signing key rotated right after the JWKS was fetched (an RP certification case): the next login '
    + 'fetches it once more at once and is accepted; a second unknown key at once: 401 unknown_key, no fetch', async () => {
    assertSignedIn(await login('rotnow'), 'rotnow');
    assert.equal(jwksFetches('rotnow').length, 1);
    const k1 = await idpKeys(site.idp, { rotate: true, keepOld: true });
    let hits = await jwksHits();
    const t = Date.now();
    assertSignedIn(await login('rotnow'), 'rotnow');
    assert.ok(Date.now() - t < 5000, `signed in after ${Date.now() - t} ms`);
    assert.equal(await jwksHits() - hits, 1, 'one JWKS fetch for the new kid');
    assert.equal(jwksFetches('rotnow').length, 2, site.errorLog());
    // a storm of made-up or newer keys right after that refetch: no fetch
    const k2 = await idpKeys(site.idp, { rotate: true, keepOld: true });
    assert.notEqual(k2.signingKid, k1.signingKid);
    hits = await jwksHits();
    const b = new Browser();
    assertRefused(await login('rotnow', b), { status: 401, code: 'unknown_key', id: 'rotnow', browser: b, site });
    assert.equal(await jwksHits(), hits, 'no JWKS fetch within the refetch guard');
  });

  it('a JWKS listing 1500 keys: 502 invalid_jwks, no session, quickly', async () => {
    const { keys } = await idpJwks(site.idp);
    const ec = keys.find((x) => x.kty === 'EC' && x.crv === 'P-256');
    const many = { keys: Array.from({ length: 1500 }, (_, i) => ({ ...ec, kid: `k${i}` })) };
    const body = JSON.stringify(many);
    assert.ok(body.length < 256 * 1024, `under the byte limit (${body.length}): the count is what is refused`);
    await idpOverride(site.idp, '/jwks', { body });
    const b = new Browser();
    const t = Date.now();
    const r = await login('many', b);
    assert.ok(Date.now() - t < 10000, `answered after ${Date.now() - t} ms`);
    assertRefused(r, { status: 502, code: 'invalid_jwks', id: 'many', browser: b, site });
    assert.match(site.errorLog(), /JWKS lists 1500 keys, over 64/);
  });

  it('a JWKS over 256 KiB (3000 RSA keys): 502 idp_bad_response, not read to the end', async () => {
    const { keys } = await idpJwks(site.idp);
    const rsa = keys.find((x) => x.kty === 'RSA');
    const body = JSON.stringify({ keys: Array.from({ length: 3000 }, (_, i) => ({ ...rsa, kid: `r${i}` })) });
    assert.ok(body.length > 1024 * 1024, `${body.length} bytes`);
    await idpOverride(site.idp, '/jwks', { body });
    const b = new Browser();
    const r = await login('huge', b);
    assertRefused(r, { status: 502, code: 'idp_bad_response', id: 'huge', browser: b, site });
    assert.match(site.errorLog(), /refused: idp_bad_response: response from \S+\/jwks is too large/);
  });

  it('a JWKS that is not JSON: 502 invalid_jwks', async () => {
    await idpOverride(site.idp, '/jwks', { contentType: 'text/html', body: '<html><body>keys moved</body></html>' });
    const b = new Browser();
    const r = await login('junk', b);
    assertRefused(r, { status: 502, code: 'invalid_jwks', id: 'junk', browser: b, site });
    assert.match(site.errorLog(), /refused: invalid_jwks: JWKS is not JSON with a keys array/);
  });

  it('a JWKS filled up to 64 keys with 8192-bit RSA keys is read in well under a second: the login takes no longer than usual', async () => {
    const { keys } = await idpJwks(site.idp);
    const small = primesBelow(3000);
    const extra = Array.from({ length: 64 - keys.length }, (_, i) => ({ kty: 'RSA', kid: `costly-${i}`, use: 'sig', n: costlyModulus(small), e: 'AQAB' }));
    await idpOverride(site.idp, '/jwks', { body: JSON.stringify({ keys: [...keys, ...extra] }) });
    const t = Date.now();
    const r = await login('costly');
    const ms = Date.now() - t;
    assertSignedIn(r, 'costly');
    assert.match(jwksFetches('costly')[0] || '', /with 64 usable keys/, site.errorLog());
    assert.ok(ms < 4000, `the login took ${ms} ms`);
  });

  it('a JWKS with a broken RSA key and an encryption key before the real ones: both left out, each with its own tagged line; the login accepted', async () => {
    const { keys } = await idpJwks(site.idp);
    const rsa = keys.find((x) => x.kty === 'RSA');
    const enc = { ...rsa, kid: 'enc-1', use: 'enc' };
    const broken = { ...rsa, kid: 'broken-1', n: 'AQAB' }; // a 17-bit modulus
    await idpOverride(site.idp, '/jwks', { body: JSON.stringify({ keys: [enc, broken, ...keys] }) });
    const skipped = (re) => logLines(site, re).length;
    const enc0 = skipped(/FA01704: JWKS: key 0 skipped: not a signing key we support/);
    const bad0 = skipped(/\[fedauth:warn\].* FA01705: JWKS: key 1 skipped: RSA key of 17 bits, not in /);
    assertSignedIn(await login('badkey'), 'badkey');
    assert.equal(skipped(/FA01704: JWKS: key 0 skipped: not a signing key we support/) - enc0, 1, site.errorLog().slice(-3000));
    assert.equal(skipped(/\[fedauth:warn\].* FA01705: JWKS: key 1 skipped: RSA key of 17 bits, not in /) - bad0, 1, site.errorLog().slice(-3000));
    assert.equal(jwksFetches('badkey').length, 1, site.errorLog().slice(-3000));
    // one tag per line: the glue adds none to a tagged core line
    assert.doesNotMatch(site.errorLog(), /FA00306|FA\d{5}: FA\d{5}/);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
