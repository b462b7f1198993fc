// SPDX-License-Identifier: Apache-2.0
// 8. Configuration mistakes: `apache2 -t` fails with a message naming the
// directive and the config file:line. A good config passes (control).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { writeHttpdConfig, configTest, requireModule, removeDir } from '../lib/index.mjs';

const GOOD_PROVIDER = `<FedAuthProvider test>
    Issuer        http://127.0.0.1:9
    ClientID      client-test
    ClientSecret  secret-test
    TokenEndpointAuth client_secret_basic
    Scopes        "openid email profile"
    DisplayName   "Test IdP"
</FedAuthProvider>`;

const LOCATION = `<Location /protected>
    AuthType FedAuth
    Require valid-user
</Location>`;

const dirs = [];
after(() => dirs.forEach(removeDir));

/**
 * Write a config whose providers section is `providers`, run apache2 -t,
 * return { res, confFile, lineOf(marker) }.
 */
async function check(providers, locations = LOCATION) {
  requireModule();
  const { dir, confFile } = await writeHttpdConfig({
    providersConf: `FedAuthSecret "a long enough test passphrase for config tests"\n${providers}`,
    locationsConf: locations,
  });
  dirs.push(dir);
  const res = await configTest(confFile);
  const fs = await import('node:fs');
  const lines = fs.readFileSync(confFile, 'utf8').split('\n');
  const lineOf = (marker) => lines.findIndex((l) => l.includes(marker)) + 1;
  return { res, confFile, lines, lineOf, out: `${res.stdout}${res.stderr}` };
}

/** The message names the config file and a line in [lo, hi]. */
function assertFileLine(out, confFile, lo, hi) {
  const name = path.basename(confFile);
  const re = new RegExp(`(?:${name.replace('.', '\\.')}:(\\d+))|(?:line (\\d+) of [^\\s:]*${name.replace('.', '\\.')})`, 'g');
  const hits = [...out.matchAll(re)].map((m) => Number(m[1] || m[2]));
  assert.ok(hits.length > 0, `the message names ${name}:<line>:\n${out}`);
  assert.ok(hits.some((n) => n >= lo && n <= hi), `a line in ${lo}..${hi} named; got ${hits.join(', ')}:\n${out}`);
  assert.ok(out.includes(confFile) || out.includes(name), out);
}

