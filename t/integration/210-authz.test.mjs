// SPDX-License-Identifier: Apache-2.0
// Authorization providers (issue4.md): Require fedauth-role, fedauth-claim,
// fedauth-idp, alone and inside <RequireAll>, <RequireAny> and with
// Require not; a signed-in user who is refused gets a 403 page ("signed in
// as <user>", <code>access_denied</code>), never a new sign-in; without a
// session the browser is sent to sign in; ErrorDocument 403 sees
// FEDAUTH_ERROR=access_denied. Two IdPs (a, b), one provider each.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  startSite, Browser, parseEnv, dump, errorCodes, htmlText, testUser, locationFor,
  perProviderLocations, assertToIdp, assertToChooser, STATE_COOKIE_RE, sessionCookiesSet,
  isDeletion, SESSION_COOKIE, writeHttpdConfig, configTest, removeDir,
} from '../lib/index.mjs';

const GROUP_MAPS = `GroupsClaim groups
GroupMap "admins" admin
GroupMap "editors" editor
GroupMap "guests" guest
`;

const USERS_A = [
  testUser('ada', 'a', { groups: ['admins'] }),
  testUser('eve', 'a', { groups: ['editors'], projects: ['gemini', 'apollo-2'], level: 7 }),
  testUser('ed', 'a', { groups: ['editors'], email_verified: false, preferred_username: 'ed' }),
  testUser('gus', 'a', { groups: ['guests', 'editors'] }),
  testUser('pat', 'a', {
    groups: [], projects: ['apollo', 'gemini'], level: 42, department: 'Research',
  }),
];
const USERS_B = [
  testUser('bruno', 'b', { groups: [] }),
  testUser('bea', 'b', { groups: ['admins'] }),
];
const IDP_OF = Object.fromEntries([...USERS_A.map((u) => [u.username, 'a']), ...USERS_B.map((u) => [u.username, 'b'])]);

/** <Location /p/<name>/> with AuthType FedAuth and the given Require lines. */
const loc = (name, body, extra = '') => `<Location /p/${name}/>
    AuthType FedAuth
${extra}${body.split('\n').filter(Boolean).map((l) => `    ${l}`).join('\n')}
</Location>
`;

/** The protected locations /p/<prefix><name>/, each with `extra` added. */
const protectedLocations = (prefix = '', extra = '') => [
  loc(`${prefix}admin`, 'Require fedauth-role admin', extra),
  loc(`${prefix}admina`, 'Require fedauth-role admin', `    FedAuthProviders a\n${extra}`),
  loc(`${prefix}adminoreditor`, 'Require fedauth-role admin editor', extra),
  loc(`${prefix}allof`, `<RequireAll>
    Require fedauth-role editor
    Require fedauth-claim email_verified:true
</RequireAll>`, extra),
  loc(`${prefix}anyof`, `<RequireAny>
    Require fedauth-role admin
    Require fedauth-idp b
</RequireAny>`, extra),
  loc(`${prefix}notguest`, `<RequireAll>
    Require valid-user
    Require not fedauth-role guest
</RequireAll>`, extra),
  loc(`${prefix}projects`, 'Require fedauth-claim projects:apollo', extra),
  loc(`${prefix}level`, 'Require fedauth-claim level:42', extra),
  loc(`${prefix}verified`, 'Require fedauth-claim email_verified:true', extra),
  loc(`${prefix}unverified`, 'Require fedauth-claim email_verified:false', extra),
  loc(`${prefix}dept`, 'Require fedauth-claim department:Sales department:Research', extra),
  loc(`${prefix}idpa`, 'Require fedauth-idp a', extra),
  loc(`${prefix}idpb`, 'Require fedauth-idp b', extra),
  loc(`${prefix}idpab`, 'Require fedauth-idp a b', extra),
  loc(`${prefix}errdoc`, 'Require fedauth-role admin', `    ErrorDocument 403 /cgi-bin/err.cgi\n${extra}`),
].join('\n');

const LOCATIONS = [
  perProviderLocations(['a', 'b']),
  protectedLocations(),
  // httpd's own switch for a 403 instead of a 401 when a signed-in user is
  // refused (mod_authz_core): the module's page and logic, whatever httpd's
  // default does
  protectedLocations('f-', '    AuthzSendForbiddenOnFailure On\n'),
].join('\n');

/** Who may enter which location (every other user of the table: 403). */
const ACCESS = {
  admin: ['ada', 'bea'],
  adminoreditor: ['ada', 'eve', 'ed', 'gus', 'bea'],
  allof: ['eve', 'gus'],
  anyof: ['ada', 'bruno', 'bea'],
  notguest: ['ada', 'eve', 'ed', 'pat', 'bruno', 'bea'],
  projects: ['pat'],
  level: ['pat'],
  verified: ['ada', 'eve', 'gus', 'pat', 'bruno', 'bea'],
  unverified: ['ed'],
  dept: ['pat'],
  idpa: ['ada', 'eve', 'ed', 'gus', 'pat'],
  idpb: ['bruno', 'bea'],
  idpab: ['ada', 'eve', 'ed', 'gus', 'pat', 'bruno', 'bea'],
};

