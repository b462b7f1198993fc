// SPDX-License-Identifier: Apache-2.0
// Entra ID group overage (issue 22): a user in more groups than fit in a
// token gets no groups claim but `_claim_names`/`_claim_sources` (or
// `hasgroups: true`). With `GroupsSource graph <url>` the callback asks
// Microsoft Graph's getMemberObjects with the user's access token (the
// test IdP's stand-in, t/idp/graph.mjs, checks that token against the
// IdP's own store), follows @odata.nextLink pages of the same origin only,
// maps the ids with GroupMap, and keeps only the roles. Every refusal
// (403, 429 twice, timeout, bad JSON, a nextLink elsewhere) is the error
// page 502 `groups_unavailable` with no session: never a sign-in without
// the user's roles.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  startSite, Browser, parseEnv, dump, writeHttpdConfig, configTest, requireModule,
  removeDir, locationFor, loginUntilCallback, sessionCookiesSet,
} from '../lib/index.mjs';
import { codeFlow, jsonOf, spaCallback, withSpaCallback } from '../lib/tokens.mjs';
import { assertRefused, logLines } from '../lib/hostile.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';

// Graph ids (GUIDs as Entra ID has them); 5 ids in pages of 2: 3 pages.
const G = [1, 2, 3, 4, 5].map((n) => `0000000${n}-aaaa-bbbb-cccc-00000000000${n}`);

const OLGA = {
  username: 'olga',
  password: 'olga-pw',
  claims: {
    sub: 'olga-sub',
    preferred_username: 'olga',
    // Entra ID's overage claim (v1 shape), in place of groups
    _claim_names: { groups: 'src1' },
    _claim_sources: { src1: { endpoint: 'https://graph.windows.net/tid/users/olga-sub/getMemberObjects' } },
  },
};
const HANS = {
  username: 'hans',
  password: 'hans-pw',
  claims: { sub: 'hans-sub', preferred_username: 'hans', hasgroups: true },
};
const NORA = {
  username: 'nora',
  password: 'nora-pw',
  claims: { sub: 'nora-sub', preferred_username: 'nora', groups: ['g-normal', G[2]] },
};

const PROVIDER = (ctx) => `    GroupsClaim groups
    GroupMap "${G[2]}" admin
    GroupMap "${G[4]}" editor
    GroupMap "g-normal" normal
    GroupsSource graph ${ctx.idps.main.issuer}/graph/v1.0
`;

const METRICS_ON = `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthMetrics On
`;

