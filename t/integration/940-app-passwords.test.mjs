// SPDX-License-Identifier: Apache-2.0
// App passwords (issue 23): fedauthctl passwords add|list|del, and
// FedAuthBasic On locations that take "Authorization: Basic
// base64(account:app password)" with a real httpd, the registry in a
// directory and the shm store (the failure counts of the rate limit live
// there). Each case does what a client or an attacker does and asserts
// what they get: status, page code, headers, no cookie, what a CGI sees.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  startSite, parseEnv, errorCodes, sleep, writeHttpdConfig, configTest, requireModule,
  removeDir,
} from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FEDAUTHCTL = process.env.FEDAUTHCTL || path.resolve(here, '../../fedauthctl');
const SECRET_RE = /^fap_[0-9a-hjkmnp-tv-z]{8}_[0-9a-hjkmnp-tv-z]{36}$/;
const ACCOUNT_LIMIT = 4;
const CLIENT_LIMIT = 20;
const WINDOW = 60;

function ctl(site, args, { json = false } = {}) {
  const conf = path.join(site.httpd.dir, 'fedauthctl.conf');
  const argv = ['--conf', conf, ...(json ? ['--json'] : []), ...args];
  return new Promise((resolve) => {
    execFile(FEDAUTHCTL, argv, { timeout: 30000 }, (e, out, err) => {
      const code = e ? (typeof e.code === 'number' ? e.code : -1) : 0;
      resolve({ code, out, err, json: json && code === 0 ? JSON.parse(out) : undefined });
    });
  });
}

async function ok(site, args, opts) {
  const r = await ctl(site, args, opts);
  assert.equal(r.code, 0, `fedauthctl ${args.join(' ')}: ${r.code}\n${r.out}\n${r.err}`);
  return r;
}

/** A new app password of account; its secret. */
async function addPassword(site, account, label, more = []) {
  const r = await ok(site, ['passwords', 'add', account, '--name', label, ...more], { json: true });
  assert.match(r.json.secret, SECRET_RE);
  return r.json.secret;
}

const basic = (user, pass) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** What a WebDAV client or curl sends: no HTML, no navigation. */
async function get(site, p, { auth, headers = {} } = {}) {
  const res = await fetch(`${site.base}${p}`, {
    redirect: 'manual',
    headers: { Accept: '*/*', ...(auth ? { Authorization: auth } : {}), ...headers },
  });
  return {
    status: res.status,
    body: await res.text(),
    headers: res.headers,
    setCookie: res.headers.get('set-cookie'),
  };
}

/**
 * A browser's navigation, headers as given (fetch sets Sec-Fetch-Mode
 * itself): { status, location }.
 */