/** err.cgi prints NAME=value lines inside <pre id="env">. */
function errEnv(body) {
  const m = /<pre id="env">\n?([\s\S]*?)<\/pre>/.exec(body);
  return m ? parseEnv(m[1]) : {};
}

describe('Require fedauth-role / fedauth-claim / fedauth-idp', () => {
  let site;
  let base;
  const browsers = {};

  before(async () => {
    site = await startSite({
      idps: [
        { name: 'a', users: USERS_A, providers: [{ id: 'a', extra: GROUP_MAPS }] },
        { name: 'b', users: USERS_B, providers: [{ id: 'b', extra: GROUP_MAPS }] },
      ],
      locationsConf: LOCATIONS,
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  /** A browser signed in as `user` (through that user's IdP), cached. */
  async function as(user) {
    if (browsers[user]) return browsers[user];
    const idp = IDP_OF[user];
    const b = new Browser();
    const r = await b.login(`${base}/p/${idp}/env.cgi`, user, `${user}-pass-${idp}`);
    assert.equal(r.status, 200, `login of ${user}\n${dump(r)}`);
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, user, r.body);
    assert.equal(env.FEDAUTH_IDP, idp, r.body);
    browsers[user] = b;
    return b;
  }

  /** The refusal page of a signed-in user. */
  function assertRefused(r, user, what) {
    assert.equal(r.status, 403, `${what}: 403 for ${user}\n${dump(r)}`);
    assert.equal(r.location, undefined, `${what}: no redirect (to sign in again)\n${dump(r)}`);
    assert.deepEqual(r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name)).map((c) => c.name), [],
      `${what}: no login state cookie: no new sign-in was started\n${dump(r)}`);
    assert.deepEqual(r.setCookies.filter((c) => c.name === SESSION_COOKIE && isDeletion(c)).map((c) => c.header), [],
      `${what}: the session is not ended\n${dump(r)}`);
    assert.match(htmlText(r.body), new RegExp(`signed in as ${user}\\b`, 'i'), `${what}: the page says who is signed in\n${dump(r)}`);
    assert.ok(errorCodes(r.body).includes('access_denied'), `${what}: <code>access_denied</code>\n${dump(r)}`);
    assert.ok(!r.body.includes('FEDAUTH_'), `${what}: not the CGI's output\n${dump(r)}`);
  }

  describe('Require fedauth-role admin', () => {
    it('admin user: 200 and the CGI runs as that user', async () => {
      const r = await (await as('ada')).getOnce(`${base}/p/admin/env.cgi`);
      assert.equal(r.status, 200, dump(r));
      const env = parseEnv(r.body);
      assert.equal(env.REMOTE_USER, 'ada');
      assert.equal(env.FEDAUTH_ROLES, 'admin');
    });

    it('signed in without the role: 403 page "signed in as eve", <code>access_denied</code>, no redirect to the IdP', async () => {
      const b = await as('eve');
      const r = await b.getOnce(`${base}/p/admin/env.cgi`);
      assertRefused(r, 'eve', '/p/admin/');
      // following redirects changes nothing: there are none
      const followed = await b.get(`${base}/p/admin/env.cgi`);
      assert.equal(followed.status, 403, dump(followed));
      assert.equal(followed.hops.length, 1, dump(followed));
    });

    it('the refused user is still signed in', async () => {
      const r = await (await as('eve')).getOnce(`${base}/p/a/env.cgi`);
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'eve');
    });

    it('without a session: 302 straight to the IdP (FedAuthProviders a)', async () => {
      const r = await new Browser().getOnce(`${base}/p/admina/env.cgi`);
      await assertToIdp(r, site, 'a', 'no session at /p/admina/: ');
    });

    it('without a session, a location open to both providers: 302 to the chooser, as for Require valid-user', async () => {
      const r = await new Browser().getOnce(`${base}/p/anyof/env.cgi`);
      assertToChooser(r, site, '/p/anyof/env.cgi', null, 'no session at /p/anyof/: ');
      const v = await new Browser().getOnce(`${base}/p/idpb/env.cgi`);
      assertToChooser(v, site, '/p/idpb/env.cgi', null, 'no session at /p/idpb/: ');
    });

    it('a spoofed X-FedAuth-Roles: admin header helps neither a visitor without a session nor a signed-in user', async () => {
      const r = await new Browser().getOnce(`${base}/p/admina/env.cgi`, { headers: { 'X-FedAuth-Roles': 'admin', 'X-FedAuth-User': 'ada' } });
      await assertToIdp(r, site, 'a');
      const e = await (await as('eve')).getOnce(`${base}/p/admin/env.cgi`, { headers: { 'X-FedAuth-Roles': 'admin' } });
      assertRefused(e, 'eve', '/p/admin/ with a spoofed X-FedAuth-Roles');
    });

    it('the login of a user without the role, started at the admin page, ends in the 403 page (not a login loop)', async () => {
      const b = new Browser();
      const r = await b.login(`${base}/p/admina/env.cgi`, 'pat', 'pat-pass-a');
      assert.equal(r.status, 403, dump(r));
      assert.ok(sessionCookiesSet(r.setCookiesAll).length >= 1, `signed in on the way\n${dump(r)}`);
      assert.match(htmlText(r.body), /signed in as pat\b/i, dump(r));
      assert.ok(errorCodes(r.body).includes('access_denied'), dump(r));
      const again = await b.getOnce(`${base}/p/admina/env.cgi`);
      assertRefused(again, 'pat', '/p/admina/ again');
    });
  });

  /** Every user at /p/<name>/: first the statuses (all at once), then the pages. */
  async function matrix(name, allowed) {
    const got = {};
    const want = {};
    const res = {};
    for (const user of Object.keys(IDP_OF)) {
      res[user] = await (await as(user)).getOnce(`${base}/p/${name}/env.cgi`);
      got[user] = res[user].status;
      want[user] = allowed.includes(user) ? 200 : 403;
    }
    assert.deepEqual(got, want, `status per user at /p/${name}/ (${allowed.join(', ')} get in, everyone else 403)`);
    for (const user of Object.keys(IDP_OF)) {
      if (allowed.includes(user)) assert.equal(parseEnv(res[user].body).REMOTE_USER, user, res[user].body);
      else assertRefused(res[user], user, `/p/${name}/`);
    }
  }

  describe('who gets in where', () => {
    for (const [name, allowed] of Object.entries(ACCESS)) {
      it(`/p/${name}/: ${allowed.join(', ')} get in; everyone else 403`, () => matrix(name, allowed));
    }
  });

  describe('who gets in where, with AuthzSendForbiddenOnFailure On', () => {
    for (const [name, allowed] of Object.entries(ACCESS)) {
      it(`/p/f-${name}/: ${allowed.join(', ')} get in; everyone else 403`, () => matrix(`f-${name}`, allowed));
    }
  });

  describe('ErrorDocument 403', () => {
    it('a refused user sees the administrator\'s page with FEDAUTH_ERROR=access_denied', async () => {
      const r = await (await as('eve')).getOnce(`${base}/p/errdoc/env.cgi`);
      assert.equal(r.status, 403, dump(r));
      assert.equal(r.location, undefined, dump(r));
      assert.match(r.body, /id="custom-error-page"/, dump(r));
      assert.equal(errEnv(r.body).FEDAUTH_ERROR, 'access_denied', `FEDAUTH_ERROR in the ErrorDocument's environment:\n${r.body}`);
    });

    it('an allowed user gets the page itself', async () => {
      const r = await (await as('ada')).getOnce(`${base}/p/errdoc/env.cgi`);
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'ada');
    });

    it('with AuthzSendForbiddenOnFailure On: the administrator\'s page with FEDAUTH_ERROR=access_denied', async () => {
      const r = await (await as('eve')).getOnce(`${base}/p/f-errdoc/env.cgi`);
      assert.equal(r.status, 403, dump(r));
      assert.equal(r.location, undefined, dump(r));
      assert.match(r.body, /id="custom-error-page"/, dump(r));
      assert.equal(errEnv(r.body).FEDAUTH_ERROR, 'access_denied', r.body);
    });
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});

describe('Require fedauth-idp naming an unknown provider stops httpd at start', () => {
  let dir;
  after(() => removeDir(dir));

  it('apache2 -t fails naming the directive and file:line', async () => {
    const w = await writeHttpdConfig({
      providersConf: `FedAuthSecret "a long enough test passphrase for config tests"
<FedAuthProvider corp>
    Issuer        http://127.0.0.1:9
    ClientID      client-corp
    ClientSecret  secret-corp
</FedAuthProvider>`,
      locationsConf: `<Location /protected>
    AuthType FedAuth
    Require fedauth-idp corp nosuchidp
</Location>`,
    });
    dir = w.dir;
    const res = await configTest(w.confFile);
    const out = `${res.stdout}${res.stderr}`;
    assert.notEqual(res.code, 0, `apache2 -t must fail:\n${out}`);
    assert.match(out, /nosuchidp/, out);
    const lines = fs.readFileSync(w.confFile, 'utf8').split('\n');
    const line = lines.findIndex((l) => l.includes('nosuchidp')) + 1;
    const name = path.basename(w.confFile).replace('.', '\\.');
    const hits = [...out.matchAll(new RegExp(`(?:${name}:(\\d+))|(?:line (\\d+) of [^\\s:]*${name})`, 'g'))].map((m) => Number(m[1] || m[2]));
    assert.ok(hits.includes(line), `names ${path.basename(w.confFile)}:${line}; got ${hits.join(', ') || 'none'}:\n${out}`);
  });
});
