// SPDX-License-Identifier: Apache-2.0
// The embedded shm store with the per-process copy (off by default, on
// here with FedAuthSessionLocalCache 60): a
// worker reuses a session it read while the store's change counter for
// that session is unchanged, so requests take no store lock. A logout in
// any worker must still end the session in every worker at once (no
// window, unlike Redis). Requests go out on fresh connections, several
// at a time, so that they land on different worker processes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { startSite, Browser, dump, SESSION_COOKIE } from '../lib/index.mjs';

const N = 40;
const SERVER_LIMIT = 4; // the harness's MPM ServerLimit
const COPY_LINE = /session from this process's copy/g;

/** GET on a connection of its own (Connection: close). */
function getFresh(url, cookie, method = 'GET', more = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method,
      agent: false,
      headers: { Connection: 'close', Cookie: `${SESSION_COOKIE}=${cookie}`, ...more },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The sign-out a browser sends from the confirm page: a POST from this site. */
function signOutFresh(url, cookie) {
  return getFresh(url, cookie, 'POST', {
    Origin: new URL(url).origin, 'Sec-Fetch-Site': 'same-origin', 'Content-Length': '0',
  });
}

/** n requests, 4 at a time. */
async function many(url, cookie, n) {
  const out = [];
  for (let i = 0; i < n; i += 4) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 4); j++) batch.push(getFresh(url, cookie));
    out.push(...await Promise.all(batch));
  }
  return out;
}

const copies = (log) => (log.match(COPY_LINE) || []).length;
const pids = (site) => new Set((site.httpd.accessLog().match(/pid=\d+/g) || []));

describe('shm store: the per-process copy', () => {
  let site;
  let cookie;

  before(async () => {
    site = await startSite({ serverConf: 'LogLevel warn fedauth:trace1\nFedAuthSessionLocalCache 60' });
    const b = new Browser();
    const r = await b.login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    cookie = b.jar.get(SESSION_COOKIE)?.value;
    assert.ok(cookie);
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it(`${N} requests: all but each worker's first come from its copy`, async () => {
    const before = copies(site.errorLog());
    const rs = await many(`${site.base}/protected/env.cgi`, cookie, N);
    for (const r of rs) assert.equal(r.status, 200, dump(r));
    const used = copies(site.errorLog()) - before;
    assert.ok(used >= N - SERVER_LIMIT, `copies used: ${used} of ${N} (workers ${[...pids(site)].join(' ')})`);
  });

  it('after a logout in one worker, no worker serves the old cookie (no delay)', async () => {
    // every worker holds a copy now; the logout runs in one of them
    const warm = await many(`${site.base}/protected/env.cgi`, cookie, 12);
    for (const r of warm) assert.equal(r.status, 200, dump(r));
    const out = await signOutFresh(`${site.base}/fedauth/logout?return_to=/`, cookie);
    assert.equal(out.status, 302, dump(out));
    const after = await many(`${site.base}/protected/env.cgi`, cookie, N);
    const served = after.filter((r) => r.status === 200).length;
    assert.equal(served, 0, `old cookie served ${served} times after logout`);
    for (const r of after) assert.equal(r.status, 302, dump(r));
    const s = await getFresh(`${site.base}/fedauth/session`, cookie);
    assert.equal(s.status, 401, dump(s));
  });

  it('FedAuthSessionLocalCache 0: every request reads the store, no copy', async () => {
    await site.restartHttpd({ serverConf: 'LogLevel warn fedauth:trace1\nFedAuthSessionLocalCache 0' });
    const b = new Browser();
    const r = await b.login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    const c = b.jar.get(SESSION_COOKIE)?.value;
    const rs = await many(`${site.base}/protected/env.cgi`, c, 12);
    for (const x of rs) assert.equal(x.status, 200, dump(x));
    assert.equal(copies(site.errorLog()), 0, 'no copy lines in the new httpd\'s log');
  });

  it('no sanitizer reports or crashes in the logs', () => {
    assert.deepEqual(site.troubles(), []);
  });
});

describe('shm store: the copy after the idle clock is written back', () => {
  let site;

  before(async () => {
    // the idle clock is written back once a tenth of the window (2 s) has passed
    site = await startSite({ serverConf: 'FedAuthSessionIdleTimeout 20' });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('after a write-back every worker serves the session and reports the later expiry', async () => {
    const b = new Browser();
    const r = await b.login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    const cookie = b.jar.get(SESSION_COOKIE)?.value;
    // every worker takes a copy
    const first = await many(`${site.base}/fedauth/session`, cookie, 12);
    const e1 = Math.max(...first.map((x) => { assert.equal(x.status, 200, dump(x)); return JSON.parse(x.body).expires_at; }));
    await new Promise((res) => { setTimeout(res, 3000); });
    // one request writes the idle clock back
    const w = await getFresh(`${site.base}/protected/env.cgi`, cookie);
    assert.equal(w.status, 200, dump(w));
    const later = await many(`${site.base}/fedauth/session`, cookie, 16);
    for (const x of later) {
      assert.equal(x.status, 200, dump(x));
      const e = JSON.parse(x.body).expires_at;
      assert.ok(e >= e1 + 2, `expires_at ${e} after the write-back, ${e1} before: the idle clock did not move forward`);
    }
  });
});
