// SPDX-License-Identifier: Apache-2.0
// Each process remembers the session records it decoded last, one per
// slot of 64 chosen by the store key (issue 24: the request path's
// instructions). A request whose record is byte for byte the one its key
// has there copies the decoded session instead of decoding again
// (FA00323 at trace2). What the user and the admin must
// see, against a real redis-server that every request reads
// (FedAuthSessionLocalCache 0), on one keep-alive connection and on fresh
// ones:
//   - the same values on every request, and the memo used (FA00323);
//   - a record changed in the store behind the module's back, by one byte
//     and at the same length (a department, then a role that Require
//     needs), is seen by the very next request, on every thread: no
//     request after the change gets the old value or the old access;
//   - a record deleted is no session on the next request.
import http from 'node:http';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSite, Browser, parseEnv, dump, testUser, SESSION_COOKIE } from '../lib/index.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';

const PREFIX = 't976:';
const MEMO = 'FA00323';
const RITA = testUser('rita', 'R', { department: 'Research', groups: ['staff'] });

describe('the memo of decoded sessions: the same answer, and never an old one', {
  skip: !redisAvailable() && 'redis-server/redis-cli not installed',
}, () => {
  let redis;
  let site;
  let cookie;
  let key;
  // one connection, reused: one process serves it
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  /** GET path with the session cookie; fresh: on a connection of its own. */
  function get(path, { fresh = false } = {}) {
    return new Promise((resolve, reject) => {
      const req = http.request(`${site.base}${path}`, {
        method: 'GET',
        agent: fresh ? false : agent,
        headers: { Cookie: `${SESSION_COOKIE}=${cookie}`, ...(fresh ? { Connection: 'close' } : {}) },
      }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({
          status: res.statusCode, headers: res.headers, location: res.headers.location, body, url: path, hops: [],
        }));
      });
      req.setTimeout(10000, () => req.destroy(new Error(`GET ${path}: no answer within 10 s`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** n requests on the kept connection, then n on fresh ones, 4 at a time. */
  async function both(path, n) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await get(path));
    for (let i = 0; i < n; i += 4) {
      out.push(...await Promise.all([0, 1, 2, 3].map(() => get(path, { fresh: true }))));
    }
    return out;
  }

  /** The session record with field tag's value `from` replaced by `to` (same length). */
  async function rewrite(tag, from, to) {
    assert.equal(Buffer.byteLength(from), Buffer.byteLength(to));
    // redis-cli drops the record's last newline: put it back, and check
    // that the length is the stored one
    const rec = `${await redis.cli(['GET', key])}\n`;
    assert.equal(Buffer.byteLength(rec), Number(await redis.cli(['STRLEN', key])));
    const field = `\n${tag}${Buffer.byteLength(from)}:${from}\n`;
    assert.ok(rec.includes(field), `record has ${JSON.stringify(field)}: ${rec.slice(0, 200)}`);
    const changed = rec.replace(field, `\n${tag}${Buffer.byteLength(to)}:${to}\n`);
    assert.equal(changed.length, rec.length);
    assert.equal(await redis.cli(['SET', key, changed, 'KEEPTTL']), 'OK');
  }

  const memoLines = (from) => site.errorLog().slice(from).split('\n').filter((l) => l.includes(`${MEMO}:`));

  before(async () => {
    redis = await startRedis();
    site = await startSite({
      users: [RITA],
      providers: [{
        id: 'rep',
        extra: '    ClaimMap department DEPARTMENT\n    GroupsClaim groups\n    GroupMap staff staff\n',
      }],
      serverConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/0
FedAuthRedisPrefix "${PREFIX}"
FedAuthSessionLocalCache 0
LogLevel warn fedauth:trace2`,
      locationsConf: `<Location /p/>
    AuthType FedAuth
    Require valid-user
</Location>
<Location /p/staff/>
    AuthType FedAuth
    Require fedauth-role staff
</Location>
`,
    });
    const b = new Browser();
    const r = await b.login(`${site.base}/p/rep/env.cgi`, 'rita', 'rita-pass-R');
    assert.equal(r.status, 200, `login\n${dump(r)}`);
    cookie = b.jar.get(SESSION_COOKIE)?.value;
    assert.ok(cookie, 'session cookie');
    const keys = await redis.keys(0, `${PREFIX}s:*`);
    assert.equal(keys.length, 1, `one session key: ${keys}`);
    [key] = keys;
  });
  after(async () => {
    agent.destroy();
    await site?.stop();
    site?.cleanup();
    await redis?.stop();
    redis?.cleanup();
  });

  it('24 requests on one connection and 24 on fresh ones: every one rita of Research; the memo answers (FA00323)', async () => {
    const from = site.errorLog().length;
    for (const r of await both('/p/rep/env.cgi', 24)) {
      assert.equal(r.status, 200, dump(r));
      const env = parseEnv(r.body);
      assert.equal(env.REMOTE_USER, 'rita', r.body);
      assert.equal(env.FEDAUTH_DEPARTMENT, 'Research', r.body);
    }
    // the kept connection stays in one process, whose memo answers from
    // the session's third read there on
    const n = memoLines(from).length;
    assert.ok(n >= 20, `${MEMO} ${n} times in 48 requests of one session, want 20 at least:\n${site.errorLog().slice(from, from + 3000)}`);
  });

  it('one byte of the department changed in Redis: every request after it sees the new value, none the old', async () => {
    await rewrite('v', 'Research', 'Rxsearch');
    for (const r of await both('/p/rep/env.cgi', 24)) {
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).FEDAUTH_DEPARTMENT, 'Rxsearch', r.body);
    }
  });

  it('the role changed in Redis (staff to stuff): Require fedauth-role staff refuses at once; back to staff: allowed at once', async () => {
    for (const r of await both('/p/staff/env.cgi', 8)) assert.equal(r.status, 200, dump(r));
    await rewrite('r', 'staff', 'stuff');
    for (const r of await both('/p/staff/env.cgi', 12)) assert.equal(r.status, 403, dump(r));
    await rewrite('r', 'stuff', 'staff');
    for (const r of await both('/p/staff/env.cgi', 12)) assert.equal(r.status, 200, dump(r));
  });

  it('the record deleted: the next request on the same connection is sent to sign in', async () => {
    assert.equal((await get('/p/rep/env.cgi')).status, 200);
    assert.equal(await redis.cli(['DEL', key]), '1');
    for (const r of await both('/p/rep/env.cgi', 8)) {
      assert.equal(r.status, 302, dump(r));
      assert.ok(r.location.startsWith(site.idp.issuer), r.location);
    }
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}`);
  });
});
