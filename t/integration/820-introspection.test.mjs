// SPDX-License-Identifier: Apache-2.0
// Opaque bearer tokens judged by token introspection (RFC 7662, issue 22):
// the test IdP runs oidc-provider's introspection and revocation features
// (t/idp/introspect.mjs); its access tokens from an ordinary code flow are
// opaque. A real token gets the page as its user (username and groups
// from the answer), one introspection call for many requests (process
// cache and the store); the answer of a token issued to another client,
// or at a location expecting another audience, is wrong_aud; a random
// string is 401 token_inactive and a flood of the same string costs one
// call per 10 s; a token revoked at the IdP stops working once
// FedAuthIntrospectionCache has passed (at once with 0); an IdP answering
// junk or 500, or down: 503 with a log line; the metrics count the calls;
// apache2 -t refuses bad IntrospectionURL / FedAuthIntrospectionCache
// values naming the directive; two hosts on one Redis call the IdP once
// for a token, the store key a MAC, never the token. With several
// providers offered, a token goes to the first one defined only (another
// IdP's token is refused there and never reaches its own IdP), and a
// provider before it whose discovery cannot be read gives 503.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import {
  startSite, parseEnv, dump, defaultUsers, writeHttpdConfig, configTest, removeDir, sleep,
} from '../lib/index.mjs';
import {
  apiClient, apiLocation, codeFlow, parseChallenge, bearerGet, withSpaCallback, spaCallback,
  logLines, overOneConnection,
} from '../lib/tokens.mjs';
import { idpOverride, idpHits } from '../lib/hostile.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { startHosts } from '../lib/cluster.mjs';

const INTROSPECT = '/token/introspection';
const CACHE = 4;
const SVC_CB = 'http://127.0.0.1/svc-820/callback';

const introspections = async (idp) => (await idpHits(idp))[INTROSPECT] || 0;

function assertBearerRefused(r, code, status = 401) {
  assert.equal(r.status, status, dump(r));
  if (status === 401) {
    const ch = parseChallenge(r.headers.get('www-authenticate'));
    assert.equal(ch.scheme, 'Bearer', r.headers.get('www-authenticate'));
    assert.equal(ch.params.error, 'invalid_token');
    assert.equal(ch.params.error_description, code, r.headers.get('www-authenticate'));
  }
  assert.doesNotMatch(r.body, /REMOTE_USER=/);
  assert.equal(r.headers.get('set-cookie'), null);
}

