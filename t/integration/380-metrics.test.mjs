// SPDX-License-Identifier: Apache-2.0
// FedAuthMetrics and /fedauth/metrics: off -> 404 like any unknown URL; on,
// the Require of its <Location> decides (403 / 200); without a <Location>
// a start-up warning (FA00602); the scrape is Prometheus text 0.0.4 (read
// by a strict parser below); after two sign-ins, a refused one (tampered
// state) and a logout it shows exactly those counts under the right
// labels; every worker process answers the same numbers; a graceful
// restart starts them again from zero. Then sessions
// ended by FedAuthMaxSessionsPerUser, by a new sign-in in the same
// browser and by a back-channel logout, each under its reason; bearer
// tokens: the cache's hits and misses.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, dump, protectedLocation, tamperedStateCallback, postForm, sleep, signOut,
} from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { startHosts, logoutClaims, signAtIdp, postLogoutToken } from '../lib/cluster.mjs';
import {
  apiClient, apiLocation, clientCredentialsToken, overOneConnection,
} from '../lib/tokens.mjs';

const METRICS = '/fedauth/metrics';
// Require ip needs mod_authz_host, which the harness does not load.
const ON = `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthMetrics On
`;
const metricsLocation = (require) => `<Location ${METRICS}>
    ${require}
</Location>
`;

/**
 * A strict reader of the text exposition format 0.0.4, as Prometheus
 * reads it: returns { families: { name: { type, help, samples: [{ name,
 * labels, value }] } }, series: Map(key -> value) } or throws on the
 * first line that breaks a rule: a family's HELP and TYPE once each and
 * before its samples, its samples in one group and named after it
 * (_bucket/_sum/_count for a histogram), metric and label names of the
 * allowed characters, label values quoted with only \\ \" \n escapes, no
 * label twice, no series twice, values that are numbers, counters never
 * negative, histogram buckets cumulative with le="+Inf" equal to _count.
 */
