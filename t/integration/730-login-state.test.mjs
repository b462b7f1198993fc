// SPDX-License-Identifier: Apache-2.0
// Login state without store writes (issue 20 item 7) and the order of the
// callback's checks. The login state travels sealed in the browser's state
// cookie: a flood of anonymous requests to a protected URL adds nothing to
// the store (shm: the entries gauge of /fedauth/metrics; Redis: DBSIZE and
// the keys), while a real user signs in during the flood; a state cookie
// made on host A finishes its sign-in on host B (one Redis, one secret).
// Someone who learns a state value cannot spoil the sign-in in progress:
// callbacks with that state and an error, a junk code or another
// browser's cookie change nothing, and the real callback still signs in;
// callbacks with junk codes leave no key behind (their claims are
// released).
// An error= answer carrying a wrong iss is wrong_iss (checked first).
// The limit of five state cookies per browser stays; a redirect URI too
// long for a cookie (a huge Host header) is a 400, not a broken cookie.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import {
  startSite, Browser, dump, parseEnv, errorCodes, loginUntilCallback, protectedLocation,
  sessionCookiesSet, isDeletion, STATE_COOKIE_RE, SESSION_COOKIE,
} from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';
import { startHosts } from '../lib/cluster.mjs';

const FLOOD = 2000;
const BATCH = 20;
const METRICS = '/fedauth/metrics';
const METRICS_CONF = `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthMetrics On
`;
const metricsLocation = `<Location ${METRICS}>
    Require ip 127.0.0.1
</Location>
`;

/**
 * FLOOD anonymous GETs of url(i), BATCH at a time, each a fresh client with
 * no cookie: every one must be sent to sign in (302). Bounded: FLOOD
 * requests, BATCH in flight.
 */
async function flood(url) {
  let sent = 0;
  const statuses = {};
  while (sent < FLOOD) {
    const n = Math.min(BATCH, FLOOD - sent);
    const rs = await Promise.all(Array.from({ length: n }, (_, k) => new Browser().getOnce(url(sent + k))));
    for (const r of rs) statuses[r.status] = (statuses[r.status] || 0) + 1;
    sent += n;
  }
  return statuses;
}

