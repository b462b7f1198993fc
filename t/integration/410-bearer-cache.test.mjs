// SPDX-License-Identifier: Apache-2.0
// The per-process cache of verified bearer tokens (t/spec/issue6.md): the
// same token again is served from the cache (debug log "FA00501: bearer
// token of <user> from the cache (<n> hits)") after one verification per
// process ("FA00505: bearer token of <user> from <idp> verified and
// cached"); the key holds the audience, so a token verified where aud X is
// expected is no pass where Y is (401 wrong_aud); no token ever reaches
// the log. Each token here belongs to its own client, so its user name
// (<client>@a) tells its log lines apart.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSite, parseEnv, dump, defaultUsers } from '../lib/index.mjs';
import {
  apiClient, apiLocation, clientCredentialsToken, decodeJwt, resign, parseChallenge, bearerGet,
  logLines, overOneConnection,
} from '../lib/tokens.mjs';

const ORDERS = 'api://orders';
const OTHER = 'api://other';
const CLIENTS = ['svc-ka', 'svc-spread', 'svc-aud', 'svc-two'];

describe('bearer token cache (per process)', () => {
  let site;
  let base;
  let idp;
  const clients = Object.fromEntries(CLIENTS.map((c) => [c, apiClient(c)]));
  const tokens = [];

  before(async () => {
    site = await startSite({
      idps: [{
        name: 'a',
        users: defaultUsers(),
        idpConfig: { resourceServers: { [ORDERS]: { scope: 'orders:read' }, [OTHER]: { scope: 'other:read' } } },
        clients: Object.values(clients),
        providers: [{ id: 'a' }],
      }],
      locationsConf: [
        apiLocation('orders', { audience: ORDERS }),
        apiLocation('other', { audience: OTHER }),
      ].join('\n'),
    });
    base = site.base;
    idp = site.idps.a;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const verified = (user) => logLines(site.errorLog(), 'FA00505', (l) => l.includes(`bearer token of ${user} from a verified and cached`));
  const fromCache = (user) => logLines(site.errorLog(), 'FA00501', (l) => new RegExp(`bearer token of ${user.replace(/[.@-]/g, '\\$&')} from the cache \\(\\d+ hits\\)`).test(l));
  const token = async (client, resource = ORDERS) => {
    const t = await clientCredentialsToken(idp, clients[client], { resource });
    tokens.push(t);
    return t;
  };

  it('20 requests with one token over one keep-alive connection: verified once, then 19 cache hits', async () => {
    const t = await token('svc-ka');
    const rs = await overOneConnection(base, Array.from({ length: 20 }, () => ({
      path: '/p/orders/env.cgi', headers: { Authorization: `Bearer ${t}` },
    })));
    rs.forEach((r, i) => {
      assert.equal(r.status, 200, `request ${i}: ${r.status} ${r.body.slice(0, 300)}`);
      assert.equal(parseEnv(r.body).REMOTE_USER, 'svc-ka@a');
      assert.equal(r.headers['set-cookie'], undefined);
      if (i > 0) assert.equal(r.reused, true, `request ${i} went over the same connection`);
    });
    const v = verified('svc-ka@a');
    const c = fromCache('svc-ka@a');
    assert.equal(v.length, 1, `one verification:\n${v.map((x) => x.line).join('\n')}`);
    assert.equal(c.length, 19, `19 cache hits, got ${c.length}:\n${c.map((x) => x.line).join('\n')}`);
    assert.ok(c.every((x) => x.pid === v[0].pid), 'all in the process that verified it');
  });

  it('30 requests over fresh connections (several processes): at least one hit, at most one verification per process', async () => {
    const t = await token('svc-spread');
    for (let i = 0; i < 30; i++) {
      const r = await bearerGet(`${base}/p/orders/env.cgi`, t, { headers: { Connection: 'close' } });
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'svc-spread@a');
    }
    const v = verified('svc-spread@a');
    const c = fromCache('svc-spread@a');
    assert.equal(v.length + c.length, 30, `every request logged once as verified or cached (${v.length} + ${c.length})`);
    assert.ok(c.length >= 1, 'at least one cache hit');
    const pids = new Set([...v, ...c].map((x) => x.pid));
    const perPid = {};
    for (const x of v) perPid[x.pid] = (perPid[x.pid] || 0) + 1;
    assert.ok(Object.values(perPid).every((n) => n === 1), `at most one verification per process: ${JSON.stringify(perPid)}`);
    assert.ok(v.length <= pids.size && v.length <= 4, `${v.length} verifications, ${pids.size} processes (ServerLimit 4)`);
  });

  it('verified (and cached) where aud api://orders is expected, the token is refused where api://other is: 401 wrong_aud, not from the cache', async () => {
    const t = await token('svc-aud');
    const before501 = fromCache('svc-aud@a').length;
    const rs = await overOneConnection(base, [
      { path: '/p/orders/env.cgi', headers: { Authorization: `Bearer ${t}` } },
      { path: '/p/orders/env.cgi', headers: { Authorization: `Bearer ${t}` } },
      { path: '/p/other/env.cgi', headers: { Authorization: `Bearer ${t}` } },
      { path: '/p/other/env.cgi', headers: { Authorization: `Bearer ${t}` } },
    ]);
    assert.equal(rs[0].status, 200, rs[0].body);
    assert.equal(rs[1].status, 200, rs[1].body);
    assert.equal(rs[2].reused && rs[3].reused, true, 'same connection, same process');
    for (const r of rs.slice(2)) {
      assert.equal(r.status, 401, r.body.slice(0, 400));
      const ch = parseChallenge(r.headers['www-authenticate']);
      assert.equal(ch.scheme, 'Bearer', r.headers['www-authenticate']);
      assert.equal(ch.params.error, 'invalid_token');
      assert.equal(ch.params.error_description, 'wrong_aud', r.headers['www-authenticate']);
      assert.doesNotMatch(r.body, /REMOTE_USER=/);
    }
    assert.equal(fromCache('svc-aud@a').length - before501, 1, 'one hit: the second request at api://orders only');
    assert.equal(verified('svc-aud@a').length, 1);
  });

  it('a token for both audiences is verified once per audience (the key holds the audience), then hits for each', async () => {
    const t0 = await token('svc-two');
    const t = await resign(idp, 'client-a', t0, { aud: [ORDERS, OTHER], jti: 'two-audiences' });
    tokens.push(t);
    assert.deepEqual(decodeJwt(t).payload.aud, [ORDERS, OTHER]);
    const rs = await overOneConnection(base, ['orders', 'other', 'orders', 'other'].map((l) => ({
      path: `/p/${l}/env.cgi`, headers: { Authorization: `Bearer ${t}` },
    })));
    rs.forEach((r, i) => {
      assert.equal(r.status, 200, `request ${i}: ${r.body.slice(0, 300)}`);
      assert.equal(parseEnv(r.body).REMOTE_USER, 'svc-two@a');
    });
    assert.equal(verified('svc-two@a').length, 2, 'one verification per audience');
    assert.equal(fromCache('svc-two@a').length, 2, 'then one hit per audience');
  });

  it('the cache hit counter counts up within a process', async () => {
    const hits = fromCache('svc-ka@a').map((x) => Number(/\((\d+) hits\)/.exec(x.line)[1]));
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i] > hits[i - 1], `hits ${hits.join(',')}`);
  });

  it('no token is written to the error log; httpd stops cleanly with no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    const log = site.errorLog();
    for (const t of tokens) {
      const sig = t.split('.')[2];
      assert.ok(!log.includes(sig), 'a token signature in the error log');
      assert.ok(!log.includes(t.split('.')[1]), 'a token payload in the error log');
    }
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${log.slice(-4000)}`);
  });
});