function parseProm(text) {
  assert.ok(text.endsWith('\n'), 'the text ends with a newline');
  const families = {};
  const series = new Map();
  const closed = new Set();
  let cur = null;
  const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      const [, kw, name, rest] = m;
      if (!cur || cur.name !== name) {
        assert.ok(!closed.has(name) && !families[name], `family ${name} appears twice (${where})`);
        if (cur) closed.add(cur.name);
        cur = { name, samples: [] };
        families[name] = cur;
      }
      assert.equal(cur.samples.length, 0, `${kw} after samples (${where})`);
      if (kw === 'HELP') {
        assert.equal(cur.help, undefined, `second HELP (${where})`);
        cur.help = rest;
      } else {
        assert.equal(cur.type, undefined, `second TYPE (${where})`);
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest), where);
        cur.type = rest;
      }
      return;
    }
    assert.ok(!line.startsWith('#'), `stray comment (${where})`);
    assert.ok(line.length > 0, `empty line (${where})`);
    m = nameRe.exec(line);
    assert.ok(m, `no metric name (${where})`);
    const name = m[0];
    let p = name.length;
    const labels = {};
    if (line[p] === '{') {
      p++;
      while (line[p] !== '}') {
        const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(p));
        assert.ok(ln, `bad label name (${where})`);
        p += ln[0].length;
        assert.equal(line.slice(p, p + 2), '="', where);
        p += 2;
        let v = '';
        for (;;) {
          const c = line[p];
          assert.ok(c !== undefined, `unterminated label value (${where})`);
          if (c === '"') break;
          if (c === '\\') {
            const e = line[p + 1];
            assert.ok(['\\', '"', 'n'].includes(e), `bad escape (${where})`);
            v += e === 'n' ? '\n' : e;
            p += 2;
          } else {
            v += c;
            p++;
          }
        }
        p++;
        assert.ok(!(ln[0] in labels), `label ${ln[0]} twice (${where})`);
        labels[ln[0]] = v;
        if (line[p] === ',') p++;
        else assert.equal(line[p], '}', where);
      }
      p++;
    }
    assert.equal(line[p], ' ', `one space before the value (${where})`);
    const vtext = line.slice(p + 1);
    assert.match(vtext, /^(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|[+-]Inf|NaN)$/, `value (${where})`);
    const value = Number(vtext.replace('Inf', 'Infinity'));
    assert.ok(cur && cur.type, `sample without TYPE (${where})`);
    const allowed = cur.type === 'histogram'
      ? [`${cur.name}_bucket`, `${cur.name}_sum`, `${cur.name}_count`] : [cur.name];
    assert.ok(allowed.includes(name), `sample ${name} in family ${cur.name} (${where})`);
    if (cur.type === 'counter') assert.ok(value >= 0, `negative counter (${where})`);
    const key = `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
    assert.ok(!series.has(key), `series twice (${where})`);
    series.set(key, value);
    cur.samples.push({ name, labels, value });
  });
  for (const f of Object.values(families)) {
    assert.ok(f.help !== undefined && f.type, `family ${f.name} has HELP and TYPE`);
    assert.ok(f.name.startsWith('fedauth_'), `${f.name} has the fedauth_ prefix`);
    if (f.type === 'counter') assert.ok(f.name.endsWith('_total'), `counter ${f.name} ends in _total`);
    if (f.type !== 'histogram') continue;
    const groups = new Map();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const g = JSON.stringify(rest);
      if (!groups.has(g)) groups.set(g, { buckets: [] });
      const e = groups.get(g);
      if (s.name.endsWith('_bucket')) {
        assert.ok(le !== undefined, `bucket without le in ${f.name}`);
        e.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
      } else if (s.name.endsWith('_count')) e.count = s.value;
      else e.sum = s.value;
    }
    for (const [g, e] of groups) {
      assert.ok(e.buckets.length > 1 && e.count !== undefined && e.sum !== undefined, `${f.name}${g} is complete`);
      for (let k = 1; k < e.buckets.length; k++) {
        assert.ok(e.buckets[k][0] > e.buckets[k - 1][0], `${f.name}${g}: le grows`);
        assert.ok(e.buckets[k][1] >= e.buckets[k - 1][1], `${f.name}${g}: buckets are cumulative`);
      }
      assert.equal(e.buckets.at(-1)[0], Infinity, `${f.name}${g} ends with +Inf`);
      assert.equal(e.buckets.at(-1)[1], e.count, `${f.name}${g}: +Inf equals _count`);
    }
  }
  return { families, series };
}

/** The value of a series: metric name and labels (any order). */
function val(parsed, name, labels = {}) {
  const key = `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
  assert.ok(parsed.series.has(key), `the scrape has ${key}`);
  return parsed.series.get(key);
}

