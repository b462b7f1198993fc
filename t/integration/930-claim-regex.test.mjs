// SPDX-License-Identifier: Apache-2.0
// Require fedauth-claim name~regex (issue 23, richer claim rules): real IdP
// users whose claims try what an attacker would (a look-alike domain as a
// suffix, a NUL or a newline inside the value, a value made to backtrack a
// regex for a long time); anchored only as written; any value of an array
// claim; several rules on one line OR'ed with name:value; a claim the user
// does not have; no session -> to the IdP; the step limit (FA01400, the
// metric); `apache2 -t` refuses a bad regex naming the directive and
// file:line.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  startSite, Browser, parseEnv, dump, errorCodes, htmlText, testUser, perProviderLocations,
  assertToIdp, STATE_COOKIE_RE, writeHttpdConfig, configTest, removeDir,
} from '../lib/index.mjs';

const USERS = [
  testUser('ann', 'a', {
    email: 'ann@corp.example', projects: ['gemini', 'apollo-7'], department: 'Research',
  }),
  // a look-alike domain that ends with the wanted one
  testUser('eve', 'a', { email: 'eve@corp.example.evil.example', projects: ['apollo-7x'] }),
  // a NUL inside: the part before it would equal (or match) the rule
  testUser('nul', 'a', { email: 'nul@corp.example\u0000.evil.example', department: 'Research\u0000x' }),
  // a newline at the end: `$` must not match before it
  testUser('nel', 'a', { email: 'nel@corp.example\n' }),
  // no department claim, other projects; a department in the OR'ed rule
  testUser('bob', 'a', { email: 'bob@other.example', department: 'Research' }),
  testUser('amy', 'a', { email: 'amy@other.example', projects: [] }),
  // a value made to backtrack ^(a+)+$ for as long as PCRE lets it
  testUser('mal', 'a', { email: 'mal@other.example', nick: `${'a'.repeat(4000)}!`, nicks: Array.from({ length: 200 }, () => `${'a'.repeat(30)}!`) }),
];
// nul cannot sign in at all (its ID token is refused): not in the matrix
const ALL = USERS.map((u) => u.username).filter((u) => u !== 'nul');

const loc = (name, body) => `<Location /p/${name}/>
    AuthType FedAuth
${body.split('\n').filter(Boolean).map((l) => `    ${l}`).join('\n')}
</Location>
`;

const LOCATIONS = [
  perProviderLocations(['a']),
  loc('corp', 'Require fedauth-claim email~^[^@]+@corp\\.example$'),
  loc('loose', 'Require fedauth-claim email~@corp\\.example'),
  loc('proj', 'Require fedauth-claim projects~^apollo-[0-9]+$'),
  loc('either', 'Require fedauth-claim email~^.+@corp\\.example$ department:Research'),
  loc('exact', 'Require fedauth-claim email:nul@corp.example'),
  loc('dept', 'Require fedauth-claim department~^Research$'),
  loc('icase', 'Require fedauth-claim email~(?i)^ANN@CORP\\.EXAMPLE$'),
  loc('quoted', 'Require fedauth-claim "name~^Ann of a$"'),
  loc('redos', 'Require fedauth-claim nick~^(a+)+$ nicks~^(a+)+$'),
  loc('both', `<RequireAll>
    Require fedauth-claim email~^.+@corp\\.example$
    Require fedauth-claim projects~^apollo-
</RequireAll>`),
  loc('notredos', `<RequireAll>
    Require valid-user
    Require not fedauth-claim nick~^(a+)+$
</RequireAll>`),
  loc('notcorp', `<RequireAll>
    Require valid-user
    Require not fedauth-claim email~@corp\\.example$
</RequireAll>`),
  `FedAuthMetrics On
<Location /fedauth/metrics>
    Require all granted
</Location>
`,
].join('\n');

// .htaccess (AllowOverride AuthConfig): httpd reads the file, and so
// compiles its patterns, with each request
const HTACCESS = {
  corp: 'AuthType FedAuth\nRequire fedauth-claim email~^[^@]+@corp\\.example$\n',
  bad: 'AuthType FedAuth\nRequire fedauth-claim email~^(\n',
};

/** Who may enter which location (everyone else: 403). */
const ACCESS = {
  corp: ['ann'],
  loose: ['ann', 'eve', 'nel'],
  proj: ['ann'],
  either: ['ann', 'bob'],
  exact: [],
  dept: ['ann', 'bob'],
  icase: ['ann'],
  quoted: ['ann'],
  both: ['ann'],
  notcorp: ['eve', 'nel', 'bob', 'amy', 'mal'],
};