/** The one value of a metric without labels in a scrape. */
function gauge(text, name) {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} in the scrape:\n${text}`);
  return Number(m[1]);
}

/** The state cookie the browser holds for the sign-in in progress. */
function stateCookie(b) {
  const all = b.jar.all().filter((c) => STATE_COOKIE_RE.test(c.name));
  assert.equal(all.length, 1, `one state cookie: ${all.map((c) => c.name).join(' ')}`);
  return all[0];
}

/** Asserts an answer touched no state cookie and made no session. */
function assertNothingSet(r) {
  const touched = r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name));
  assert.deepEqual(touched, [], `no state cookie set or expired:\n${dump(r)}`);
  assert.deepEqual(sessionCookiesSet(r.setCookies), [], 'no session cookie');
}

describe('login state in the cookie: one host, shm store', () => {
  let site;
  let base;
  let issuer;
  const prot = () => `${base}/protected/env.cgi`;
  const entries = async () => {
    const r = await new Browser().getOnce(`${base}${METRICS}`);
    assert.equal(r.status, 200, dump(r));
    return { entries: gauge(r.body, 'fedauth_shm_entries'), sessions: gauge(r.body, 'fedauth_shm_sessions') };
  };

  before(async () => {
    site = await startSite({
      providers: [{ id: 'test' }],
      serverConf: METRICS_CONF,
      locationsConf: protectedLocation() + metricsLocation,
    });
    base = site.base;
    issuer = site.idp.issuer;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it(`${FLOOD} anonymous GETs of a protected URL add no entry to the shm store; a user signing in meanwhile adds what a sign-in alone adds`, async () => {
    // What one sign-in adds (a session, its indexes, the used-state mark):
    // bob signs in alone first.
    const e0 = await entries();
    const bob = await new Browser().login(prot(), 'bob', 'bob-pass-2');
    assert.equal(bob.status, 200, dump(bob));
    const e1 = await entries();
    const perSignin = e1.entries - e0.entries;
    assert.equal(e1.sessions - e0.sessions, 1);
    assert.ok(perSignin >= 1 && perSignin <= 4, `one sign-in adds ${perSignin} entries`);
    // The flood, with alice signing in while it runs.
    const alice = new Browser();
    const [statuses, signin] = await Promise.all([
      flood((i) => `${prot()}?n=${i}`),
      alice.login(prot(), 'alice', 'alice-pass-1'),
    ]);
    assert.deepEqual(statuses, { 302: FLOOD }, 'every anonymous GET is sent to sign in');
    assert.equal(signin.status, 200, dump(signin));
    assert.equal(parseEnv(signin.body).REMOTE_USER, 'alice');
    const e2 = await entries();
    assert.equal(e2.sessions - e1.sessions, 1, 'alice\'s session');
    assert.equal(e2.entries - e1.entries, perSignin,
      `entries before the flood ${e1.entries}, after ${e2.entries}: only alice's sign-in may add any`);
  });

  it('a state cookie stays well under 4 KiB: a 1.5 KiB return_to (past the 1 KiB a login keeps, within the 2 KiB return_to may have) signs in on its path, query dropped, info line FA00260', async () => {
    const b = new Browser();
    const long = `${prot()}?q=${'x'.repeat(1500)}`;
    const cbUrl = await loginUntilCallback(b, long, base, 'test');
    const st = stateCookie(b);
    assert.ok(st.name.length + st.value.length < 2048, `state cookie of ${st.name.length + st.value.length} bytes`);
    const r = await b.get(cbUrl);
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.url, prot(), 'back on the path, without the query');
    assert.match(site.errorLog(), /FA00260: return_to of \d+ bytes is longer than the 1024 a sign-in keeps/);
  });

  it('six sign-ins started in one browser: the sixth clears the five older state cookies; the newest still signs in', async () => {
    const b = new Browser();
    const states = [];
    for (let i = 0; i < 6; i++) {
      const r = await b.getOnce(prot());
      assert.equal(r.status, 302, dump(r));
      states.push(new URL(r.location).searchParams.get('state'));
      if (i === 5) {
        const cleared = r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name) && isDeletion(c));
        assert.equal(cleared.length, 5, `the five older state cookies cleared:\n${dump(r)}`);
      }
    }
    const left = b.jar.all().filter((c) => STATE_COOKIE_RE.test(c.name));
    assert.equal(left.length, 1, left.map((c) => c.name).join(' '));
    assert.ok(left[0].name.endsWith(states[5].slice(0, 16)), left[0].name);
    const r = await b.login(prot(), 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
  });

  it('a Host header of 2,500 bytes (a redirect URI too long for a state cookie): 400 invalid_request, no state cookie', async () => {
    const host = `${'a'.repeat(2500)}.example`;
    const { port } = new URL(base);
    const res = await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/protected/env.cgi', headers: { Host: host } }, (r) => {
        let body = '';
        r.setEncoding('latin1');
        r.on('data', (d) => { body += d; });
        r.on('end', () => resolve({ status: r.statusCode, headers: r.headers, body }));
      });
      req.on('error', reject);
      req.setTimeout(10000, () => req.destroy(new Error('timeout')));
      req.end();
    });
    assert.equal(res.status, 400, `${res.status} ${res.body.slice(0, 500)}`);
    assert.ok(errorCodes(res.body).includes('invalid_request'), res.body.slice(0, 500));
    assert.ok(!(res.headers['set-cookie'] || []).some((c) => /_state_/.test(c)), JSON.stringify(res.headers['set-cookie']));
    assert.match(site.errorLog(), /the login state does not fit in a cookie \(redirect URI of \d+ bytes\)/);
  });

  it('someone who knows the state cannot spoil the sign-in: error=, a junk code and a foreign cookie are refused, touch no cookie, and the real callback still signs in', async () => {
    const b = new Browser();
    const cbUrl = await loginUntilCallback(b, prot(), base, 'test');
    const cb = new URL(cbUrl);
    const state = cb.searchParams.get('state');
    const q = (params) => `${base}/signin-test?${new URLSearchParams({ state, iss: issuer, ...params })}`;
    // Forged answers delivered in the victim's own browser (a link or a
    // redirect the attacker made): the state cookie opens, the answer fails.
    const e = await b.getOnce(q({ error: 'access_denied' }));
    assert.equal(e.status, 401, dump(e));
    assert.ok(errorCodes(e.body).includes('idp_error'), dump(e));
    assertNothingSet(e);
    const junk = await b.getOnce(q({ code: 'junk-code-from-the-attacker' }));
    assert.equal(junk.status, 401, dump(junk));
    assert.ok(errorCodes(junk.body).includes('token_error'), dump(junk));
    assertNothingSet(junk);
    // The attacker's own browser, with a state cookie of its own under the
    // victim's cookie name: it does not open for this state.
    const eve = new Browser();
    const evesCb = await loginUntilCallback(eve, prot(), base, 'test', 'bob', 'bob-pass-2');
    assert.ok(evesCb);
    const mine = stateCookie(eve);
    const victimName = stateCookie(b).name;
    eve.jar.set(base, victimName, mine.value, '/');
    const forged = await eve.getOnce(cbUrl);
    assert.equal(forged.status, 400, dump(forged));
    assert.ok(errorCodes(forged.body).includes('state_mismatch'), dump(forged));
    assertNothingSet(forged);
    assert.match(site.errorLog(), /state_mismatch: the state cookie does not open for this state/);
    // The victim's real answer still works, once.
    const r = await b.get(cbUrl);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    const expired = r.setCookiesAll.filter((c) => c.name === victimName);
    assert.ok(expired.length === 1 && isDeletion(expired[0]), `the state cookie expired by the sign-in:\n${dump(r)}`);
    const again = await b.getOnce(cbUrl);
    assert.equal(again.status, 400, dump(again));
    assert.ok(errorCodes(again.body).includes('state_mismatch'), dump(again));
  });

  it('the same callback replayed with its state cookie (stolen): refused, no second session', async () => {
    const b = new Browser();
    const cbUrl = await loginUntilCallback(b, prot(), base, 'test', 'bob', 'bob-pass-2');
    const st = stateCookie(b);
    assert.equal((await b.get(cbUrl)).status, 200);
    const thief = new Browser();
    thief.jar.set(base, st.name, st.value, '/');
    const r = await thief.getOnce(cbUrl);
    assert.ok(r.status === 400 || r.status === 401, dump(r));
    const codes = errorCodes(r.body);
    assert.ok(codes.includes('state_mismatch') || codes.includes('token_error'), dump(r));
    assert.deepEqual(sessionCookiesSet(r.setCookies), []);
    assert.equal(thief.jar.get(SESSION_COOKIE), undefined);
  });

  it('error= with a wrong iss is wrong_iss, not idp_error (iss is checked first)', async () => {
    const b = new Browser();
    const cb = new URL(await loginUntilCallback(b, prot(), base, 'test'));
    const state = cb.searchParams.get('state');
    const r = await b.getOnce(`${base}/signin-test?${new URLSearchParams({
      state, error: 'access_denied', error_description: 'from elsewhere', iss: 'https://evil.example',
    })}`);
    assert.equal(r.status, 401, dump(r));
    assert.deepEqual(errorCodes(r.body), ['wrong_iss'], dump(r));
    assertNothingSet(r);
    // and without any iss where the IdP announces it
    const r2 = await b.getOnce(`${base}/signin-test?${new URLSearchParams({ state, error: 'access_denied' })}`);
    assert.equal(r2.status, 401, dump(r2));
    assert.deepEqual(errorCodes(r2.body), ['wrong_iss'], dump(r2));
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});

