// SPDX-License-Identifier: Apache-2.0
// ClaimMap (issue4.md): a claim's value reaches CGI as FEDAUTH_<ATTRIBUTE>
// and a proxied backend as X-FedAuth-<Attribute>: strings as they are,
// arrays joined with commas, numbers and booleans as JSON text, objects as
// compact JSON, dotted paths into nested objects (a claim named with a dot
// wins), a ClaimMap to EMAIL replaces the automatic one; header values
// never hold CR/LF and are cut at 8 KiB. The automatic attributes (email,
// given/family name, language from locale) without ClaimMap.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSite, Browser, parseEnv, dump, testUser } from '../lib/index.mjs';
import { startEchoBackend, fedauthHeaders, fedauthHeaderNames } from '../lib/backend.mjs';

const BIG = '0123456789abcdef'.repeat(640); // 10240 bytes
const ORG = { unit: 'R&D', floor: 3, tags: ['x', 'y'], lead: { name: 'Q' } };
const CRLF = 'line1\r\nX-Injected: evil\r\n\r\nbody';

const UMA = testUser('uma', 'C', {
  preferred_username: 'uma',
  given_name: 'Uma',
  family_name: 'Mapper',
  locale: 'de-CH',
  upn: 'U.Ma@Corp.Example',
  department: 'Research',
  cost_center: 'CC-4711',
  projects: ['apollo', 'gemini', 'mercury'],
  level: 42,
  ratio: -7,
  contractor: false,
  email_verified: true,
  org: ORG,
  realm_access: { roles: ['reader', 'writer'] },
  'dot.ted': 'literal',
  dot: { ted: 'nested' },
  note: CRLF,
  big: BIG,
});

const CLAIM_MAPS = `    ClaimMap department DEPARTMENT
    ClaimMap cost_center cost_center
    ClaimMap projects PROJECTS
    ClaimMap level LEVEL
    ClaimMap ratio RATIO
    ClaimMap contractor CONTRACTOR
    ClaimMap email_verified VERIFIED
    ClaimMap org ORG
    ClaimMap org.unit UNIT
    ClaimMap org.lead.name LEAD
    ClaimMap realm_access.roles KC_ROLES
    ClaimMap dot.ted DOTTED
    ClaimMap note NOTE
    ClaimMap big BIG
    ClaimMap upn EMAIL
`;

/** attribute -> [header name as the spec spells it, expected value] */
const EXPECTED = {
  DEPARTMENT: ['X-FedAuth-Department', 'Research'],
  COST_CENTER: ['X-FedAuth-Cost-Center', 'CC-4711'],
  PROJECTS: ['X-FedAuth-Projects', 'apollo,gemini,mercury'],
  LEVEL: ['X-FedAuth-Level', '42'],
  RATIO: ['X-FedAuth-Ratio', '-7'],
  CONTRACTOR: ['X-FedAuth-Contractor', 'false'],
  VERIFIED: ['X-FedAuth-Verified', 'true'],
  UNIT: ['X-FedAuth-Unit', 'R&D'],
  LEAD: ['X-FedAuth-Lead', 'Q'],
  KC_ROLES: ['X-FedAuth-Kc-Roles', 'reader,writer'],
  DOTTED: ['X-FedAuth-Dotted', 'literal'],
  EMAIL: ['X-FedAuth-Email', 'U.Ma@Corp.Example'],
};