function navigate(site, p) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${site.base}${p}`, {
      headers: { Accept: 'text/html,application/xhtml+xml', 'Sec-Fetch-Mode': 'navigate' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location }));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
  });
}

const show = (r) => `${r.status}\n${[...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${r.body.slice(0, 600)}`;

function refusedWith(r, status, code) {
  assert.equal(r.status, status, show(r));
  assert.ok(errorCodes(r.body).includes(code), `${code} in ${show(r)}`);
  assert.equal(r.setCookie, null, 'no cookie on a refusal');
}

describe('app passwords: fedauthctl and FedAuthBasic', () => {
  let site;
  let tmp;
  let attemptLog;
  let davSecret;

  const attempts = () => (fs.existsSync(attemptLog) ? fs.readFileSync(attemptLog, 'utf8') : '')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-t940-'));
    fs.chmodSync(tmp, 0o755);
    attemptLog = path.join(tmp, 'attempts.log');
    site = await startSite({
      providers: [{ id: 'corp' }],
      serverConf: `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthRegistry On
FedAuthRegister Off
FedAuthRegistryDir "${path.join(tmp, 'registry')}"
FedAuthAttemptLog "${attemptLog}"
FedAuthMetrics On
FedAuthBasicCache 60
FedAuthBasicLimit ${ACCOUNT_LIMIT} ${CLIENT_LIMIT} ${WINDOW}
`,
      locationsConf: `<Location /p/basic/>
    AuthType FedAuth
    FedAuthBasic On
    CGIPassAuth On
    Require valid-user
    ErrorDocument 404 /p/editor/env.cgi
</Location>
<Location /p/editor/>
    AuthType FedAuth
    FedAuthBasic On
    Require fedauth-role editor
</Location>
<Location /p/both/>
    AuthType FedAuth
    FedAuthBasic On
    FedAuthBearer On
    Require valid-user
</Location>
<Location /p/plain/>
    AuthType FedAuth
    Require valid-user
</Location>
<Location /fedauth/metrics>
    Require ip 127.0.0.1
</Location>
`,
    });
    // a CGI that shows what a script would get of the Authorization header
    fs.writeFileSync(path.join(site.httpd.dir, 'cgi-bin', 'auth.cgi'),
      '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\n'
      + 'printf "HTTP_AUTHORIZATION=%s\\n" "${HTTP_AUTHORIZATION:-}"\n'
      + 'printf "REMOTE_USER=%s\\n" "${REMOTE_USER:-}"\n', { mode: 0o755 });
    const conf = path.join(site.httpd.dir, 'fedauthctl.conf');
    for (let i = 0; i < 200 && !fs.existsSync(conf); i++) await sleep(50);
    await ok(site, ['users', 'add', 'carol', '--roles', 'editor,viewer']);
    await ok(site, ['users', 'add', 'dan']);
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('passwords add prints the secret once, in its fixed form; list never shows it', async () => {
    const text = await ok(site, ['passwords', 'add', 'carol', '--name', 'laptop-dav']);
    const lines = text.out.split('\n').filter(Boolean);
    const secrets = lines.filter((l) => SECRET_RE.test(l));
    assert.equal(secrets.length, 1, text.out);
    davSecret = secrets[0];
    // 32 body characters of base32: 160 random bits by construction
    assert.equal(davSecret.split('_')[2].length, 32 + 4);
    const other = await addPassword(site, 'carol', 'git');
    assert.notEqual(other, davSecret);
    const list = await ok(site, ['passwords', 'list', 'carol']);
    assert.match(list.out, /laptop-dav/);
    assert.match(list.out, /\bgit\b/);
    const json = await ok(site, ['passwords', 'list', 'carol'], { json: true });
    assert.deepEqual(json.json.map((p) => p.label).sort(), ['git', 'laptop-dav']);
    for (const out of [list.out, json.out]) {
      assert.ok(!out.includes(davSecret.slice(13, 45)) && !out.includes(other.slice(13, 45)), 'no secret in list');
      assert.ok(!/salt|hash/.test(out), 'no hash or salt in list');
    }
    // the registry keeps no secret either
    const files = fs.readdirSync(path.join(tmp, 'registry'));
    const stored = files.map((f) => fs.readFileSync(path.join(tmp, 'registry', f), 'utf8')).join('\n');
    assert.ok(!stored.includes(davSecret.slice(13, 45)), 'the registry keeps only the hash');
    assert.match(stored, /"kdf":"scrypt","label":"laptop-dav","ln":15,"p":1,"r":8/);
  });

  it('passwords add refuses an unknown account, a taken label and a bad --expires', async () => {
    assert.equal((await ctl(site, ['passwords', 'add', 'nobody', '--name', 'x'])).code, 2);
    assert.equal((await ctl(site, ['passwords', 'add', 'carol', '--name', 'git'])).code, 4);
    assert.equal((await ctl(site, ['passwords', 'add', 'carol', '--name', 'y', '--expires', '5w'])).code, 1);
    assert.equal((await ctl(site, ['passwords', 'add', 'carol', '--name', 'a b'])).code, 1);
    assert.equal((await ctl(site, ['passwords', 'add', 'carol'])).code, 1);
    assert.equal((await ctl(site, ['passwords', 'del', 'carol', 'nothing'])).code, 2);
  });

  it('Basic with the app password: the account, its roles, no session, no cookie', async () => {
    const r = await get(site, '/p/basic/env.cgi', { auth: basic('carol', davSecret) });
    assert.equal(r.status, 200, show(r));
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'carol');
    assert.equal(env.FEDAUTH_USER, 'carol');
    assert.equal(env.FEDAUTH_ROLES, 'editor,viewer');
    assert.equal(env.FEDAUTH_IDP, 'app-password:laptop-dav');
    assert.equal(r.setCookie, null, 'no cookie');
    // the cached pass answers the same
    const again = await get(site, '/p/basic/env.cgi', { auth: basic('carol', davSecret) });
    assert.equal(again.status, 200, show(again));
    assert.equal(parseEnv(again.body).REMOTE_USER, 'carol');
    const editor = await get(site, '/p/editor/env.cgi', { auth: basic('carol', davSecret) });
    assert.equal(editor.status, 200, show(editor));
  });

  it('the Authorization header reaches no script, even with CGIPassAuth On', async () => {
    const r = await get(site, '/p/basic/auth.cgi', { auth: basic('carol', davSecret) });
    assert.equal(r.status, 200, show(r));
    assert.match(r.body, /^REMOTE_USER=carol$/m);
    assert.match(r.body, /^HTTP_AUTHORIZATION=$/m);
  });

  it('an ErrorDocument in another FedAuthBasic location runs as the same account', async () => {
    const r = await get(site, '/p/basic/no-such-script', { auth: basic('carol', davSecret) });
    assert.equal(r.status, 404, show(r));
    assert.match(r.body, /^REMOTE_USER=carol$/m);
    assert.match(r.body, /^FEDAUTH_IDP=app-password:laptop-dav$/m);
  });

  it('without credentials: a client gets 401 with a Basic challenge, a browser is sent to sign in', async () => {
    const r = await get(site, '/p/basic/env.cgi');
    assert.equal(r.status, 401, show(r));
    assert.match(r.headers.get('www-authenticate') || '', /^Basic realm="[^"]+", charset="UTF-8"/);
    const put = await fetch(`${site.base}/p/basic/env.cgi`, { method: 'PUT', body: 'x', redirect: 'manual' });
    assert.equal(put.status, 401);
    assert.match(put.headers.get('www-authenticate') || '', /^Basic /);
    const nav = await navigate(site, '/p/basic/env.cgi');
    assert.equal(nav.status, 302, JSON.stringify(nav));
    assert.match(nav.location, /^http:\/\/127\.0\.0\.1:\d+\/.*client_id=/);
    // a location that takes bearer tokens too offers both
    const both = await get(site, '/p/both/env.cgi');
    assert.equal(both.status, 401);
    assert.match(both.headers.get('www-authenticate'), /Basic realm=.*Bearer realm=/);
    // a location without FedAuthBasic takes no app password
    const plain = await get(site, '/p/plain/env.cgi', { auth: basic('carol', davSecret) });
    assert.notEqual(plain.status, 200, show(plain));
  });

  it('wrong secret, unknown account, malformed value: 401 app_password_wrong, nothing passed on', async () => {
    const wrong = davSecret.slice(0, -5) + (davSecret.at(-5) === 'a' ? 'b' : 'a') + davSecret.slice(-4);
    refusedWith(await get(site, '/p/basic/env.cgi', { auth: basic('carol', wrong) }), 401, 'app_password_wrong');
    refusedWith(await get(site, '/p/basic/env.cgi', { auth: basic('nobody', davSecret) }), 401, 'app_password_wrong');
    refusedWith(await get(site, '/p/basic/env.cgi', { auth: basic('dan', davSecret) }), 401, 'app_password_wrong');
    refusedWith(await get(site, '/p/basic/env.cgi', { auth: 'Basic %%%notbase64' }), 401, 'app_password_wrong');
    refusedWith(await get(site, '/p/basic/env.cgi', { auth: `Basic ${'A'.repeat(4000)}` }), 401, 'app_password_wrong');
    const r = await get(site, '/p/basic/env.cgi', { auth: basic('carol', wrong) });
    assert.match(r.headers.get('www-authenticate') || '', /^Basic /);
    assert.ok(!r.body.includes('carol:'), 'nothing of the credentials on the page');
  });

  it('roles narrowed by --roles: Require fedauth-role sees only the intersection', async () => {
    const viewer = await addPassword(site, 'carol', 'viewer-only', ['--roles', 'viewer,owner']);
    const r = await get(site, '/p/basic/env.cgi', { auth: basic('carol', viewer) });
    assert.equal(r.status, 200, show(r));
    assert.equal(parseEnv(r.body).FEDAUTH_ROLES, 'viewer');
    const editor = await get(site, '/p/editor/env.cgi', { auth: basic('carol', viewer) });
    assert.equal(editor.status, 403, show(editor));
    assert.ok(errorCodes(editor.body).includes('access_denied'));
  });

  it('an expired password stops: 401 app_password_expired', async () => {
    const short = await addPassword(site, 'carol', 'short', ['--expires', '6s']);
    const r = await get(site, '/p/basic/env.cgi', { auth: basic('carol', short) });
    assert.equal(r.status, 200, show(r));
    await sleep(6500);
    refusedWith(await get(site, '/p/basic/env.cgi', { auth: basic('carol', short) }), 401, 'app_password_expired');
  });

  it('a deleted password stops at once (in every process, cached or not)', async () => {
    const gone = await addPassword(site, 'carol', 'to-delete');
    for (let i = 0; i < 4; i++) {
      assert.equal((await get(site, '/p/basic/env.cgi', { auth: basic('carol', gone) })).status, 200);
    }
    const del = await ok(site, ['passwords', 'del', 'carol', 'to-delete']);
    assert.match(del.out, /deleted app password to-delete/);
    for (let i = 0; i < 4; i++) {
      refusedWith(await get(site, '/p/basic/env.cgi', { auth: basic('carol', gone) }), 401, 'app_password_wrong');
    }
  });

  it('a disabled account is refused at once (403), enabled again it works', async () => {
    // an account of its own: carol has failures counted by now (the tests
    // above), and only a process that verified her password lately lets
    // her past the limit, which a run with more processes may not hit
    await ok(site, ['users', 'add', 'dora']);
    const s = await addPassword(site, 'dora', 'dav');
    assert.equal((await get(site, '/p/basic/env.cgi', { auth: basic('dora', s) })).status, 200);
    await ok(site, ['users', 'mod', 'dora', '--disable']);
    refusedWith(await get(site, '/p/basic/env.cgi', { auth: basic('dora', s) }), 403, 'account_disabled');
    await ok(site, ['users', 'mod', 'dora', '--enable']);
    assert.equal((await get(site, '/p/basic/env.cgi', { auth: basic('dora', s) })).status, 200);
  });

  it('a deleted account takes its passwords with it', async () => {
    await ok(site, ['users', 'add', 'erin']);
    const s = await addPassword(site, 'erin', 'dav');
    assert.equal((await get(site, '/p/basic/env.cgi', { auth: basic('erin', s) })).status, 200);
    await ok(site, ['users', 'del', 'erin']);
    refusedWith(await get(site, '/p/basic/env.cgi', { auth: basic('erin', s) }), 401, 'app_password_wrong');
    const files = fs.readdirSync(path.join(tmp, 'registry'));
    assert.ok(!files.some((f) => f.startsWith('p%3Aerin%3A') || f.startsWith('p:erin:')), files.join(' '));
  });

  it('the attempt log has a line per verification and per refusal, never the secret', async () => {
    const lines = attempts().filter((a) => a.idp === 'app-password');
    const reasons = new Set(lines.map((a) => a.reason));
    for (const r of [null, 'app_password_wrong', 'app_password_expired', 'account_disabled']) {
      assert.ok(reasons.has(r), `reason ${r} in ${[...reasons].join(' ')}`);
    }
    assert.ok(lines.some((a) => a.account === 'carol' && a.outcome === 'success'));
    const logs = fs.readFileSync(attemptLog, 'utf8') + site.errorLog()
      + fs.readFileSync(path.join(site.httpd.dir, 'access.log'), 'utf8');
    assert.ok(!logs.includes(davSecret.slice(13, 45)), 'no secret in any log');
    assert.ok(!logs.includes(Buffer.from(`carol:${davSecret}`).toString('base64').slice(0, 40)));
  });

  it('guessing one account: slowed past half the limit, then 429 with Retry-After, even for the right password', async () => {
    await ok(site, ['users', 'add', 'gus']);
    const right = await addPassword(site, 'gus', 'dav');
    const times = [];
    for (let i = 1; i <= ACCOUNT_LIMIT; i++) {
      const t0 = Date.now();
      refusedWith(await get(site, '/p/basic/env.cgi', { auth: basic('gus', `guess-${i}`) }), 401, 'app_password_wrong');
      times.push(Date.now() - t0);
    }
    assert.ok(times[ACCOUNT_LIMIT - 1] >= 900, `the last failures wait a second: ${times.join(' ')} ms`);
    const r = await get(site, '/p/basic/env.cgi', { auth: basic('gus', right) });
    refusedWith(r, 429, 'app_password_rate_limited');
    const wait = Number(r.headers.get('retry-after'));
    assert.ok(wait >= 1 && wait <= WINDOW, `Retry-After ${r.headers.get('retry-after')}`);
    // another account from the same address still works
    const dans = await addPassword(site, 'dan', 'dav');
    assert.equal((await get(site, '/p/basic/env.cgi', { auth: basic('dan', dans) })).status, 200);
    assert.ok(attempts().some((a) => a.account === 'gus' && a.reason === 'app_password_rate_limited'));
  });

  it('guessing from one address across accounts: 429 for every account from there', async () => {
    // this address has some failures already (the earlier cases)
    for (let i = 0; i < CLIENT_LIMIT; i++) {
      const r = await get(site, '/p/basic/env.cgi', { auth: basic(`spray${i}`, 'x') });
      if (r.status === 429) break;
      refusedWith(r, 401, 'app_password_wrong');
    }
    const r = await get(site, '/p/basic/env.cgi', { auth: basic('dan', 'whatever') });
    refusedWith(r, 429, 'app_password_rate_limited');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
  });

  it('the metrics count each outcome', async () => {
    const r = await fetch(`${site.base}/fedauth/metrics`);
    const text = await r.text();
    const count = (o) => Number((text.match(new RegExp(`^fedauth_app_passwords_total\\{outcome="${o}"\\} (\\d+)$`, 'm')) || [])[1]);
    for (const o of ['ok', 'wrong', 'expired', 'refused', 'rate_limited']) {
      assert.ok(count(o) > 0, `${o}: ${count(o)}`);
    }
    assert.ok(count('cached') > 0, 'later requests skip the KDF');
  });

  it('no crash, no unexpected line in the error log', () => {
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog().slice(-4000)}`);
  });
});