const PREFIX = 't730:';
const DB = 3;

describe('login state in the cookie: two hosts, one Redis', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  let redis;
  let c;
  let A;
  let B;
  const prot = (base) => `${base}/protected/env.cgi`;

  before(async () => {
    redis = await startRedis();
    c = await startHosts({
      hosts: 2,
      storeConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/${DB}
FedAuthRedisPrefix "${PREFIX}"
FedAuthRedisTimeout 1`,
    });
    [A, B] = c.bases;
  });
  after(async () => {
    await c?.stop();
    await redis?.stop();
    c?.cleanup();
    redis?.cleanup();
  });

  it(`${FLOOD} anonymous GETs over both hosts add no key to Redis; a user signing in meanwhile adds only a session, its indexes and one used-state mark`, async () => {
    const before = await redis.keys(DB);
    const alice = new Browser();
    const [statuses, signin] = await Promise.all([
      flood((i) => `${prot(i % 2 ? B : A)}?n=${i}`),
      alice.login(prot(A), 'alice', 'alice-pass-1'),
    ]);
    assert.deepEqual(statuses, { 302: FLOOD }, 'every anonymous GET is sent to sign in');
    assert.equal(signin.status, 200, dump(signin));
    assert.equal(parseEnv(signin.body).REMOTE_USER, 'alice');
    const added = (await redis.keys(DB)).filter((k) => !before.includes(k)).map((k) => k.slice(PREFIX.length));
    const some = `${added.length} keys added: ${added.slice(0, 8).join(' ')}${added.length > 8 ? ' ...' : ''}`;
    assert.ok(added.length <= 4, some);
    const kinds = added.map((k) => k.slice(0, 2)).sort();
    assert.deepEqual(kinds.filter((k) => k === 's:'), ['s:'], `one session: ${some}`);
    assert.deepEqual(kinds.filter((k) => k === 'l:'), ['l:'], `one used-state mark: ${some}`);
    assert.ok(kinds.every((k) => ['s:', 'l:', 'i:'].includes(k)), `only the sign-in's keys: ${some}`);
    const dbsize = Number(await redis.cli(['DBSIZE'], { db: DB }));
    assert.equal(dbsize, before.length + added.length);
  });

  it('50 anonymous clients each start a sign-in and send its callback with a junk code: all 401 token_error, and Redis holds no new key', async () => {
    const before = (await redis.keys(DB)).sort();
    for (let i = 0; i < 50; i += 10) {
      const rs = await Promise.all(Array.from({ length: 10 }, async (_, k) => {
        const b = new Browser();
        const host = (i + k) % 2 ? B : A;
        const r = await b.getOnce(prot(host));
        assert.equal(r.status, 302, dump(r));
        const state = new URL(r.location).searchParams.get('state');
        return b.getOnce(`${host}/signin-test?${new URLSearchParams({ state, code: 'junk', iss: c.idp.issuer })}`);
      }));
      for (const r of rs) {
        assert.equal(r.status, 401, dump(r));
        assert.ok(errorCodes(r.body).includes('token_error'), dump(r));
      }
    }
    assert.deepEqual((await redis.keys(DB)).sort(), before, 'the claims of failed callbacks are released');
  });

  it('a state cookie made on A finishes its sign-in on B', async () => {
    const b = new Browser();
    const cb = new URL(await loginUntilCallback(b, prot(A), A, 'test', 'bob', 'bob-pass-2'));
    const onB = `${B}${cb.pathname}${cb.search}`;
    const r = await b.get(onB);
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.url, prot(B));
    assert.match(parseEnv(r.body).REMOTE_USER, /^bob/);
    // and the same answer on A afterwards: refused
    const again = await b.getOnce(cb.href);
    assert.equal(again.status, 400, dump(again));
    assert.ok(errorCodes(again.body).includes('state_mismatch'), dump(again));
  });

  it('httpd A and B stop cleanly; no crash lines in their error logs', async () => {
    for (const h of c.hosts) {
      const info = await h.stop();
      assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    }
    assert.deepEqual(c.troubles(), [], `trouble:\n${c.troubles().join('\n')}\n--- error log ---\n${c.errorLogs()}`);
  });
});