describe('configuration errors stop apache2 -t', () => {
  it('control: a good configuration passes (Syntax OK)', async () => {
    const { res, out } = await check(GOOD_PROVIDER);
    assert.equal(res.code, 0, out);
    assert.match(out, /Syntax OK/);
  });

  it('<FedAuthProvider> without ClientID', async () => {
    const c = await check(GOOD_PROVIDER.replace(/\n\s*ClientID[^\n]*/, ''));
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /ClientID/, c.out);
    assert.doesNotMatch(c.out, /Syntax OK/);
    assertFileLine(c.out, c.confFile, c.lineOf('<FedAuthProvider test>'), c.lineOf('</FedAuthProvider>'));
  });

  it('<FedAuthProvider> without Issuer', async () => {
    const c = await check(GOOD_PROVIDER.replace(/\n\s*Issuer[^\n]*/, ''));
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /Issuer/, c.out);
    assertFileLine(c.out, c.confFile, c.lineOf('<FedAuthProvider test>'), c.lineOf('</FedAuthProvider>'));
  });

  it('Issuer not a URL', async () => {
    const c = await check(GOOD_PROVIDER.replace('http://127.0.0.1:9', 'not a url'));
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /Issuer/, c.out);
    const l = c.lineOf('not a url');
    assertFileLine(c.out, c.confFile, l, l);
  });

  it('http Issuer on a non-loopback host', async () => {
    const c = await check(GOOD_PROVIDER.replace('http://127.0.0.1:9', 'http://idp.example.com/realms/x'));
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /Issuer/, c.out);
    const l = c.lineOf('http://idp.example.com/realms/x');
    assertFileLine(c.out, c.confFile, l, c.lineOf('</FedAuthProvider>'));
  });

  it('ClaimMap to one of the module\'s own names (USER, ROLES)', async () => {
    for (const name of ['USER', 'roles', 'ERROR']) {
      const c = await check(GOOD_PROVIDER.replace('DisplayName', `ClaimMap email ${name}\n    DisplayName`));
      assert.notEqual(c.res.code, 0, c.out);
      assert.match(c.out, /ClaimMap.*not one of the module's own/, c.out);
      const l = c.lineOf(`ClaimMap email ${name}`);
      assertFileLine(c.out, c.confFile, l, l);
    }
    const ok = await check(GOOD_PROVIDER.replace('DisplayName', 'ClaimMap email USER_EMAIL\n    DisplayName'));
    assert.equal(ok.res.code, 0, ok.out);
  });

  it('unknown TokenEndpointAuth value', async () => {
    const c = await check(GOOD_PROVIDER.replace('TokenEndpointAuth client_secret_basic', 'TokenEndpointAuth client_secret_magic'));
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /TokenEndpointAuth/, c.out);
    const l = c.lineOf('client_secret_magic');
    assertFileLine(c.out, c.confFile, l, l);
  });

  it('invalid provider id', async () => {
    const c = await check(GOOD_PROVIDER.replace('<FedAuthProvider test>', '<FedAuthProvider Bad.Id!>'));
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /FedAuthProvider/, c.out);
    const l = c.lineOf('<FedAuthProvider Bad.Id!>');
    assertFileLine(c.out, c.confFile, l, l);
  });

  it('FedAuthProviders naming an unknown provider', async () => {
    const loc = LOCATION.replace('AuthType FedAuth', 'AuthType FedAuth\n    FedAuthProviders nosuchidp');
    const c = await check(GOOD_PROVIDER, loc);
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /FedAuthProviders/, c.out);
    assert.match(c.out, /nosuchidp/, c.out);
    const l = c.lineOf('FedAuthProviders nosuchidp');
    assertFileLine(c.out, c.confFile, l, l);
  });

  it('FedAuthHTTPTimeout not a number', async () => {
    const c = await check(`FedAuthHTTPTimeout soon\n${GOOD_PROVIDER}`);
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /FedAuthHTTPTimeout/, c.out);
    const l = c.lineOf('FedAuthHTTPTimeout soon');
    assertFileLine(c.out, c.confFile, l, l);
  });

  it('FedAuthSessionHostCache: a size below 256K, seconds out of 1..3600, or in a virtual host', async () => {
    for (const bad of ['FedAuthSessionHostCache 100K', 'FedAuthSessionHostCache 2G 0',
      'FedAuthSessionHostCache 2G 3601', 'FedAuthSessionHostCache lots']) {
      const c = await check(`${bad}\n${GOOD_PROVIDER}`);
      assert.notEqual(c.res.code, 0, `${bad}: ${c.out}`);
      assert.match(c.out, /FedAuthSessionHostCache (expects|cannot)/, c.out);
      const l = c.lineOf(bad);
      assertFileLine(c.out, c.confFile, l, l);
    }
    const v = await check(`${GOOD_PROVIDER}\n<VirtualHost 127.0.0.1:80>\nFedAuthSessionHostCache 64M\n</VirtualHost>`);
    assert.notEqual(v.res.code, 0, v.out);
    assert.match(v.out, /FedAuthSessionHostCache cannot occur within <VirtualHost> section/, v.out);
    const good = await check(`FedAuthSessionHostCache 64M 120\n${GOOD_PROVIDER}`);
    assert.equal(good.res.code, 0, good.out);
  });

  it('the same provider id twice', async () => {
    const c = await check(`${GOOD_PROVIDER}\n${GOOD_PROVIDER}`);
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /FedAuthProvider/, c.out);
    assert.match(c.out, /\btest\b/, c.out);
  });
  it('an unknown sub-directive names the closest one (did you mean)', async () => {
    for (const [typo, meant] of [['Isuer http://127.0.0.1:9', 'Issuer'], ['ClientIdd x', 'ClientID'],
      ['FedAuthScopes openid', 'Scopes'], ['SortOder 3', 'SortOrder']]) {
      const c = await check(GOOD_PROVIDER.replace('DisplayName', `${typo}\n    DisplayName`));
      assert.notEqual(c.res.code, 0, c.out);
      const word = typo.split(' ')[0];
      assert.match(c.out, new RegExp(`${word} is not a directive of <FedAuthProvider> \\(did you mean ${meant}\\?\\)`), c.out);
      const l = c.lineOf(typo);
      assertFileLine(c.out, c.confFile, l, l);
    }
  });

  it('a sub-directive far from any known one lists them all', async () => {
    const c = await check(GOOD_PROVIDER.replace('DisplayName', 'Frobnicate yes\n    DisplayName'));
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /Frobnicate is not a directive of <FedAuthProvider>; it takes Issuer, MetadataURL, .*AccentColor/, c.out);
    assert.doesNotMatch(c.out, /did you mean/, c.out);
  });

  it('a sub-directive with the wrong number of arguments shows its help', async () => {
    const cases = [
      ['ClaimMap email', /ClaimMap expects a claim name and an attribute name; 1 given \(Passes a claim on to the application as an attribute\.\)/],
      ['DisplayName Test IdP', /DisplayName expects a short text in one argument \(quote it when it has spaces\); 2 given \(The name shown to users on the chooser\.\)/],
      ['ValueMap a B c', /ValueMap expects a claim, an attribute name, a value, a result and an optional priority; 3 given \(Sets an attribute/],
      ['ResponseMode', /ResponseMode expects query or form_post; 0 given \(How the IdP sends its answer back\.\)/],
    ];
    for (const [line, re] of cases) {
      const c = await check(GOOD_PROVIDER.replace(/\n\s*DisplayName[^\n]*/, `\n    ${line}`));
      assert.notEqual(c.res.code, 0, c.out);
      assert.match(c.out, re, c.out);
      assert.match(c.out, /<FedAuthProvider test>/, c.out);
      const l = c.lineOf(line);
      assertFileLine(c.out, c.confFile, l, l);
    }
  });

  it('sub-directive names are case-insensitive (control)', async () => {
    const c = await check(GOOD_PROVIDER.replace('DisplayName', 'displayname'));
    assert.equal(c.res.code, 0, c.out);
  });
});