describe('app passwords on two hosts sharing Redis: one registry, one count of failures', {
  skip: !redisAvailable() && 'redis-server not installed',
}, () => {
  let redis;
  let a;
  let b;
  let secret;
  const serverConf = () => `FedAuthSessionStore redis://127.0.0.1:${redis.port}/9
FedAuthRedisPrefix "t940:"
FedAuthRegistry On
FedAuthRegister Off
FedAuthBasicLimit 3 50 60
`;
  const locationsConf = `<Location /p/basic/>
    AuthType FedAuth
    FedAuthBasic On
    Require valid-user
</Location>
`;

  before(async () => {
    redis = await startRedis();
    a = await startSite({ providers: [{ id: 'corp' }], serverConf, locationsConf });
    b = await startSite({ providers: [{ id: 'corp' }], secret: a.secret, serverConf, locationsConf });
    const conf = path.join(a.httpd.dir, 'fedauthctl.conf');
    for (let i = 0; i < 200 && !fs.existsSync(conf); i++) await sleep(50);
    await ok(a, ['users', 'add', 'hal']);
    secret = await addPassword(a, 'hal', 'dav');
  });
  after(async () => {
    for (const s of [a, b]) {
      await s?.stop();
      s?.cleanup();
    }
    await redis?.stop();
    redis?.cleanup();
  });

  it('a password made with fedauthctl works on both hosts; deleted, on neither', async () => {
    for (const s of [a, b]) {
      const r = await get(s, '/p/basic/env.cgi', { auth: basic('hal', secret) });
      assert.equal(r.status, 200, show(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, 'hal');
    }
    const other = await addPassword(a, 'hal', 'tmp');
    assert.equal((await get(b, '/p/basic/env.cgi', { auth: basic('hal', other) })).status, 200);
    await ok(a, ['passwords', 'del', 'hal', 'tmp']);
    refusedWith(await get(b, '/p/basic/env.cgi', { auth: basic('hal', other) }), 401, 'app_password_wrong');
  });

  it('failures at host A lock the account at host B (429)', async () => {
    await ok(a, ['users', 'add', 'ida']);
    const right = await addPassword(a, 'ida', 'dav');
    for (let i = 0; i < 3; i++) {
      refusedWith(await get(a, '/p/basic/env.cgi', { auth: basic('ida', `guess${i}`) }), 401, 'app_password_wrong');
    }
    const r = await get(b, '/p/basic/env.cgi', { auth: basic('ida', right) });
    refusedWith(r, 429, 'app_password_rate_limited');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    // the counts are store keys with an expiry, no account name in them
    const keys = (await redis.cli(['KEYS', 't940:bf:*'], { db: 9 })).split('\n').filter(Boolean);
    assert.ok(keys.length >= 3, keys.join(' '));
    assert.ok(!keys.some((k) => k.includes('ida')), keys.join(' '));
    const ttl = Number(await redis.cli(['TTL', keys[0]], { db: 9 }));
    assert.ok(ttl > 0 && ttl <= 60, `TTL ${ttl}`);
  });

  it('no crash, no unexpected line in either error log', () => {
    for (const s of [a, b]) assert.deepEqual(s.troubles(), [], s.errorLog().slice(-3000));
  });
});

describe('app passwords: apache2 -t refuses bad values, naming directive and file:line', () => {
  requireModule();
  const cases = [
    ['FedAuthBasic Maybe', 'loc', /FedAuthBasic/],
    ['FedAuthBasicCache -1', 'srv', /FedAuthBasicCache.*0 to 3600/],
    ['FedAuthBasicCache 9999', 'srv', /FedAuthBasicCache/],
    ['FedAuthBasicLimit 0 10 60', 'srv', /FedAuthBasicLimit failures: expects a whole number from 1 to 1000/],
    ['FedAuthBasicLimit 5 10 0', 'srv', /FedAuthBasicLimit seconds: expects a whole number from 1 to 86400/],
    ['FedAuthBasicLimit 5 10', 'srv', /FedAuthBasicLimit/],
  ];
  for (const [line, where, re] of cases) {
    it(`${line} (${where === 'loc' ? 'in a <Location>' : 'server'})`, async () => {
      const { dir, confFile } = await writeHttpdConfig({
        providersConf: `FedAuthSecret "0123456789abcdef0123456789abcdef"\n${where === 'srv' ? line : ''}`,
        locationsConf: where === 'loc' ? `<Location /x>\n    AuthType FedAuth\n    ${line}\n    Require valid-user\n</Location>\n` : '',
      });
      try {
        const res = await configTest(confFile);
        assert.notEqual(res.code, 0, `${line} accepted`);
        const out = res.stdout + res.stderr;
        assert.match(out, re, out);
        assert.match(out, /httpd\.conf/, out);
      } finally {
        removeDir(dir);
      }
    });
  }
});