describe('Require fedauth-claim name~regex', () => {
  let site;
  let base;
  const browsers = {};

  before(async () => {
    site = await startSite({
      idps: [{ name: 'a', users: USERS, providers: [{ id: 'a' }] }],
      locationsConf: ({ dir }) => `${LOCATIONS}
<Directory "${dir}/htdocs/h">
    AllowOverride AuthConfig
</Directory>
`,
    });
    base = site.base;
    for (const [name, text] of Object.entries(HTACCESS)) {
      const d = path.join(site.httpd.dir, 'htdocs', 'h', name);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, '.htaccess'), text, { mode: 0o644 });
      fs.writeFileSync(path.join(d, 'index.html'), `page ${name}\n`, { mode: 0o644 });
    }
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  async function as(user) {
    if (browsers[user]) return browsers[user];
    const b = new Browser();
    const r = await b.login(`${base}/p/a/env.cgi`, user, `${user}-pass-a`);
    assert.equal(r.status, 200, `login of ${user}\n${dump(r)}`);
    assert.equal(parseEnv(r.body).REMOTE_USER, user, r.body);
    browsers[user] = b;
    return b;
  }

  function assertRefused(r, user, what) {
    assert.equal(r.status, 403, `${what}: 403 for ${user}\n${dump(r)}`);
    assert.equal(r.location, undefined, `${what}: no redirect\n${dump(r)}`);
    assert.deepEqual(r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name)), [], `${what}: no new sign-in`);
    assert.match(htmlText(r.body), new RegExp(`signed in as ${user}\\b`, 'i'), `${what}\n${dump(r)}`);
    assert.ok(errorCodes(r.body).includes('access_denied'), `${what}\n${dump(r)}`);
    assert.ok(!r.body.includes('REMOTE_USER'), `${what}: not the CGI's output`);
  }

  describe('who gets in where', () => {
    for (const [name, allowed] of Object.entries(ACCESS)) {
      it(`/p/${name}/: ${allowed.join(', ') || 'nobody'} get in; everyone else 403`, async () => {
        const got = {};
        const want = {};
        const res = {};
        for (const user of ALL) {
          res[user] = await (await as(user)).getOnce(`${base}/p/${name}/env.cgi`);
          got[user] = res[user].status;
          want[user] = allowed.includes(user) ? 200 : 403;
        }
        assert.deepEqual(got, want, `status per user at /p/${name}/`);
        for (const user of ALL) {
          if (allowed.includes(user)) assert.equal(parseEnv(res[user].body).REMOTE_USER, user);
          else assertRefused(res[user], user, `/p/${name}/`);
        }
      });
    }
  });

  it('a look-alike domain as a suffix (eve@corp.example.evil.example) is refused by the anchored rule', async () => {
    assertRefused(await (await as('eve')).getOnce(`${base}/p/corp/env.cgi`), 'eve', '/p/corp/');
  });

  it('a NUL inside a claim value: the sign-in is refused (invalid_token), so no rule ever sees the part before it', async () => {
    const b = new Browser();
    const r = await b.login(`${base}/p/a/env.cgi`, 'nul', 'nul-pass-a');
    assert.equal(r.status, 401, dump(r));
    assert.ok(errorCodes(r.body).includes('invalid_token'), dump(r));
    for (const name of ['exact', 'dept', 'a']) {
      const p = await b.getOnce(`${base}/p/${name}/env.cgi`);
      await assertToIdp(p, site, 'a', `no session at /p/${name}/: `);
    }
  });

  it('the refusal page names the rule, escaped', async () => {
    const r = await (await as('amy')).getOnce(`${base}/p/corp/env.cgi`);
    assert.match(htmlText(r.body), /email~\^\[\^@\]\+@corp\\\.example\$/, dump(r));
  });

  it('without a session: 302 to the IdP, as for name:value', async () => {
    const r = await new Browser().getOnce(`${base}/p/corp/env.cgi`);
    await assertToIdp(r, site, 'a', 'no session at /p/corp/: ');
  });

  it('a regex that backtracks badly over a long value: refused fast (PCRE step limit), FA01400 logged, counted', async (t) => {
    const b = await as('mal');
    const t0 = Date.now();
    const r = await b.getOnce(`${base}/p/redos/env.cgi`);
    const ms = Date.now() - t0;
    t.diagnostic(`/p/redos/ answered in ${ms} ms`);
    // a pattern that gave up decides nothing: the request fails
    assert.equal(r.status, 500, dump(r));
    assert.doesNotMatch(r.body, /REMOTE_USER/, dump(r));
    // the others, who have no such claim, are refused as usual
    assertRefused(await (await as('ann')).getOnce(`${base}/p/redos/env.cgi`), 'ann', '/p/redos/');
    // 37 ms here with the limit; 488 ms with PCRE's default (10 million steps)
    assert.ok(ms < 300, `answered in ${ms} ms`);
    // one give-up per rule per request, not one per value
    const lines = site.errorLog().split('\n').filter((l) => l.includes('FA01400'));
    assert.ok(lines.length >= 2 && lines.length <= 2 * 3, `FA01400 lines:\n${lines.join('\n')}`);
    assert.match(lines[0], /nick~\^\(a\+\)\+\$: the regex gave up on a value of 4001 bytes/);
    const m = await new Browser().getOnce(`${base}/fedauth/metrics`);
    const n = Number((/^fedauth_claim_regex_gave_up_total (\d+)$/m.exec(m.body) || [])[1]);
    assert.ok(n >= 2, `fedauth_claim_regex_gave_up_total ${n}\n${m.body.slice(0, 200)}`);
  });

  it('Require not with a regex that gives up: mal (whose claim makes it choke) is not let in (500); the others pass', async () => {
    const r = await (await as('mal')).getOnce(`${base}/p/notredos/env.cgi`);
    assert.equal(r.status, 500, dump(r));
    assert.doesNotMatch(r.body, /REMOTE_USER/, dump(r));
    for (const user of ['ann', 'eve']) {
      const ok = await (await as(user)).getOnce(`${base}/p/notredos/env.cgi`);
      assert.equal(ok.status, 200, `${user}: ${dump(ok)}`);
      assert.equal(parseEnv(ok.body).REMOTE_USER, user);
    }
  });

  it('in .htaccess: the same rule grants ann and refuses eve; a bad pattern is a 500 naming the file', async () => {
    const a = await (await as('ann')).getOnce(`${base}/h/corp/index.html`);
    assert.equal(a.status, 200, dump(a));
    assert.match(a.body, /page corp/);
    assertRefused(await (await as('eve')).getOnce(`${base}/h/corp/index.html`), 'eve', '/h/corp/');
    const b = await (await as('ann')).getOnce(`${base}/h/bad/index.html`);
    assert.equal(b.status, 500, dump(b));
    assert.doesNotMatch(b.body, /page bad/);
    assert.match(site.errorLog(), /h\/bad\/\.htaccess: Require fedauth-claim email~\^\(: not a valid regex \(refused; PCRE stopped at character 3\)/);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    // httpd logs an .htaccess error at core:alert
    const allowed = [/h\/bad\/\.htaccess: Require fedauth-claim/];
    assert.deepEqual(site.troubles(allowed), [], `trouble:\n${site.troubles(allowed).join('\n')}`);
  });
});

