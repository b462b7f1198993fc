// SPDX-License-Identifier: Apache-2.0
// The attempt log (FedAuthAttemptLog, issue 12): one line of JSON per
// sign-in attempt, made or refused, with what was known of the user at that
// point; whole lines from parallel sign-ins in several workers; a program
// after "|" gets the same lines; apache2 -t refuses an empty program.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  startSite, Browser, dump, errorCodes, loginUntilCallback, parseEnv, protectedLocation,
  writeHttpdConfig, configTest, requireModule, removeDir, sleep,
} from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';

const ALICE_SUB = 'alice-sub-0001';

/** The lines of the log as objects; every line must be JSON. */
function readLog(file) {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), `the log ends with a newline:\n${text.slice(-300)}`);
  return text.split('\n').filter(Boolean).map((l) => {
    try {
      return JSON.parse(l);
    } catch (e) {
      throw new Error(`not a JSON line: ${l}`);
    }
  });
}

/** Waits (bounded) until the log has at least n lines (a pipe may lag). */
async function waitLines(file, n, ms = 5000) {
  const end = Date.now() + ms;
  let lines = readLog(file);
  while (lines.length < n && Date.now() < end) {
    await sleep(50);
    lines = readLog(file);
  }
  return lines;
}

function assertShape(line) {
  assert.deepEqual(Object.keys(line), ['time', 'outcome', 'reason', 'idp', 'sub', 'account', 'client'], JSON.stringify(line));
  assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Math.abs(Date.parse(line.time) - Date.now()) < 120000, `time ${line.time} is now`);
  assert.equal(line.client, '127.0.0.1');
}

describe('FedAuthAttemptLog to a file', () => {
  let site;
  let dir;
  let file;
  const start = () => `${site.base}/protected/env.cgi`;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-attempts-'));
    file = path.join(dir, 'attempts.log');
    site = await startSite({
      providers: [{ id: 'test', extra: 'UserInfo On\n' }],
      serverConf: `FedAuthAttemptLog "${file}"\nFedAuthTokenLogin On\n`,
      locationsConf: protectedLocation(),
    });
  });
  after(async () => {
    await site?.idps.default?.tamper(null).catch(() => {});
    await site?.stop();
    site?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('nothing is written before anyone signs in', async () => {
    const r = await new Browser().getOnce(start());
    assert.equal(r.status, 302, dump(r));
    assert.deepEqual(readLog(file), []);
  });

  it('a sign-in: one success line with the provider, sub, account and address', async () => {
    const b = new Browser();
    const r = await b.login(start(), 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'alice');
    const lines = readLog(file);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assertShape(lines[0]);
    assert.deepEqual({ ...lines[0], time: undefined, client: undefined }, {
      time: undefined, outcome: 'success', reason: null, idp: 'test', sub: ALICE_SUB, account: 'alice', client: undefined,
    });
    // using the session is not an attempt
    assert.equal((await b.getOnce(start())).status, 200);
    assert.equal(readLog(file).length, 1);
  });

  it('a tampered state: a failure with its reason, nothing known of the user', async () => {
    const b = new Browser();
    const cb = new URL(await loginUntilCallback(b, start(), site.base, 'test'));
    const state = cb.searchParams.get('state');
    cb.searchParams.set('state', (state[0] === 'A' ? 'B' : 'A') + state.slice(1));
    const r = await b.getOnce(cb.href);
    assert.equal(r.status, 400, dump(r));
    assert.ok(errorCodes(r.body).includes('state_mismatch'));
    const last = readLog(file).at(-1);
    assertShape(last);
    assert.equal(last.outcome, 'failure');
    assert.equal(last.reason, 'state_mismatch', 'the code the error page shows');
    assert.equal(last.idp, 'test');
    assert.equal(last.sub, null);
    assert.equal(last.account, null);
  });

  it('refused after the ID token passed: the failure names the sub', async () => {
    await site.idps.default.tamper('userinfo_sub');
    try {
      const b = new Browser();
      const r = await b.login(start(), 'alice', 'alice-pass-1');
      assert.equal(r.status, 401, dump(r));
      assert.ok(errorCodes(r.body).includes('userinfo_sub_mismatch'), dump(r));
    } finally {
      await site.idps.default.tamper(null);
    }
    const last = readLog(file).at(-1);
    assertShape(last);
    assert.equal(last.outcome, 'failure');
    assert.equal(last.reason, 'userinfo_sub_mismatch');
    assert.equal(last.sub, ALICE_SUB);
    assert.equal(last.account, null, 'no account yet: the claims were not mapped');
  });

  it('a token sign-in with a forged token: a failure with the JSON answer\'s code', async () => {
    const b = new Browser();
    const r = await b.request(`${site.base}/fedauth/authenticate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ id_token: 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.' }).toString(),
    });
    assert.equal(r.status, 401, dump(r));
    const code = JSON.parse(r.body).error;
    const last = readLog(file).at(-1);
    assertShape(last);
    assert.equal(last.outcome, 'failure');
    assert.equal(last.reason, code);
  });

  it('12 sign-ins at once, across the workers: 12 whole lines, one per sign-in', async () => {
    const before = readLog(file).length;
    const results = await Promise.all(Array.from({ length: 12 }, async () => {
      const b = new Browser();
      return b.login(start(), 'alice', 'alice-pass-1');
    }));
    for (const r of results) assert.equal(r.status, 200, dump(r));
    const lines = readLog(file).slice(before);
    assert.equal(lines.length, 12, JSON.stringify(lines));
    for (const l of lines) {
      assertShape(l);
      assert.equal(l.outcome, 'success');
      assert.equal(l.account, 'alice');
    }
  });

  it('the log file is not world-readable', () => {
    const mode = fs.statSync(file).mode & 0o777;
    assert.equal(mode & 0o007, 0, `mode ${mode.toString(8)}`);
  });
});

describe('FedAuthAttemptLog to a program', () => {
  let site;
  let dir;
  let file;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-attempts-'));
    file = path.join(dir, 'piped.log');
    site = await startSite({
      providers: [{ id: 'test' }],
      serverConf: `FedAuthAttemptLog "|/bin/sh -c 'exec cat >> ${file}'"\n`,
      locationsConf: protectedLocation(),
    });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the program reads the same lines', async () => {
    const r = await new Browser().login(`${site.base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    const lines = await waitLines(file, 1);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assertShape(lines[0]);
    assert.equal(lines[0].outcome, 'success');
    assert.equal(lines[0].account, 'alice');
  });
});

describe('FedAuthAttemptLog configuration errors', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));

  for (const [value, why] of [['"|"', 'no program after |'], ['"|  "', 'only blanks after |'], ['""', 'empty']]) {
    it(`FedAuthAttemptLog ${value} (${why}): apache2 -t fails naming the directive and the line`, async () => {
      requireModule();
      const { dir, confFile } = await writeHttpdConfig({
        providersConf: `FedAuthSecret "a long enough test passphrase for config tests"\nFedAuthAttemptLog ${value}\n`,
        locationsConf: '',
      });
      dirs.push(dir);
      const r = await configTest(confFile);
      const out = `${r.stdout}${r.stderr}`;
      assert.notEqual(r.code, 0, out);
      assert.match(out, /FedAuthAttemptLog (expects a file or \|program|takes one argument)/);
      const line = fs.readFileSync(confFile, 'utf8').split('\n').findIndex((l) => l.startsWith('FedAuthAttemptLog')) + 1;
      assert.ok(out.includes(`line ${line} of`) || out.includes(`:${line}`), `line ${line} named:\n${out}`);
    });
  }
});