describe('metrics: FedAuthMetrics and /fedauth/metrics', () => {
  let site;
  let base;
  const prot = () => `${base}/protected/env.cgi`;
  const scrape = (opts) => new Browser(opts).getOnce(`${base}${METRICS}`);

  before(async () => {
    // Off first (the default): the other configurations come by restarts.
    site = await startSite({ providers: [{ id: 'test' }] });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('off (the default): /fedauth/metrics answers 404, like any unknown URL', async () => {
    const r = await scrape();
    assert.equal(r.status, 404, dump(r));
    const u = await new Browser().getOnce(`${base}/fedauth/no-such-thing`);
    assert.equal(u.status, 404, dump(u));
  });

  it('on, under a Require that refuses this client: 403 (httpd access control applies)', async () => {
    await site.restartHttpd({
      serverConf: ON,
      locationsConf: protectedLocation() + metricsLocation('Require ip 192.0.2.1'),
    });
    const r = await scrape();
    assert.equal(r.status, 403, dump(r));
    assert.doesNotMatch(r.body, /fedauth_signins_total/);
    // FA00311 (ready) comes after the metrics are set up.
    for (let i = 0; i < 100 && !/FA00311/.test(site.httpd.allLogs()); i++) await sleep(50);
    assert.match(site.httpd.allLogs(), /FA00311/);
    assert.doesNotMatch(site.httpd.allLogs(), /FA00602/, 'no warning: there is a <Location>');
  });

  it('on without a <Location /fedauth/metrics>: a start-up warning FA00602 says whoever may read the site may read it', async () => {
    await site.restartHttpd({ serverConf: ON, locationsConf: protectedLocation() });
    // httpd listens before post_config has logged: wait for the line.
    for (let i = 0; i < 100 && !/FA00602/.test(site.httpd.allLogs()); i++) await sleep(50);
    assert.match(site.httpd.allLogs(), /FA00602: FedAuthMetrics On in .*, but no <Location \/fedauth\/metrics>/, site.httpd.allLogs());
    const r = await scrape();
    assert.equal(r.status, 200, dump(r));
  });

  let first;
  it('on with Require ip 127.0.0.1: 200, text/plain; version=0.0.4, no-store, strict Prometheus text, all zero', async () => {
    await site.restartHttpd({
      serverConf: ON,
      locationsConf: protectedLocation() + metricsLocation('Require ip 127.0.0.1'),
    });
    const r = await scrape();
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4');
    assert.match(r.headers.get('cache-control') || '', /no-store/);
    assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(r.body));
    first = parseProm(r.body);
    const f = first.families;
    assert.equal(f.fedauth_signins_total.type, 'counter');
    assert.equal(f.fedauth_sessions_created_total.type, 'counter');
    assert.equal(f.fedauth_sessions_ended_total.type, 'counter');
    assert.equal(f.fedauth_store_operation_seconds.type, 'histogram');
    assert.equal(f.fedauth_store_errors_total.type, 'counter');
    assert.equal(f.fedauth_idp_fetches_total.type, 'counter');
    assert.equal(f.fedauth_idp_fetch_failures_total.type, 'counter');
    assert.equal(f.fedauth_bearer_cache_hits_total.type, 'counter');
    assert.equal(f.fedauth_bearer_cache_misses_total.type, 'counter');
    // Counters start at zero at each start (a restart makes new ones).
    assert.equal(val(first, 'fedauth_signins_total', { provider: 'test', outcome: 'ok' }), 0);
    assert.equal(val(first, 'fedauth_signins_total', { provider: 'test', outcome: 'state_mismatch' }), 0);
    assert.equal(val(first, 'fedauth_sessions_created_total', { provider: 'test' }), 0);
    for (const reason of ['logout', 'backchannel', 'expired', 'user_limit', 'replaced', 'frontchannel']) {
      assert.equal(val(first, 'fedauth_sessions_ended_total', { reason }), 0, reason);
    }
    assert.equal(val(first, 'fedauth_idp_fetches_total', { provider: 'test', document: 'discovery' }), 0);
  });

  it('other methods: 405 with Allow: GET', async () => {
    const r = await postForm(new Browser(), `${base}${METRICS}`);
    assert.equal(r.status, 405, dump(r));
    assert.match(r.headers.get('allow') || '', /GET/);
  });

  let alice;
  it('two sign-ins and one refused (tampered state): ok 2, state_mismatch 1, two sessions made', async () => {
    alice = new Browser();
    const a = await alice.login(prot(), 'alice', 'alice-pass-1');
    assert.equal(a.status, 200, dump(a));
    const bob = new Browser();
    const b = await bob.login(prot(), 'bob', 'bob-pass-2');
    assert.equal(b.status, 200, dump(b));
    const refused = await tamperedStateCallback(new Browser(), prot(), base, 'test');
    assert.equal(refused.status, 400, dump(refused));

    const r = await scrape();
    assert.equal(r.status, 200, dump(r));
    const m = parseProm(r.body);
    assert.equal(val(m, 'fedauth_signins_total', { provider: 'test', outcome: 'ok' }), 2);
    assert.equal(val(m, 'fedauth_signins_total', { provider: 'test', outcome: 'state_mismatch' }), 1);
    const refusals = m.families.fedauth_signins_total.samples
      .filter((s) => s.labels.outcome !== 'ok' && s.value > 0).map((s) => s.labels.outcome);
    assert.deepEqual(refusals, ['state_mismatch'], 'no other refusal counted');
    assert.equal(val(m, 'fedauth_sessions_created_total', { provider: 'test' }), 2);
    // The embedded store's own gauge: the two sessions are there.
    assert.equal(m.families.fedauth_shm_sessions.type, 'gauge');
    assert.equal(val(m, 'fedauth_shm_sessions'), 2);
    // Each worker process keeps its own copy of discovery and JWKS: at
    // least one fetch each, none failed.
    assert.ok(val(m, 'fedauth_idp_fetches_total', { provider: 'test', document: 'discovery' }) >= 1);
    assert.ok(val(m, 'fedauth_idp_fetches_total', { provider: 'test', document: 'jwks' }) >= 1);
    assert.equal(val(m, 'fedauth_idp_fetch_failures_total', { provider: 'test', document: 'discovery' }), 0);
    assert.equal(val(m, 'fedauth_idp_fetch_failures_total', { provider: 'test', document: 'jwks' }), 0);
    // The store: two states claimed while their codes were at the IdP
    // (add), then marked used, and two sessions written (put); the three
    // login states themselves live in their state cookies, and the
    // tampered one, refused, touched nothing.
    assert.equal(val(m, 'fedauth_store_operation_seconds_count', { op: 'add' }), 2);
    assert.ok(val(m, 'fedauth_store_operation_seconds_count', { op: 'put' }) >= 4);
    assert.equal(val(m, 'fedauth_store_operation_seconds_count', { op: 'take' }), 0);
  });

  it('a logout: one session ended, reason logout', async () => {
    assert.ok(alice, 'signed in');
    const r = await signOut(alice, `${base}/fedauth/logout`);
    assert.equal(r.status, 200, dump(r));
    const m = parseProm((await scrape()).body);
    assert.equal(val(m, 'fedauth_sessions_ended_total', { reason: 'logout' }), 1);
    assert.equal(val(m, 'fedauth_sessions_ended_total', { reason: 'replaced' }), 0);
    assert.equal(val(m, 'fedauth_shm_sessions'), 1);
    assert.ok(val(m, 'fedauth_store_operation_seconds_count', { op: 'del' }) >= 1);
    assert.equal(val(m, 'fedauth_store_errors_total', { op: 'get' }), 0);
  });

  it('every worker process answers the same numbers (shared memory, not per process)', async () => {
    const lines = () => site.httpd.accessLog().split('\n').filter((l) => l.includes(`GET ${METRICS} `));
    const pids = new Set();
    const bodies = new Set();
    for (let i = 0; i < 60 && (pids.size < 2 || i < 6); i++) {
      const before = lines().length;
      const r = await scrape({ headers: { Connection: 'close' } });
      assert.equal(r.status, 200, dump(r));
      parseProm(r.body);
      bodies.add(r.body);
      let now = lines();
      for (let k = 0; k < 40 && now.length <= before; k++) {
        await sleep(25);
        now = lines();
      }
      for (const l of now.slice(before)) {
        const m = / 200 \S+ pid=(\d+)/.exec(l);
        if (m) pids.add(m[1]);
      }
    }
    assert.ok(pids.size >= 2, `scrapes were answered by ${pids.size} worker process(es) only: the test could not cross processes`);
    assert.equal(bodies.size, 1, 'every scrape (nothing else happening) is the same text');
    const m = parseProm([...bodies][0]);
    assert.equal(val(m, 'fedauth_signins_total', { provider: 'test', outcome: 'ok' }), 2);
    assert.equal(val(m, 'fedauth_sessions_ended_total', { reason: 'logout' }), 1);
  });

  it('a graceful restart (SIGUSR1) makes new counters; the embedded store keeps its session', async () => {
    const ready = () => (site.httpd.allLogs().match(/FA00311/g) || []).length;
    const before = ready();
    process.kill(site.httpd.pid, 'SIGUSR1');
    for (let i = 0; i < 100 && ready() <= before; i++) await sleep(100);
    assert.equal(ready(), before + 1, site.httpd.allLogs());
    let m;
    for (let i = 0; i < 50; i++) {
      const r = await scrape({ headers: { Connection: 'close' } });
      if (r.status === 200) {
        m = parseProm(r.body);
        if (val(m, 'fedauth_signins_total', { provider: 'test', outcome: 'ok' }) === 0) break;
      }
      await sleep(100);
    }
    assert.equal(val(m, 'fedauth_signins_total', { provider: 'test', outcome: 'ok' }), 0, 'new counters');
    assert.equal(val(m, 'fedauth_sessions_ended_total', { reason: 'logout' }), 0);
    assert.equal(val(m, 'fedauth_shm_sessions'), 1, 'bob\'s session is still in the store');
  });

  it('Require fedauth-role ops: no session -> sign in, then 200 for a user with the role, 403 for one without', async () => {
    await site.restartHttpd({
      serverConf: ON,
      providerExtra: { test: 'GroupsClaim groups\nGroupMap "wonderland-admins" ops' },
      locationsConf: `${protectedLocation()}<Location ${METRICS}>
    AuthType FedAuth
    FedAuthUnauthenticated 401
    Require fedauth-role ops
</Location>
`,
    });
    const anon = await scrape();
    assert.equal(anon.status, 401, dump(anon));
    const admin = new Browser();
    assert.equal((await admin.login(prot(), 'alice', 'alice-pass-1')).status, 200);
    const r = await admin.getOnce(`${base}${METRICS}`);
    assert.equal(r.status, 200, dump(r));
    const m = parseProm(r.body);
    assert.equal(val(m, 'fedauth_signins_total', { provider: 'test', outcome: 'ok' }), 1, 'new counters at each start');
    const staff = new Browser();
    assert.equal((await staff.login(prot(), 'bob', 'bob-pass-2')).status, 200);
    const refused = await staff.getOnce(`${base}${METRICS}`);
    assert.equal(refused.status, 403, dump(refused));
    assert.doesNotMatch(refused.body, /fedauth_signins_total/);
  });

  it('the error log has no trouble', () => {
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});

describe('metrics: why sessions end', () => {
  let c;
  let base;
  const prot = () => `${base}/protected/env.cgi`;
  const scrape = async () => {
    const r = await new Browser().getOnce(`${base}${METRICS}`);
    assert.equal(r.status, 200, dump(r));
    return parseProm(r.body);
  };

  before(async () => {
    c = await startHosts({
      hosts: 1,
      storeConf: 'FedAuthSessionStore shm',
      serverConf: `${ON}FedAuthMaxSessionsPerUser 2\n`,
      locationsConf: protectedLocation() + metricsLocation('Require ip 127.0.0.1'),
    });
    base = c.base;
  });
  after(async () => {
    await c?.stop();
    c?.cleanup();
  });

  it('alice in three browsers (FedAuthMaxSessionsPerUser 2): one ended, reason user_limit', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await new Browser().login(prot(), 'alice', 'alice-pass-1');
      assert.equal(r.status, 200, dump(r));
    }
    const m = await scrape();
    assert.equal(val(m, 'fedauth_sessions_created_total', { provider: 'test' }), 3);
    assert.equal(val(m, 'fedauth_sessions_ended_total', { reason: 'user_limit' }), 1);
    assert.equal(val(m, 'fedauth_shm_sessions'), 2);
  });

  it('bob signs in twice in the same browser: the first session ended, reason replaced', async () => {
    const b = new Browser();
    assert.equal((await b.login(prot(), 'bob', 'bob-pass-2')).status, 200);
    const again = await b.login(`${base}/fedauth/login?idp=test&return_to=/protected/env.cgi`, 'bob', 'bob-pass-2');
    assert.equal(again.status, 200, dump(again));
    const m = await scrape();
    assert.equal(val(m, 'fedauth_sessions_ended_total', { reason: 'replaced' }), 1);
    assert.equal(val(m, 'fedauth_signins_total', { provider: 'test', outcome: 'ok' }), 5);
    assert.equal(val(m, 'fedauth_shm_sessions'), 3);
  });

  it('a back-channel logout of alice (sub): her two sessions ended, reason backchannel', async () => {
    const clientId = c.clients.test.client_id;
    const token = await signAtIdp(c.idp, clientId, logoutClaims(c.idp, clientId, { sub: 'alice-sub-0001' }));
    const r = await postLogoutToken(base, 'test', token);
    assert.equal(r.status, 200, r.body);
    const m = await scrape();
    assert.equal(val(m, 'fedauth_sessions_ended_total', { reason: 'backchannel' }), 2);
    assert.equal(val(m, 'fedauth_sessions_ended_total', { reason: 'logout' }), 0);
    assert.equal(val(m, 'fedauth_sessions_ended_total', { reason: 'user_limit' }), 1);
    assert.equal(val(m, 'fedauth_shm_sessions'), 1);
    assert.equal(val(m, 'fedauth_store_operation_seconds_count', { op: 'index_take' }), 1);
  });

  it('no trouble in the error log', () => {
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs()}`);
  });
});

describe('metrics: bearer token cache', () => {
  const ORDERS = 'api://orders';
  const svc = apiClient('svc-metrics');
  let site;
  let base;

  before(async () => {
    site = await startSite({
      idps: [{
        name: 'a',
        idpConfig: { resourceServers: { [ORDERS]: { scope: 'orders:read' } } },
        clients: [svc],
        providers: [{ id: 'a' }],
      }],
      serverConf: ON,
      locationsConf: apiLocation('orders', { audience: ORDERS }) + metricsLocation('Require ip 127.0.0.1'),
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('one token 10 times over one connection: 1 miss (verified), 9 hits; a forged one: 1 miss more', async () => {
    const t = await clientCredentialsToken(site.idps.a, svc, { resource: ORDERS });
    const rs = await overOneConnection(base, Array.from({ length: 10 }, () => ({
      path: '/p/orders/env.cgi', headers: { Authorization: `Bearer ${t}` },
    })));
    rs.forEach((r, i) => assert.equal(r.status, 200, `request ${i}: ${r.status} ${r.body.slice(0, 300)}`));
    const forged = await new Browser().getOnce(`${base}/p/orders/env.cgi`, { headers: { Authorization: `Bearer ${t.slice(0, -4)}AAAA` } });
    assert.equal(forged.status, 401, dump(forged));
    const r = await new Browser().getOnce(`${base}${METRICS}`);
    assert.equal(r.status, 200, dump(r));
    const m = parseProm(r.body);
    assert.equal(val(m, 'fedauth_bearer_cache_hits_total'), 9);
    assert.equal(val(m, 'fedauth_bearer_cache_misses_total'), 2);
    // The token was verified with the provider's keys: JWKS fetched.
    assert.ok(val(m, 'fedauth_idp_fetches_total', { provider: 'a', document: 'jwks' }) >= 1);
    // Bearer tokens make no session and no sign-in.
    assert.equal(val(m, 'fedauth_sessions_created_total', { provider: 'a' }), 0);
    assert.equal(val(m, 'fedauth_signins_total', { provider: 'a', outcome: 'ok' }), 0);
  });

  it('no trouble in the error log', () => {
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