async function revoke(idp, client, token) {
  const meta = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
  assert.ok(meta.revocation_endpoint, 'the IdP offers revocation');
  const enc = encodeURIComponent;
  const res = await fetch(meta.revocation_endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(res.status, 200, `revocation: ${res.status}`);
}

describe('opaque bearer tokens by introspection (one host, shm)', () => {
  let site;
  let base;
  let idp;
  // another client of the IdP (code flow only: no client_credentials here)
  const svc = { ...apiClient('svc-820', { redirectUri: SVC_CB }), grant_types: ['authorization_code'] };
  const tokens = [];

  before(async () => {
    site = await startSite({
      idps: [{
        name: 'a',
        users: defaultUsers(),
        idpConfig: { introspection: { username: true } },
        clients: [svc],
        providers: [{
          id: 'a', clientExtra: withSpaCallback, extra: 'GroupsClaim groups\nGroupMap wonderland-admins admin\n',
        }],
      }],
      // Require ip needs mod_authz_host, which the harness does not load.
      serverConf: `FedAuthIntrospectionCache ${CACHE}\nFedAuthMetrics On
<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
`,
      locationsConf: [
        apiLocation('api', { providers: 'a' }),
        apiLocation('orders', { providers: 'a', audience: 'api://orders' }),
        '<Location /fedauth/metrics>\n    Require ip 127.0.0.1\n</Location>\n',
      ].join('\n'),
    });
    base = site.base;
    idp = site.idps.a;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const userToken = async (client = site.clients.a, redirectUri = spaCallback(site.clients.a)) => {
    const t = await codeFlow(idp, client, { redirectUri, scope: 'openid profile' });
    assert.ok(t.access_token && !t.access_token.includes('.'), `opaque: ${t.access_token}`);
    tokens.push(t.access_token);
    return t.access_token;
  };

  it('the discovery document offers introspection and revocation', async () => {
    const meta = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(meta.introspection_endpoint, `${idp.issuer}${INTROSPECT}`);
    assert.ok(meta.revocation_endpoint);
  });

  it('a real opaque access token: the page as its user (username, sub, roles from the answer), no cookie; one introspection for 12 requests', async () => {
    const t = await userToken();
    const before = await introspections(idp);
    const rs = await overOneConnection(base, Array.from({ length: 6 }, () => ({
      path: '/p/api/env.cgi', headers: { Authorization: `Bearer ${t}` },
    })));
    for (const r of rs) {
      assert.equal(r.status, 200, r.body.slice(0, 400));
      const env = parseEnv(r.body);
      assert.equal(env.REMOTE_USER, 'alice', r.body);
      assert.equal(env.FEDAUTH_SUB, 'alice-sub-0001', r.body);
      assert.equal(env.FEDAUTH_IDP, 'a', r.body);
      assert.equal(env.FEDAUTH_ROLES, 'admin', r.body);
      assert.equal(r.headers['set-cookie'], undefined);
    }
    // fresh connections (other processes): from the shm store, not the IdP
    for (let i = 0; i < 6; i++) {
      const r = await bearerGet(`${base}/p/api/env.cgi`, t, { headers: { Connection: 'close' } });
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    }
    assert.equal(await introspections(idp) - before, 1, 'one call at the IdP');
  });

  it('a location expecting aud api://orders refuses the same kind of token (no aud, client_id client-a): 401 wrong_aud', async () => {
    const t = await userToken();
    const r = await bearerGet(`${base}/p/orders/env.cgi`, t);
    assertBearerRefused(r, 'wrong_aud');
    assert.match(site.errorLog(), /FA01103: opaque bearer token refused by introspection at a: wrong_aud/);
  });

  it('attack: a token another client of the same IdP got for itself is no pass here: 401 wrong_aud', async () => {
    const t = await userToken(svc, SVC_CB);
    const r = await bearerGet(`${base}/p/api/env.cgi`, t);
    assertBearerRefused(r, 'wrong_aud');
  });

  it('attack: a random string is 401 token_inactive; the same string 20 times costs one call; 5 other strings one call each', async () => {
    const junk = crypto.randomBytes(32).toString('base64url');
    const before = await introspections(idp);
    const rs = await overOneConnection(base, Array.from({ length: 20 }, () => ({
      path: '/p/api/env.cgi', headers: { Authorization: `Bearer ${junk}` },
    })));
    for (const r of rs) {
      assert.equal(r.status, 401, r.body.slice(0, 300));
      assert.equal(parseChallenge(r.headers['www-authenticate']).params.error_description, 'token_inactive');
    }
    for (let i = 0; i < 5; i++) {
      const r = await bearerGet(`${base}/p/api/env.cgi`, crypto.randomBytes(24).toString('hex'));
      assertBearerRefused(r, 'token_inactive');
    }
    assert.equal(await introspections(idp) - before, 6);
    assert.ok(logLines(site.errorLog(), 'FA01105').length >= 19, 'refusals from the cache logged');
  });

  it('attack: 300 distinct random strings add no entry to the session store (fedauth_shm_entries unchanged)', async () => {
    const entries = async () => {
      const r = await fetch(`${base}/fedauth/metrics`, { signal: AbortSignal.timeout(5000) });
      const m = /^fedauth_shm_entries (\d+)$/m.exec(await r.text());
      assert.ok(m, 'fedauth_shm_entries in the metrics');
      return Number(m[1]);
    };
    const before = await entries();
    for (let i = 0; i < 300; i += 20) {
      const rs = await Promise.all(Array.from({ length: 20 }, () => bearerGet(`${base}/p/api/env.cgi`,
        crypto.randomBytes(24).toString('base64url'))));
      for (const r of rs) assert.equal(r.status, 401, dump(r));
    }
    assert.equal(await entries(), before, 'a refused token is never a store entry');
  });

  it('attack: a string with a space or a non-ASCII byte is 401 invalid_token without a call (no IdP issues such tokens)', async () => {
    const before = await introspections(idp);
    let r = await bearerGet(`${base}/p/api/env.cgi`, 'abc def');
    assertBearerRefused(r, 'invalid_token');
    r = await bearerGet(`${base}/p/api/env.cgi`, 'abc\u00e9def');
    assert.equal(r.status, 401, dump(r));
    assert.equal(await introspections(idp) - before, 0);
  });

  it('a malformed JWT-looking string (a.b.c) goes to introspection too: 401 token_inactive', async () => {
    const r = await bearerGet(`${base}/p/api/env.cgi`, 'abc.def.ghi');
    assertBearerRefused(r, 'token_inactive');
  });

  it(`a token revoked at the IdP keeps working from the cache for at most ${CACHE} s, then 401 token_inactive`, async () => {
    const t = await userToken();
    let r = await bearerGet(`${base}/p/api/env.cgi`, t);
    assert.equal(r.status, 200, dump(r));
    const at = Date.now();
    await revoke(idp, site.clients.a, t);
    r = await bearerGet(`${base}/p/api/env.cgi`, t);
    assert.equal(r.status, 200, 'still cached right after the revocation');
    await sleep(Math.max(0, (CACHE + 1) * 1000 - (Date.now() - at)));
    r = await bearerGet(`${base}/p/api/env.cgi`, t);
    assertBearerRefused(r, 'token_inactive');
  });

  it('the IdP answers 500, then junk: 503 with the error page, a log line (FA01103), no user; back to normal afterwards', async () => {
    const t = await userToken();
    await idpOverride(idp, INTROSPECT, { status: 500, contentType: 'text/plain', body: 'oops' });
    try {
      let r = await bearerGet(`${base}/p/api/env.cgi`, t);
      assertBearerRefused(r, null, 503);
      assert.match(r.body, /idp_bad_response/);
      assert.match(site.errorLog(), /FA01103: opaque bearer token refused by introspection at a: idp_bad_response: introspection endpoint answered 500/);
      await idpOverride(idp, INTROSPECT, { status: 200, body: '{"active":true,"sub":"x"' });
      r = await bearerGet(`${base}/p/api/env.cgi`, t);
      assertBearerRefused(r, null, 503);
      await idpOverride(idp, INTROSPECT, { status: 200, body: '{"active":"yes","sub":"mallory","client_id":"client-a"}' });
      r = await bearerGet(`${base}/p/api/env.cgi`, t);
      assertBearerRefused(r, null, 503);
    } finally {
      await idpOverride(idp, INTROSPECT, { body: null });
    }
    const r = await bearerGet(`${base}/p/api/env.cgi`, t);
    assert.equal(r.status, 200, 'an unjudged token is not remembered as refused');
  });

  it('metrics: fedauth_introspection_total by outcome', async () => {
    const r = await bearerGet(`${base}/fedauth/metrics`, undefined);
    assert.equal(r.status, 200, dump(r));
    const n = (o) => Number(new RegExp(`^fedauth_introspection_total\\{outcome="${o}"\\} (\\d+)$`, 'm').exec(r.body)?.[1]);
    assert.ok(n('active') >= 3, r.body);
    assert.ok(n('inactive') >= 6, r.body);
    assert.ok(n('refused') >= 2, r.body);
    assert.ok(n('error') >= 3, r.body);
  });

  it('FedAuthIntrospectionCache 0: each request asks the IdP; a revoked token is refused at once', async () => {
    await site.restartHttpd({ serverConf: `FedAuthIntrospectionCache 0
<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
` });
    const t = await userToken();
    const before = await introspections(idp);
    for (let i = 0; i < 3; i++) {
      const r = await bearerGet(`${base}/p/api/env.cgi`, t);
      assert.equal(r.status, 200, dump(r));
    }
    assert.equal(await introspections(idp) - before, 3);
    await revoke(idp, site.clients.a, t);
    const r = await bearerGet(`${base}/p/api/env.cgi`, t);
    assertBearerRefused(r, 'token_inactive');
  });

  it('the IdP down: 503 idp_unreachable and a log line naming the provider', async () => {
    const t = await userToken();
    await idp.stop();
    const r = await bearerGet(`${base}/p/api/env.cgi`, t);
    assertBearerRefused(r, null, 503);
    assert.match(r.body, /idp_unreachable/);
    assert.match(site.errorLog(), /FA01103: opaque bearer token refused by introspection at a: idp_unreachable/);
  });

  it('no token reaches the error log; httpd stops cleanly', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, JSON.stringify(info));
    const log = site.errorLog();
    for (const t of tokens) assert.ok(!log.includes(t), 'a token in the error log');
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}`);
  });
});

describe('opaque bearer tokens: several providers offered, the token goes to one IdP only', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({
      idps: [
        { name: 'a', idpConfig: { introspection: { username: true } }, providers: [{ id: 'a' }] },
        { name: 'b', idpConfig: { introspection: { username: true } }, providers: [{ id: 'b', clientExtra: withSpaCallback }] },
      ],
      // defined first: a provider whose discovery cannot be read
      serverConf: `<FedAuthProvider dead>
    Issuer        http://127.0.0.1:1
    ClientID      client-dead
    ClientSecret  secret-dead
</FedAuthProvider>
`,
      locationsConf: [
        apiLocation('both', { providers: 'a b' }),
        apiLocation('bonly', { providers: 'b' }),
        apiLocation('deadfirst', { providers: 'dead b' }),
      ].join('\n'),
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it("b's token where a and b are offered goes to a (the first defined) only: 401 token_inactive, b never asked; where only b is offered: 200", async () => {
    const t = (await codeFlow(site.idps.b, site.clients.b, { redirectUri: spaCallback(site.clients.b), scope: 'openid profile' })).access_token;
    const a0 = await introspections(site.idps.a);
    const b0 = await introspections(site.idps.b);
    let r = await bearerGet(`${base}/p/both/env.cgi`, t);
    assertBearerRefused(r, 'token_inactive');
    assert.equal(await introspections(site.idps.a) - a0, 1);
    assert.equal(await introspections(site.idps.b) - b0, 0, 'the token never reached b');
    r = await bearerGet(`${base}/p/bonly/env.cgi`, t);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).FEDAUTH_IDP, 'b');
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
  });

  it('a provider before b whose discovery cannot be read: 503 (FA01100), and the token does not go to b instead', async () => {
    const t = (await codeFlow(site.idps.b, site.clients.b, { redirectUri: spaCallback(site.clients.b), scope: 'openid profile' })).access_token;
    const b0 = await introspections(site.idps.b);
    const r = await bearerGet(`${base}/p/deadfirst/env.cgi`, t);
    assertBearerRefused(r, null, 503);
    assert.match(r.body, /idp_unreachable/);
    assert.match(site.errorLog(), /FA01100: opaque bearer token not judged: the discovery of dead/);
    assert.equal(await introspections(site.idps.b) - b0, 0);
  });

  it('httpd stops cleanly', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, JSON.stringify(info));
    assert.deepEqual(site.troubles(), [], site.troubles().join('\n'));
  });
});

describe('opaque bearer tokens: two hosts on one Redis', { skip: !redisAvailable() && 'redis-server not installed' }, () => {
  let redis;
  let c;
  const PREFIX = 't820:';

  before(async () => {
    redis = await startRedis();
    c = await startHosts({
      hosts: 2,
      idpConfig: { introspection: { username: true } },
      storeConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/3\nFedAuthRedisPrefix "${PREFIX}"`,
      providers: [{ id: 'test', client: { redirect_uris: [SVC_CB] } }],
      locationsConf: apiLocation('api', { providers: 'test' }),
    });
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  it('a token judged on A is taken from Redis on B: one call at the IdP; the key is a MAC (n:<22>), no key or value holds the token', async () => {
    const t = (await codeFlow(c.idp, c.clients.test, { redirectUri: SVC_CB, scope: 'openid profile' })).access_token;
    const before = await introspections(c.idp);
    for (const b of [...c.bases, ...c.bases]) {
      const r = await bearerGet(`${b}/p/api/env.cgi`, t, { headers: { Connection: 'close' } });
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    }
    assert.equal(await introspections(c.idp) - before, 1, 'one call for both hosts');
    const keys = await redis.keys(3, `${PREFIX}n:*`);
    assert.equal(keys.length, 1, keys.join(' '));
    assert.match(keys[0], new RegExp(`^${PREFIX}n:[A-Za-z0-9_-]{22}$`));
    const v = await redis.cli(['GET', keys[0]], { db: 3 });
    assert.ok(!keys[0].includes(t) && !v.includes(t), 'the token is in Redis');
    const ttl = Number(await redis.cli(['TTL', keys[0]], { db: 3 }));
    assert.ok(ttl > 0 && ttl <= 300, `TTL ${ttl}`);
  });

  it('attack: random strings write nothing to Redis; each host keeps its own refusal (one call each, then none for 10 s)', async () => {
    const before = await introspections(c.idp);
    const keysBefore = (await redis.keys(3, `${PREFIX}*`)).length;
    const junk = Array.from({ length: 20 }, () => crypto.randomBytes(30).toString('base64url'));
    for (const j of junk) {
      for (const b of c.bases) {
        assertBearerRefused(await bearerGet(`${b}/p/api/env.cgi`, j), 'token_inactive');
      }
    }
    assert.equal((await redis.keys(3, `${PREFIX}*`)).length, keysBefore, 'no key for a refused token');
    const calls = await introspections(c.idp) - before;
    assert.ok(calls >= 40, `each host asks for itself: ${calls}`);
    // again, over the same keep-alive connection: that process remembers
    const again = await overOneConnection(c.bases[0], [0, 1, 2].map(() => ({
      path: '/p/api/env.cgi', headers: { Authorization: `Bearer ${junk[0]}` },
    })));
    for (const r of again) assert.equal(r.status, 401);
    assert.ok(await introspections(c.idp) - before <= calls + 1, 'remembered by the process that asked');
  });

  it('no trouble in either error log', () => {
    assert.deepEqual(c.troubles(), [], c.troubles().join('\n'));
  });
});