describe('ClaimMap: FEDAUTH_<ATTRIBUTE> in CGI, X-FedAuth-<Attribute> at a backend', () => {
  let backend;
  let site;
  let base;

  before(async () => {
    backend = await startEchoBackend();
    site = await startSite({
      users: [UMA],
      providers: [
        { id: 'cm', extra: CLAIM_MAPS },
        { id: 'auto' }, // no ClaimMap: only the automatic attributes
      ],
      locationsConf: `<Location /p/cm/>
    AuthType FedAuth
    FedAuthProviders cm
    Require valid-user
</Location>
<Location /p/auto/>
    AuthType FedAuth
    FedAuthProviders auto
    Require valid-user
</Location>
<Location /app/>
    AuthType FedAuth
    FedAuthProviders cm
    Require valid-user
</Location>
`,
      extraConf: `ProxyPass /app/ http://127.0.0.1:${backend.port}/\n`,
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    await backend?.close();
  });

  let b;
  let cgi;
  let cgiBody;
  let echo;
  before(async () => {
    b = new Browser();
    const r = await b.login(`${base}/p/cm/env.cgi`, 'uma', 'uma-pass-C');
    assert.equal(r.status, 200, `login\n${dump(r)}`);
    cgiBody = r.body;
    cgi = parseEnv(r.body);
    const p = await b.getOnce(`${base}/app/echo`);
    assert.equal(p.status, 200, `proxied request\n${dump(p)}`);
    echo = JSON.parse(p.body);
  });

  it('signed in as uma through cm', () => {
    assert.equal(cgi.REMOTE_USER, 'uma', cgiBody);
    assert.equal(cgi.FEDAUTH_IDP, 'cm', cgiBody);
  });

  for (const [attr, [header, value]] of Object.entries(EXPECTED)) {
    it(`${attr}: FEDAUTH_${attr} and ${header} are ${JSON.stringify(value)}`, () => {
      assert.equal(cgi[`FEDAUTH_${attr}`], value, `FEDAUTH_${attr} in CGI\n${cgiBody}`);
      assert.equal(cgi[`HTTP_${header.toUpperCase().replace(/-/g, '_')}`], value, `${header} as the CGI sees it\n${cgiBody}`);
      assert.equal(fedauthHeaders(echo)[header.toLowerCase()], value, `${header} at the backend\n${JSON.stringify(echo.rawHeaders)}`);
    });
  }

  it('header names: X-FedAuth- + each _-separated word capitalised (COST_CENTER -> X-FedAuth-Cost-Center)', () => {
    const names = fedauthHeaderNames(echo);
    for (const [header] of Object.values(EXPECTED)) {
      assert.ok(names.includes(header), `${header} spelled so at the backend; got ${names.join(', ')}`);
    }
  });

  it('an object claim: compact JSON', () => {
    for (const [what, v] of [['FEDAUTH_ORG', cgi.FEDAUTH_ORG], ['HTTP_X_FEDAUTH_ORG', cgi.HTTP_X_FEDAUTH_ORG], ['X-FedAuth-Org at the backend', fedauthHeaders(echo)['x-fedauth-org']]]) {
      assert.ok(typeof v === 'string', `${what} present\n${cgiBody}`);
      assert.deepEqual(JSON.parse(v), ORG, `${what}: ${v}`);
      assert.doesNotMatch(v, /\s/, `${what} is compact JSON: ${v}`);
    }
  });

  it('a value with CR/LF: one line in CGI and at the backend, no injected header', () => {
    const values = {
      FEDAUTH_NOTE: cgi.FEDAUTH_NOTE,
      HTTP_X_FEDAUTH_NOTE: cgi.HTTP_X_FEDAUTH_NOTE,
      'X-FedAuth-Note at the backend': fedauthHeaders(echo)['x-fedauth-note'],
    };
    for (const [what, v] of Object.entries(values)) {
      assert.ok(typeof v === 'string', `${what} present\n${cgiBody}\n${JSON.stringify(echo.rawHeaders)}`);
      assert.doesNotMatch(v, /[\r\n\0]/, `${what}: ${JSON.stringify(v)}`);
      assert.ok(v.startsWith('line1'), `${what} keeps the text: ${JSON.stringify(v)}`);
    }
    assert.ok(!cgiBody.split('\n').some((l) => /^X-Injected/i.test(l) || l === 'body'), `no line of the CGI output comes from the value:\n${cgiBody}`);
    assert.equal(cgi.HTTP_X_INJECTED, undefined, cgiBody);
    assert.equal(echo.headers['x-injected'], undefined, JSON.stringify(echo.rawHeaders));
    assert.ok(!echo.rawHeaders.some(([k]) => /injected/i.test(k)), JSON.stringify(echo.rawHeaders));
  });

  it('a 10 KiB value: the header is cut to at most 8 KiB, the start kept', () => {
    const values = {
      HTTP_X_FEDAUTH_BIG: cgi.HTTP_X_FEDAUTH_BIG,
      'X-FedAuth-Big at the backend': fedauthHeaders(echo)['x-fedauth-big'],
    };
    for (const [what, v] of Object.entries(values)) {
      assert.ok(typeof v === 'string' && v.length > 0, `${what} present`);
      assert.ok(Buffer.byteLength(v) <= 8192, `${what}: ${Buffer.byteLength(v)} bytes`);
      assert.ok(BIG.startsWith(v), `${what} is the start of the value`);
    }
    // the environment variable has no header limit: the value or its start
    assert.ok(cgi.FEDAUTH_BIG && BIG.startsWith(cgi.FEDAUTH_BIG), `FEDAUTH_BIG: ${String(cgi.FEDAUTH_BIG).length} bytes`);
  });

  it('the session keeps working with these attributes (second request, new connection)', async () => {
    const r = await b.getOnce(`${base}/p/cm/env.cgi`, { headers: { Connection: 'close' } });
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.FEDAUTH_DEPARTMENT, 'Research');
    assert.equal(env.FEDAUTH_PROJECTS, 'apollo,gemini,mercury');
  });

  it('without ClaimMap: the automatic EMAIL, GIVEN_NAME, FAMILY_NAME, LANGUAGE (from locale), nothing else', async () => {
    const r = await new Browser().login(`${base}/p/auto/env.cgi`, 'uma', 'uma-pass-C');
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.FEDAUTH_EMAIL, 'uma@C.example', r.body);
    assert.equal(env.FEDAUTH_GIVEN_NAME, 'Uma', r.body);
    assert.equal(env.FEDAUTH_FAMILY_NAME, 'Mapper', r.body);
    assert.equal(env.FEDAUTH_LANGUAGE, 'de-CH', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_LANGUAGE, 'de-CH', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_GIVEN_NAME, 'Uma', r.body);
    for (const attr of Object.keys(EXPECTED).filter((a) => a !== 'EMAIL')) {
      assert.equal(env[`FEDAUTH_${attr}`], undefined, `no FEDAUTH_${attr} without a ClaimMap\n${r.body}`);
    }
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