describe('GroupsSource graph: Entra ID group overage', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({
      idps: [{
        name: 'main',
        users: [OLGA, HANS, NORA],
        providers: [{ id: 'ent', extra: PROVIDER }],
        idpConfig: { graph: { groups: { 'olga-sub': G, 'hans-sub': [G[4]] }, pageSize: 2 } },
      }],
      httpTimeout: 3,
      serverConf: METRICS_ON,
      locationsConf: `${locationFor('/p/')}
<Location /fedauth/metrics>
    Require ip 127.0.0.1
</Location>
`,
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const idp = () => site.idps.main;
  const graphMode = (mode, more = {}) => idp().admin('/_admin/graph', { method: 'POST', body: { mode, ...more } });
  const graphCounts = () => idp().admin('/_admin/graph');
  async function signIn(user, pw) {
    const b = new Browser();
    const t0 = Date.now();
    const r = await b.login(`${base}/p/ent/env.cgi`, user, pw);
    return { r, b, env: parseEnv(r.body), ms: Date.now() - t0 };
  }
  async function noSession(b) {
    const s = await b.request(`${base}/fedauth/session`);
    assert.equal(s.status, 401, 'no session after a refused sign-in');
  }

  it('overage user (_claim_names): roles from 5 ids over 3 pages of Graph; the ids are not kept', async () => {
    await graphMode(null);
    const { r, b, env } = await signIn('olga', 'olga-pw');
    assert.equal(r.status, 200, dump(r));
    assert.equal(env.REMOTE_USER, 'olga', r.body);
    assert.equal(env.FEDAUTH_ROLES, 'admin,editor', r.body);
    const c = await graphCounts();
    assert.equal(c.requests, 3, JSON.stringify(c));
    assert.equal(c.pages, 3, JSON.stringify(c));
    assert.deepEqual(c.auth, ['ok', 'ok', 'ok'], 'Graph saw a real access token of the IdP each time');
    const s = await b.request(`${base}/fedauth/session`);
    assert.equal(s.status, 200);
    for (const id of G) assert.ok(!s.body.includes(id), `group id ${id} not in the session: ${s.body}`);
    for (const id of G) assert.ok(!r.body.includes(id), `group id ${id} not passed on: ${r.body}`);
    assert.match(site.errorLog(), /FA01051: provider ent: group overage: 5 group id\(s\) from http:\/\/127\.0\.0\.1:\d+\/graph\/v1\.0/);
  });

  it('overage user (hasgroups: true): roles from Graph', async () => {
    await graphMode(null);
    const { r, env } = await signIn('hans', 'hans-pw');
    assert.equal(r.status, 200, dump(r));
    assert.equal(env.FEDAUTH_ROLES, 'editor', r.body);
    assert.equal((await graphCounts()).requests, 1);
  });

  it('a user without overage: roles from the groups claim, Graph not called', async () => {
    await graphMode(null);
    const { r, env } = await signIn('nora', 'nora-pw');
    assert.equal(r.status, 200, dump(r));
    assert.equal(env.FEDAUTH_ROLES, 'admin,normal', r.body);
    assert.equal((await graphCounts()).requests, 0, 'no request to Graph');
  });

  it('Graph answers 403 Authorization_RequestDenied: 502 groups_unavailable, no session, the log says why', async () => {
    await graphMode('deny');
    const { r, b } = await signIn('olga', 'olga-pw');
    assertRefused(r, { status: 502, code: 'groups_unavailable', id: 'ent', browser: b, site });
    assert.match(r.body, /group memberships could not be read/);
    await noSession(b);
    assert.ok(logLines(site, /FA01050: provider ent: group overage: the lookup at .* failed \(denied\).*403 Authorization_RequestDenied.*GroupMember\.Read\.All/).length >= 1,
      site.errorLog());
  });

  it('Graph answers 429 with Retry-After: 1 once: waited out, then the roles', async () => {
    await graphMode('throttle-once', { retryAfter: 1 });
    const { r, env, ms } = await signIn('olga', 'olga-pw');
    assert.equal(r.status, 200, dump(r));
    assert.equal(env.FEDAUTH_ROLES, 'admin,editor', r.body);
    assert.equal((await graphCounts()).requests, 4, 'the 429, then 3 pages');
    assert.ok(ms >= 1000, `waited for Retry-After (${ms} ms)`);
  });

  it('Graph answers 429 twice: 502 groups_unavailable after one retry, no session', async () => {
    await graphMode('throttle', { retryAfter: 1 });
    const { r, b } = await signIn('olga', 'olga-pw');
    assertRefused(r, { status: 502, code: 'groups_unavailable', id: 'ent', browser: b, site });
    assert.equal((await graphCounts()).requests, 2, 'tried once more, not again');
    assert.match(site.errorLog(), /failed \(throttled\)/);
  });

  it('a Retry-After longer than FedAuthHTTPTimeout is not waited for', async () => {
    await graphMode('throttle', { retryAfter: 30 });
    const { r, b, ms } = await signIn('olga', 'olga-pw');
    assertRefused(r, { status: 502, code: 'groups_unavailable', id: 'ent', browser: b, site });
    assert.equal((await graphCounts()).requests, 1);
    assert.ok(ms < 10000, `${ms} ms`);
  });

  it('Graph too slow: 502 groups_unavailable within FedAuthHTTPTimeout (3 s) + 1 s', async () => {
    await graphMode('slow', { delayMs: 8000 });
    const b = new Browser();
    const cb = await loginUntilCallback(b, `${base}/p/ent/env.cgi`, base, 'ent', 'olga', 'olga-pw');
    const t0 = Date.now();
    const r = await b.request(cb);
    const ms = Date.now() - t0;
    assertRefused(r, { status: 502, code: 'groups_unavailable', id: 'ent', browser: b, site });
    assert.ok(ms < 4000, `the callback answered in ${ms} ms`);
    assert.match(site.errorLog(), /failed \(unreachable\)/);
  });

  it('an @odata.nextLink to another origin is not followed: 502 groups_unavailable', async () => {
    await graphMode('foreign-next');
    const { r, b } = await signIn('olga', 'olga-pw');
    assertRefused(r, { status: 502, code: 'groups_unavailable', id: 'ent', browser: b, site });
    assert.equal((await graphCounts()).requests, 1, 'the access token went nowhere else');
    assert.match(site.errorLog(), /failed \(refused_link\).*another origin.*http:\/\/localhost:\d+\/graph/);
  });

  it('Graph answers broken JSON: 502 groups_unavailable', async () => {
    await graphMode('bad-json');
    const { r, b } = await signIn('olga', 'olga-pw');
    assertRefused(r, { status: 502, code: 'groups_unavailable', id: 'ent', browser: b, site });
  });

  it('metrics: fedauth_graph_lookups_total by outcome; refused sign-ins counted as groups_unavailable', async () => {
    await graphMode(null);
    const m = await new Browser().request(`${base}/fedauth/metrics`);
    assert.equal(m.status, 200, dump(m));
    const val = (o) => Number((new RegExp(`^fedauth_graph_lookups_total\\{provider="ent",outcome="${o}"\\} (\\d+)$`, 'm').exec(m.body) || [])[1]);
    assert.equal(val('ok'), 3, m.body);
    assert.equal(val('denied'), 1);
    assert.equal(val('throttled'), 2);
    assert.equal(val('unreachable'), 1);
    assert.equal(val('refused_link'), 1);
    assert.equal(val('bad_response'), 1);
    assert.match(m.body, /^fedauth_signins_total\{provider="ent",outcome="groups_unavailable"\} 6$/m);
  });
});

describe('GroupsSource graph: sign-ins without an access token', () => {
  let site;

  before(async () => {
    site = await startSite({
      idps: [{
        name: 'main',
        users: [OLGA, NORA],
        providers: [{ id: 'ent', clientExtra: withSpaCallback, extra: PROVIDER }],
        idpConfig: { graph: { groups: { 'olga-sub': G } } },
      }],
      serverConf: 'FedAuthTokenLogin On\n',
      locationsConf: locationFor('/p/'),
    });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const login = async (user, password) => {
    const idp = site.idps.main;
    const client = site.clients.ent;
    const t = await codeFlow(idp, client, { redirectUri: spaCallback(client), user, password });
    return new Browser().request(`${site.base}/fedauth/authenticate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ id_token: t.id_token, nonce: t.nonce }).toString(),
    });
  };

  it('token login with an overage ID token: 401 groups_unavailable, no session (never mapped without groups)', async () => {
    const r = await login('olga', 'olga-pw');
    assert.equal(r.status, 401, dump(r));
    assert.equal(jsonOf(r).error, 'groups_unavailable', r.body);
    assert.deepEqual(sessionCookiesSet(r.setCookies), []);
    assert.equal((await site.idps.main.admin('/_admin/graph')).requests, 0);
  });

  it('control: token login of a user with a groups claim', async () => {
    const r = await login('nora', 'nora-pw');
    assert.equal(r.status, 200, dump(r));
    assert.deepEqual(jsonOf(r).roles, ['admin', 'normal']);
  });
});

describe('GroupsSource: apache2 -t', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));

  async function check(lines) {
    requireModule();
    const { dir, confFile } = await writeHttpdConfig({
      providersConf: `<FedAuthProvider ent>
    Issuer        http://127.0.0.1:9/ent
    ClientID      client-ent
    ClientSecret  secret-ent
    GroupMap      "g" role
${lines}
</FedAuthProvider>`,
      locationsConf: locationFor('/protected'),
    });
    dirs.push(dir);
    const res = await configTest(confFile);
    const text = fs.readFileSync(confFile, 'utf8').split('\n');
    return { res, out: `${res.stdout}${res.stderr}`, line: (s) => text.findIndex((l) => l.includes(s)) + 1, name: path.basename(confFile) };
  }

  for (const good of ['GroupsSource token', 'GroupsSource graph', 'GroupsSource graph https://graph.microsoft.us/v1.0',
    'GroupsSource graph http://127.0.0.1:8080/graph/v1.0']) {
    it(`control: ${good} passes`, async () => {
      const c = await check(`    ${good}`);
      assert.equal(c.res.code, 0, c.out);
    });
  }
  for (const bad of ['GroupsSource graph http://graph.example.com/v1.0', 'GroupsSource graph ftp://graph.example.com',
    'GroupsSource graph https://u:p@graph.microsoft.com/v1.0', 'GroupsSource graph https://graph.microsoft.com/v1.0?x=1',
    'GroupsSource sometimes', 'GroupsSource token https://graph.microsoft.com/v1.0', 'GroupsSource graph a b']) {
    it(`refused: ${bad}`, async () => {
      const c = await check(`    ${bad}`);
      assert.notEqual(c.res.code, 0, c.out);
      assert.match(c.out, /GroupsSource/);
      assert.match(c.out, new RegExp(`${c.name.replace('.', '\\.')}:${c.line(bad)}\\b`), c.out);
    });
  }
  it('refused: GroupsSource graph without GroupMap', async () => {
    requireModule();
    const { dir, confFile } = await writeHttpdConfig({
      providersConf: `<FedAuthProvider ent>
    Issuer        http://127.0.0.1:9/ent
    ClientID      client-ent
    GroupsSource  graph
</FedAuthProvider>`,
      locationsConf: locationFor('/protected'),
    });
    dirs.push(dir);
    const res = await configTest(confFile);
    assert.notEqual(res.code, 0);
    assert.match(`${res.stdout}${res.stderr}`, /GroupsSource graph needs GroupMap/);
  });
});
