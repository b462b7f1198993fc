// SPDX-License-Identifier: Apache-2.0
// issue3.md's new directives, bad values: `apache2 -t` fails with a message
// naming the directive and the config file:line (DESIGN.md, "Configuration
// mistakes ... stop httpd at start"). A provider using every new directive
// with good values passes (control), and so do the boundaries.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { writeHttpdConfig, configTest, requireModule, removeDir, locationFor } from '../lib/index.mjs';

const provider = (id, body) => `<FedAuthProvider ${id}>
    Issuer        http://127.0.0.1:9/${id}
    ClientID      client-${id}
    ClientSecret  secret-${id}
    DisplayName   "Provider ${id}"
${body}
</FedAuthProvider>`;

const ALL_GOOD = `    SortOrder     1000
    Enabled       On
    Icon          https://cdn.example.com/icons/corp.svg?v=1&x=2
    AccentColor   "#0a64a0"
    Prompt        "login consent select_account"
    AcrValues     "phr mfa"
    ResponseMode  form_post
    ValidIssuer   https://login.microsoftonline.com/{tenantid}/v2.0
    ValidIssuer   http://127.0.0.1:9/other`;

const dirs = [];
after(() => dirs.forEach(removeDir));

async function check(providers, { serverConf = '', locations = locationFor('/protected') } = {}) {
  requireModule();
  const { dir, confFile } = await writeHttpdConfig({
    providersConf: `FedAuthSecret "a long enough test passphrase for config tests"\n${serverConf}\n${providers}`,
    locationsConf: locations,
  });
  dirs.push(dir);
  const res = await configTest(confFile);
  const lines = fs.readFileSync(confFile, 'utf8').split('\n');
  const lineOf = (marker) => lines.findIndex((l) => l.includes(marker)) + 1;
  return { res, confFile, lineOf, out: `${res.stdout}${res.stderr}` };
}

/** The message names the config file and a line in [lo, hi]. */
function assertFileLine(out, confFile, lo, hi) {
  const name = path.basename(confFile).replace('.', '\\.');
  const re = new RegExp(`(?:${name}:(\\d+))|(?:line (\\d+) of [^\\s:]*${name})`, 'g');
  const hits = [...out.matchAll(re)].map((m) => Number(m[1] || m[2]));
  assert.ok(hits.length > 0, `the message names httpd.conf:<line>:\n${out}`);
  assert.ok(hits.some((n) => n >= lo && n <= hi), `a line in ${lo}..${hi} named; got ${hits.join(', ')}:\n${out}`);
}

async function assertRefused(directiveLine, nameRe, opts = {}) {
  const c = await check(provider('a', `    ${directiveLine}`), opts);
  assert.notEqual(c.res.code, 0, `apache2 -t must fail for ${JSON.stringify(directiveLine)}:\n${c.out}`);
  assert.doesNotMatch(c.out, /Syntax OK/);
  assert.match(c.out, nameRe, c.out);
  const l = c.lineOf(directiveLine);
  assertFileLine(c.out, c.confFile, l, l);
}

describe('issue3.md directives: apache2 -t', () => {
  it('control: a provider with every new directive (good values) passes', async () => {
    const c = await check(`${provider('a', ALL_GOOD)}\n${provider('b', '    SortOrder 0\n    Enabled Off\n    Icon /icons/b.svg\n    AccentColor "#fff"\n    Prompt none\n    ResponseMode query')}`,
      { serverConf: 'FedAuthRememberChoice On\n' });
    assert.equal(c.res.code, 0, c.out);
    assert.match(c.out, /Syntax OK/);
  });

  it('control: FedAuthProviders may name a disabled provider', async () => {
    const c = await check(`${provider('a', '')}\n${provider('off', '    Enabled Off')}`,
      { locations: locationFor('/protected', ['a', 'off']) });
    assert.equal(c.res.code, 0, c.out);
  });

  for (const v of ['-1', '1001', 'abc', '1.5', '10x']) {
    it(`SortOrder ${v}`, () => assertRefused(`SortOrder ${v}`, /SortOrder/));
  }
  for (const v of ['maybe', '1', 'yes']) {
    it(`Enabled ${v}`, () => assertRefused(`Enabled ${v}`, /Enabled/));
  }
  for (const v of ['javascript:alert(1)', '//evil.example/x.svg', 'http://cdn.example.com/x.svg', 'icons/relative.svg', "'/a\"b.svg'", '"/a b.svg"', "'/x.svg\"><script>'"]) {
    it(`Icon ${v}`, () => assertRefused(`Icon ${v}`, /Icon/));
  }
  for (const v of ['red', '"#12345"', '"#ggg"', '"#0a64a0;background:url(x)"', '0a64a0', '"#0a64a0 "']) {
    it(`AccentColor ${v}`, () => assertRefused(`AccentColor ${v}`, /AccentColor/));
  }
  for (const v of ['bogus', '"login bogus"', '"none login"', '"login login"']) {
    it(`Prompt ${v}`, () => assertRefused(`Prompt ${v}`, /Prompt/));
  }
  for (const v of ['fragment', 'form-post', 'jwt']) {
    it(`ResponseMode ${v}`, () => assertRefused(`ResponseMode ${v}`, /ResponseMode/));
  }
  // ValidIssuer is only compared, never fetched; the module also takes bare
  // names (Google issues "accounts.google.com"), so only spaces are refused
  for (const v of ['"not a url"', '"https://idp.example.com/{tenantid} /v2.0"']) {
    it(`ValidIssuer ${v}`, () => assertRefused(`ValidIssuer ${v}`, /ValidIssuer/));
  }

  it('Issuer with {tenantid} and no MetadataURL', async () => {
    const block = `<FedAuthProvider common>
    Issuer        https://login.microsoftonline.com/{tenantid}/v2.0
    ClientID      client-common
    DisplayName   "Entra"
</FedAuthProvider>`;
    const c = await check(block);
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /MetadataURL|Issuer/, c.out);
    assertFileLine(c.out, c.confFile, c.lineOf('<FedAuthProvider common>'), c.lineOf('</FedAuthProvider>'));
  });

  it('control: Issuer with {tenantid} and a MetadataURL passes', async () => {
    const block = `<FedAuthProvider common>
    Issuer        https://login.microsoftonline.com/{tenantid}/v2.0
    MetadataURL   https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration
    ClientID      client-common
    DisplayName   "Entra"
</FedAuthProvider>`;
    const c = await check(block);
    assert.equal(c.res.code, 0, c.out);
  });

  it('FedAuthRememberChoice maybe', async () => {
    const c = await check(provider('a', ''), { serverConf: 'FedAuthRememberChoice maybe' });
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /FedAuthRememberChoice/, c.out);
    const l = c.lineOf('FedAuthRememberChoice maybe');
    assertFileLine(c.out, c.confFile, l, l);
  });
});