describe('opaque bearer tokens: apache2 -t refuses bad values, naming the directive', () => {
  const dirs = [];
  after(() => { for (const d of dirs) removeDir(d); });

  const cases = [
    ['IntrospectionURL ftp://idp.example/introspect', 'IntrospectionURL', /must be an https URL|expects an absolute URL/],
    ['IntrospectionURL http://idp.example/introspect', 'IntrospectionURL', /must be an https URL/],
    ['IntrospectionURL https://u:p@idp.example/introspect', 'IntrospectionURL', /without a user name or password/],
    ['IntrospectionURL not-a-url', 'IntrospectionURL', /expects an absolute URL/],
  ];
  for (const [line, directive, re] of cases) {
    it(`<FedAuthProvider> ${line}`, async () => {
      const { dir, confFile } = await writeHttpdConfig({
        providersConf: `FedAuthSecret "a long enough test passphrase for config tests"
<FedAuthProvider t>
    Issuer        https://idp.example
    ClientID      client-test
    ClientSecret  secret-test
    ${line}
</FedAuthProvider>`,
        locationsConf: '<Location /protected>\n    AuthType FedAuth\n    Require valid-user\n</Location>',
      });
      dirs.push(dir);
      const res = await configTest(confFile);
      const out = `${res.stdout}${res.stderr}`;
      assert.notEqual(res.code, 0, out);
      assert.match(out, new RegExp(directive), out);
      assert.match(out, re, out);
      assert.match(out, /httpd\.conf/, 'names the file');
    });
  }
  for (const v of ['-1', '86401', 'abc', '5s']) {
    it(`FedAuthIntrospectionCache "${v}"`, async () => {
      const { dir, confFile } = await writeHttpdConfig({
        providersConf: `FedAuthSecret "a long enough test passphrase for config tests"
FedAuthIntrospectionCache "${v}"
<FedAuthProvider t>
    Issuer        https://idp.example
    ClientID      client-test
    ClientSecret  secret-test
</FedAuthProvider>`,
        locationsConf: '<Location /protected>\n    AuthType FedAuth\n    Require valid-user\n</Location>',
      });
      dirs.push(dir);
      const res = await configTest(confFile);
      const out = `${res.stdout}${res.stderr}`;
      assert.notEqual(res.code, 0, out);
      assert.match(out, /FedAuthIntrospectionCache/, out);
      assert.match(out, /whole number from 0 to 86400|expects a number/, out);
    });
  }
  it('FedAuthIntrospectionCache 0 and IntrospectionURL https://… are accepted', async () => {
    const { dir, confFile } = await writeHttpdConfig({
      providersConf: `FedAuthSecret "a long enough test passphrase for config tests"
FedAuthIntrospectionCache 0
<FedAuthProvider t>
    Issuer           https://idp.example
    ClientID         client-test
    ClientSecret     secret-test
    IntrospectionURL https://idp.example/oauth2/introspect
</FedAuthProvider>`,
      locationsConf: '<Location /protected>\n    AuthType FedAuth\n    Require valid-user\n</Location>',
    });
    dirs.push(dir);
    const res = await configTest(confFile);
    assert.equal(res.code, 0, `${res.stdout}${res.stderr}`);
  });
});
