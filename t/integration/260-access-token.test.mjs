// SPDX-License-Identifier: Apache-2.0
// Issue 13, tokens for backends: FedAuthPassAccessToken On passes the
// access token from the sign-in (FEDAUTH_ACCESS_TOKEN, X-FedAuth-Access-
// Token, and its expiry) to CGI and proxied backends, only there; a
// client's own X-FedAuth-Access-Token never passes; no token value reaches
// the error log (fedauth:trace8). FedAuthRefreshBeforeExpiry refreshes the
// token (the test IdP issues refresh tokens, rotated at each use, and
// access tokens of ACCESS_TTL s) once across all processes and hosts: the
// embedded store with the harness's two worker processes, and two hosts
// sharing one Redis (with per-process copies of sessions), each meeting a
// burst of parallel requests when the token enters the window; exactly one
// refresh_token grant reaches the IdP, and every process then passes the
// new token. A failing refresh (the IdP answers invalid_grant) ends the
// session (FedAuthRefreshFailure end) or passes on without a token (pass).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  startSite, Browser, dump, parseEnv, sleep, writeHttpdConfig, configTest, requireModule, removeDir,
} from '../lib/index.mjs';
import { startEchoBackend } from '../lib/backend.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';
import { startHosts } from '../lib/cluster.mjs';

const ACCESS_TTL = 15;
const BEFORE = 5;
const IDP_CONFIG = { accessTokenTTL: ACCESS_TTL, refreshTokens: { rotate: true } };
const CLIENT = { grant_types: ['authorization_code', 'refresh_token'] };
const INVALID_GRANT = {
  path: '/token',
  method: 'POST',
  status: 400,
  body: JSON.stringify({ error: 'invalid_grant', error_description: 'grant revoked (test)' }),
};

const loc = (path, extra = '') => `<Location ${path}>
    AuthType FedAuth
    Require valid-user
${extra}</Location>
`;

/** The userinfo endpoint's answer to a bearer token: { status, body }. */
async function userinfo(issuer, token) {
  const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) })).json();
  const r = await fetch(meta.userinfo_endpoint, { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: await r.text() };
}

/** Resolves once the token that expires at exp (s) is due (bounded). */
async function untilDue(exp, extraMs = 150) {
  const ms = (exp - BEFORE) * 1000 - Date.now() + extraMs;
  assert.ok(ms < (ACCESS_TTL + 5) * 1000, `waiting ${ms} ms`);
  if (ms > 0) await sleep(ms);
}

const refreshGrants = (events, kind = 'grant.success') => events.filter((e) => e.event === kind && e.grant_type === 'refresh_token');