describe('Require fedauth-claim name~regex: apache2 -t refuses a bad rule, naming the directive and file:line', () => {
  const dirs = [];
  after(() => dirs.forEach((d) => removeDir(d)));

  const CASES = [
    ['email~^(unclosed', /fedauth-claim email~\^\(unclosed: not a valid regex \(refused; PCRE stopped at character 11\)/],
    ['email~', /fedauth-claim email~: the regex is empty/],
    ['~^x$', /'~\^x\$' is not name:value or name~regex/],
    ['"email~(*LIMIT_MATCH=999999999)x"', /may not start with PCRE's \(\* options/],
  ];
  for (const [rule, want] of CASES) {
    it(`Require fedauth-claim ${rule}`, async () => {
      const w = await writeHttpdConfig({
        providersConf: `FedAuthSecret "a long enough test passphrase for config tests"
<FedAuthProvider corp>
    Issuer        http://127.0.0.1:9
    ClientID      client-corp
    ClientSecret  secret-corp
</FedAuthProvider>`,
        locationsConf: `<Location /protected>
    AuthType FedAuth
    Require fedauth-claim ${rule}
</Location>`,
      });
      dirs.push(w.dir);
      const res = await configTest(w.confFile);
      const out = `${res.stdout}${res.stderr}`;
      assert.notEqual(res.code, 0, `apache2 -t must fail:\n${out}`);
      assert.match(out, want, out);
      const lines = fs.readFileSync(w.confFile, 'utf8').split('\n');
      const line = lines.findIndex((l) => l.includes('Require fedauth-claim')) + 1;
      const name = path.basename(w.confFile).replace('.', '\\.');
      const hits = [...out.matchAll(new RegExp(`(?:${name}:(\\d+))|(?:line (\\d+) of [^\\s:]*${name})`, 'g'))].map((m) => Number(m[1] || m[2]));
      assert.ok(hits.includes(line), `names ${path.basename(w.confFile)}:${line}; got ${hits.join(', ') || 'none'}:\n${out}`);
    });
  }
});