describe('the attempt log and the metrics count the same attempts', () => {
  let site;
  let dir;
  let file;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-attempts-'));
    file = path.join(dir, 'attempts.log');
    site = await startSite({
      providers: [{ id: 'test' }],
      serverConf: `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthMetrics On
FedAuthTokenLogin On
FedAuthAttemptLog "${file}"
`,
      locationsConf: `${protectedLocation()}<Location /fedauth/metrics>
    Require ip 127.0.0.1
</Location>
`,
    });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a sign-in, a tampered state and a token with a bad signature: three lines, three counts', async () => {
    const start = `${site.base}/protected/env.cgi`;
    assert.equal((await new Browser().login(start, 'alice', 'alice-pass-1')).status, 200);
    const b = new Browser();
    const cb = new URL(await loginUntilCallback(b, start, site.base, 'test'));
    const state = cb.searchParams.get('state');
    cb.searchParams.set('state', (state[0] === 'A' ? 'B' : 'A') + state.slice(1));
    assert.equal((await b.getOnce(cb.href)).status, 400);
    // an RS256 token of this provider's issuer whose signature is not its key's
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const forged = `${b64({ alg: 'RS256', kid: 'nope' })}.${b64({
      iss: site.idps.default.issuer, aud: site.clients.test.client_id, sub: 'x', iat: now, exp: now + 60,
    })}.${Buffer.alloc(256, 1).toString('base64url')}`;
    const t = await new Browser().request(`${site.base}/fedauth/authenticate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ id_token: forged }).toString(),
    });
    assert.equal(t.status, 401, dump(t));
    const tokenCode = JSON.parse(t.body).error;

    const lines = readLog(file);
    assert.deepEqual(lines.map((l) => [l.idp, l.outcome, l.reason]),
      [['test', 'success', null], ['test', 'failure', 'state_mismatch'], ['test', 'failure', tokenCode]]);
    const m = await new Browser().getOnce(`${site.base}/fedauth/metrics`);
    assert.equal(m.status, 200, dump(m));
    const count = (outcome) => {
      const re = new RegExp(`^fedauth_signins_total\\{provider="test",outcome="${outcome}"\\} (\\d+)$`, 'm');
      const hit = m.body.match(re);
      assert.ok(hit, `fedauth_signins_total for ${outcome} in\n${m.body.slice(0, 2000)}`);
      return Number(hit[1]);
    };
    assert.equal(count('ok'), 1);
    assert.equal(count('state_mismatch'), 1);
    assert.equal(count(tokenCode), 1, `the token login's refusal (${tokenCode}) is counted`);
  });
});