describe('FedAuthPassAccessToken and refresh, embedded store, two worker processes', () => {
  let site;
  let backend;
  let base;
  let issuer;
  const b = new Browser();
  let first; // { token, exp }
  let second;
  const seen = [];

  before(async () => {
    backend = await startEchoBackend();
    const to = `http://127.0.0.1:${backend.port}/`;
    site = await startSite({
      idps: [{ name: 'default', idpConfig: IDP_CONFIG, providers: [{ id: 'test', clientExtra: CLIENT }] }],
      serverConf: `LogLevel warn fedauth:trace8
FedAuthRefreshBeforeExpiry ${BEFORE}
FedAuthRefreshFailure end`,
      locationsConf: [
        loc('/p/on', '    FedAuthPassAccessToken On\n'),
        loc('/p/off'),
        loc('/app/', '    FedAuthPassAccessToken On\n'),
        loc('/offapp/', '    FedAuthPassAccessToken Off\n'),
      ].join('\n'),
      extraConf: (ctx) => {
        // a directory whose .htaccess tries to pass the token
        const ht = path.join(ctx.dir, 'htdocs', 'ht');
        fs.mkdirSync(ht, { recursive: true });
        fs.writeFileSync(path.join(ht, 'index.html'), 'hello\n');
        fs.writeFileSync(path.join(ht, '.htaccess'), 'AuthType FedAuth\nRequire valid-user\nFedAuthPassAccessToken On\n');
        return `ProxyRequests Off
ProxyPass /app/ ${to}
ProxyPass /offapp/ ${to}
<Directory "${ht}">
    AllowOverride AuthConfig
</Directory>
`;
      },
    });
    base = site.base;
    issuer = site.idp.issuer;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    await backend?.close();
  });

  const env = async (path, headers = {}) => {
    const r = await b.getOnce(`${base}${path}`, { headers });
    assert.equal(r.status, 200, `GET ${path}\n${dump(r)}`);
    return parseEnv(r.body);
  };

  it('a CGI where it is On sees FEDAUTH_ACCESS_TOKEN, a token the IdP accepts, and its expiry; also as the header', async () => {
    const r = await b.login(`${base}/p/on/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    const e = parseEnv(r.body);
    assert.equal(e.REMOTE_USER, 'alice');
    assert.ok(e.FEDAUTH_ACCESS_TOKEN, `no FEDAUTH_ACCESS_TOKEN\n${r.body}`);
    assert.equal(e.HTTP_X_FEDAUTH_ACCESS_TOKEN, e.FEDAUTH_ACCESS_TOKEN);
    const exp = Number(e.FEDAUTH_ACCESS_TOKEN_EXPIRES);
    const now = Date.now() / 1000;
    assert.ok(exp > now + ACCESS_TTL - 5 && exp <= now + ACCESS_TTL + 1, `expiry ${exp}, now ${now}`);
    assert.equal(e.HTTP_X_FEDAUTH_ACCESS_TOKEN_EXPIRES, String(exp));
    const u = await userinfo(issuer, e.FEDAUTH_ACCESS_TOKEN);
    assert.equal(u.status, 200, u.body);
    assert.equal(JSON.parse(u.body).sub, e.FEDAUTH_SUB);
    first = { token: e.FEDAUTH_ACCESS_TOKEN, exp };
    seen.push(first.token);
  });

  it('where it is not On (unset or Off) neither the variable nor the header; a client-sent X-FedAuth-Access-Token never passes', async () => {
    assert.ok(first, 'signed in');
    const forged = { 'X-FedAuth-Access-Token': 'forged-token', 'X-FedAuth-Access-Token-Expires': '1' };
    const e = await env('/p/off/env.cgi', forged);
    assert.equal(e.REMOTE_USER, 'alice');
    for (const k of Object.keys(e)) assert.ok(!/ACCESS_TOKEN/.test(k), `${k}=${e[k]} where it is off`);
    const on = await env('/p/on/env.cgi', forged);
    assert.equal(on.FEDAUTH_ACCESS_TOKEN, first.token);
    assert.equal(on.HTTP_X_FEDAUTH_ACCESS_TOKEN, first.token);
    assert.equal(on.HTTP_X_FEDAUTH_ACCESS_TOKEN_EXPIRES, String(first.exp));
  });

  it('a proxied backend gets X-FedAuth-Access-Token where it is On, once, never the client\'s; none where Off', async () => {
    assert.ok(first, 'signed in');
    const headers = { 'X-FedAuth-Access-Token': 'forged-token', 'x-fedauth-access-token-expires': '1' };
    let r = await b.getOnce(`${base}/app/x`, { headers });
    assert.equal(r.status, 200, dump(r));
    let echo = JSON.parse(r.body);
    assert.equal(echo.headers['x-fedauth-access-token'], first.token, r.body);
    assert.equal(echo.headers['x-fedauth-access-token-expires'], String(first.exp), r.body);
    assert.equal(echo.headers['x-fedauth-user'], 'alice');
    assert.ok(!r.body.includes('forged-token'), r.body);
    r = await b.getOnce(`${base}/offapp/x`, { headers });
    assert.equal(r.status, 200, dump(r));
    echo = JSON.parse(r.body);
    assert.equal(echo.headers['x-fedauth-user'], 'alice');
    for (const k of Object.keys(echo.headers)) assert.ok(!/access-token/i.test(k), `${k} where Off: ${r.body}`);
  });

  it('FedAuthPassAccessToken in .htaccess is refused (500, "not allowed here"): only the server configuration passes tokens', async () => {
    assert.ok(first, 'signed in');
    const r = await b.getOnce(`${base}/ht/index.html`);
    assert.equal(r.status, 500, dump(r));
    assert.ok(!r.body.includes(first.token));
    assert.match(site.errorLog(), /FedAuthPassAccessToken not allowed here/);
  });

  it('in the window: 20 parallel requests (two worker processes) all succeed; exactly one refresh_token grant; a new token the IdP accepts', async () => {
    assert.ok(first, 'signed in');
    await site.idp.clearEvents();
    await untilDue(first.exp);
    const rs = await Promise.all(Array.from({ length: 20 }, () => b.getOnce(`${base}/p/on/env.cgi`)));
    const tokens = new Set();
    for (const r of rs) {
      assert.equal(r.status, 200, dump(r));
      const e = parseEnv(r.body);
      assert.equal(e.REMOTE_USER, 'alice');
      assert.ok(e.FEDAUTH_ACCESS_TOKEN, r.body);
      tokens.add(e.FEDAUTH_ACCESS_TOKEN);
    }
    const grants = refreshGrants(await site.idp.events());
    assert.equal(grants.length, 1, JSON.stringify(await site.idp.events()));
    assert.equal(refreshGrants(await site.idp.events(), 'grant.error').length, 0);
    // every process passes the new token from now on
    for (let i = 0; i < 8; i++) {
      const e = await env('/p/on/env.cgi');
      assert.notEqual(e.FEDAUTH_ACCESS_TOKEN, first.token, 'still the old token');
      if (!second) second = { token: e.FEDAUTH_ACCESS_TOKEN, exp: Number(e.FEDAUTH_ACCESS_TOKEN_EXPIRES) };
      assert.equal(e.FEDAUTH_ACCESS_TOKEN, second.token);
    }
    for (const t of tokens) assert.ok(t === first.token || t === second.token, 'a third token');
    assert.ok(second.exp > first.exp, `new expiry ${second.exp}, old ${first.exp}`);
    const u = await userinfo(issuer, second.token);
    assert.equal(u.status, 200, u.body);
    seen.push(second.token);
    assert.match(site.errorLog(), /FA00801: access token of alice refreshed at test/);
  });

  it('no token value in the error log (LogLevel fedauth:trace8)', () => {
    const log = site.errorLog();
    assert.ok(log.length > 0);
    for (const t of seen) assert.ok(!log.includes(t), 'a token in the error log');
    assert.ok(!log.includes('forged-token'));
  });

  it('FedAuthRefreshFailure end: a refresh the IdP refuses ends the session; the next request goes to sign in', async () => {
    assert.ok(second, 'refreshed');
    await site.idp.admin('/_admin/override', { method: 'POST', body: INVALID_GRANT });
    try {
      await untilDue(second.exp);
      const r = await b.getOnce(`${base}/p/on/env.cgi`);
      assert.equal(r.status, 302, dump(r));
      assert.ok(r.headers.get('location').startsWith(`${issuer}/`), dump(r));
      assert.match(site.errorLog(), /FA00802: refresh of the access token of alice at test failed: token_error: .*invalid_grant.*FedAuthRefreshFailure end: the session ends/);
      const s = await b.getOnce(`${base}/fedauth/session`);
      assert.notEqual(s.status, 200, `the session is still there\n${dump(s)}`);
    } finally {
      await site.idp.admin('/_admin/override', { method: 'POST', body: { path: '/token', body: null } });
    }
  });

  it('FedAuthRefreshFailure pass: the request succeeds without FEDAUTH_ACCESS_TOKEN, and the refresh is not tried again', async () => {
    await site.restartHttpd({ serverConf: `LogLevel warn fedauth:trace8
FedAuthRefreshBeforeExpiry ${BEFORE}
FedAuthRefreshFailure pass` });
    const c = new Browser();
    const r = await c.login(`${base}/p/on/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    const e = parseEnv(r.body);
    assert.ok(e.FEDAUTH_ACCESS_TOKEN, r.body);
    await site.idp.admin('/_admin/override', { method: 'POST', body: INVALID_GRANT });
    try {
      await site.idp.admin('/_admin/hits/clear', { method: 'POST' });
      await untilDue(Number(e.FEDAUTH_ACCESS_TOKEN_EXPIRES));
      for (let i = 0; i < 4; i++) {
        const x = await c.getOnce(`${base}/p/on/env.cgi`);
        assert.equal(x.status, 200, dump(x));
        const xe = parseEnv(x.body);
        assert.equal(xe.REMOTE_USER, 'alice');
        assert.equal(xe.FEDAUTH_ACCESS_TOKEN, undefined, x.body);
        assert.equal(xe.HTTP_X_FEDAUTH_ACCESS_TOKEN, undefined, x.body);
      }
      const hits = await site.idp.admin('/_admin/hits');
      assert.equal(hits['/token'], 1, JSON.stringify(hits));
      assert.match(site.errorLog(), /FA00802: .*FedAuthRefreshFailure pass: the session goes on without tokens/);
      assert.ok(!site.errorLog().includes(e.FEDAUTH_ACCESS_TOKEN), 'a token in the error log');
    } finally {
      await site.idp.admin('/_admin/override', { method: 'POST', body: { path: '/token', body: null } });
    }
    assert.deepEqual(site.troubles([/htaccess: FedAuthPassAccessToken not allowed here/]), []);
  });
});

describe('refresh once across two hosts sharing Redis, with per-process copies', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  let redis;
  let c;
  let A;
  let B;
  const b = new Browser();
  let first;

  before(async () => {
    redis = await startRedis();
    c = await startHosts({
      hosts: 2,
      idpConfig: IDP_CONFIG,
      providers: [{ id: 'test', client: CLIENT }],
      storeConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/3
FedAuthRedisPrefix "t260:"
FedAuthSessionLocalCache 60`,
      serverConf: `LogLevel warn fedauth:trace8
FedAuthRefreshBeforeExpiry ${BEFORE}`,
      locationsConf: loc('/p/on', '    FedAuthPassAccessToken On\n'),
    });
    [A, B] = c.bases;
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  it('signed in on A, the token passes on B too (every process holds a copy of the session)', async () => {
    const r = await b.login(`${A}/p/on/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    const e = parseEnv(r.body);
    first = { token: e.FEDAUTH_ACCESS_TOKEN, exp: Number(e.FEDAUTH_ACCESS_TOKEN_EXPIRES) };
    assert.ok(first.token, r.body);
    for (let i = 0; i < 16; i++) {
      const x = await b.getOnce(`${i % 2 ? B : A}/p/on/env.cgi`);
      assert.equal(x.status, 200, dump(x));
      assert.equal(parseEnv(x.body).FEDAUTH_ACCESS_TOKEN, first.token);
    }
  });

  it('40 parallel requests over both hosts in the window: one refresh_token grant; then every process of both hosts passes the new token', async () => {
    assert.ok(first, 'signed in');
    await c.idp.clearEvents();
    await untilDue(first.exp);
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => b.getOnce(`${i % 2 ? B : A}/p/on/env.cgi`)));
    for (const r of rs) {
      assert.equal(r.status, 200, dump(r));
      assert.ok(parseEnv(r.body).FEDAUTH_ACCESS_TOKEN, r.body);
    }
    const events = await c.idp.events();
    assert.equal(refreshGrants(events).length, 1, JSON.stringify(events));
    assert.equal(refreshGrants(events, 'grant.error').length, 0, JSON.stringify(events));
    await sleep(200); // Redis's invalidation messages reach every process
    let fresh;
    for (let i = 0; i < 16; i++) {
      const e = parseEnv((await b.getOnce(`${i % 2 ? B : A}/p/on/env.cgi`)).body);
      assert.notEqual(e.FEDAUTH_ACCESS_TOKEN, first.token, `request ${i}: a process still passes the old token`);
      fresh ??= e.FEDAUTH_ACCESS_TOKEN;
      assert.equal(e.FEDAUTH_ACCESS_TOKEN, fresh);
    }
    const u = await userinfo(c.idp.issuer, fresh);
    assert.equal(u.status, 200, u.body);
    const logs = c.errorLogs();
    assert.equal((logs.match(/FA00801:/g) || []).length, 1, 'one refresh logged');
    assert.ok(!logs.includes(first.token) && !logs.includes(fresh), 'a token in the error log');
    assert.deepEqual(c.troubles(), []);
  });
});

describe('configuration of the new directives', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));
  const PROVIDER = `FedAuthSecret "a long enough test passphrase for config tests"
<FedAuthProvider test>
    Issuer        http://127.0.0.1:9
    ClientID      client-test
    ClientSecret  secret-test
</FedAuthProvider>`;
  async function check(server, location = '') {
    requireModule();
    const { dir, confFile } = await writeHttpdConfig({
      providersConf: `${PROVIDER}\n${server}`,
      locationsConf: loc('/p/on', location),
    });
    dirs.push(dir);
    const res = await configTest(confFile);
    return `${res.stdout}${res.stderr}`;
  }

  it('good values pass apache2 -t', async () => {
    const out = await check('FedAuthRefreshBeforeExpiry 60\nFedAuthRefreshFailure pass', '    FedAuthPassAccessToken On\n');
    assert.match(out, /Syntax OK/, out);
  });

  for (const [line, re] of [
    ['FedAuthRefreshBeforeExpiry 0', /FedAuthRefreshBeforeExpiry/],
    ['FedAuthRefreshBeforeExpiry soon', /FedAuthRefreshBeforeExpiry/],
    ['FedAuthRefreshFailure maybe', /FedAuthRefreshFailure expects end or pass/],
  ]) {
    it(`"${line}" stops apache2 -t naming the directive`, async () => {
      const out = await check(line);
      assert.match(out, re, out);
      assert.doesNotMatch(out, /Syntax OK/, out);
    });
  }

  it('"FedAuthPassAccessToken maybe" stops apache2 -t naming the directive', async () => {
    const out = await check('', '    FedAuthPassAccessToken maybe\n');
    assert.match(out, /FedAuthPassAccessToken/, out);
    assert.doesNotMatch(out, /Syntax OK/, out);
  });
});
