// SPDX-License-Identifier: Apache-2.0
// Sessions in the embedded store: every worker process sees them, logins
// run in parallel, expiry follows FedAuthSessionIdleTimeout; per-location
// FedAuthUnauthenticated 401 and FedAuthPassClaimsAs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSite, Browser, parseEnv, dump, protectedLocation } from '../lib/index.mjs';

const loc = (path, extra) => `<Location ${path}>
    AuthType FedAuth
${extra}    Require valid-user
</Location>
`;

describe('sessions and per-location options', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({
      providers: [{ id: 'test' }],
      serverConf: 'FedAuthSessionIdleTimeout 60\nFedAuthSessionMaxAge 120\n',
      locationsConf: [
        protectedLocation(),
        loc('/p/api/', '    FedAuthUnauthenticated 401\n'),
        loc('/p/envonly/', '    FedAuthPassClaimsAs env\n'),
        loc('/p/hdronly/', '    FedAuthPassClaimsAs headers\n'),
        loc('/p/nothing/', '    FedAuthPassClaimsAs none\n'),
      ].join('\n'),
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  let b;
  it('a login over fresh connections, then the session works in every worker process', async () => {
    b = new Browser({ headers: { Connection: 'close' } });
    const r = await b.login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    const pids = new Set();
    const lines = () => site.httpd.accessLog().split('\n').filter((l) => l.includes('GET /protected/env.cgi '));
    for (let i = 0; i < 60 && pids.size < 2; i++) {
      const before = lines().length;
      const x = await b.getOnce(`${base}/protected/env.cgi`);
      assert.equal(x.status, 200, dump(x));
      assert.equal(parseEnv(x.body).REMOTE_USER, 'alice');
      // the access log line is written after the response: wait for it (bounded)
      let now = lines();
      for (let k = 0; k < 40 && now.length <= before; k++) {
        await new Promise((res) => { setTimeout(res, 25); });
        now = lines();
      }
      for (const l of now.slice(before)) {
        const m = / 200 \S+ pid=(\d+)/.exec(l);
        if (m) pids.add(m[1]);
      }
    }
    assert.ok(pids.size >= 2, `requests were served by ${pids.size} worker process(es) only: the test could not cross processes`);
  });

  it('/fedauth/session expires_at follows FedAuthSessionIdleTimeout 60', async () => {
    assert.ok(b, 'logged in');
    const s = await b.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 200, dump(s));
    const j = JSON.parse(s.body);
    const now = Date.now() / 1000;
    assert.ok(j.expires_at >= now + 50 && j.expires_at <= now + 61, `expires_at ${j.expires_at}, now ${now}`);
  });

  it('FedAuthUnauthenticated 401: no session gives 401, no redirect, no state cookie', async () => {
    const r = await new Browser().getOnce(`${base}/p/api/env.cgi`);
    assert.equal(r.status, 401, dump(r));
    assert.equal(r.location, undefined);
    assert.equal(r.setCookies.filter((c) => /^fedauth_session_state_/.test(c.name)).length, 0);
    const ok = await b.getOnce(`${base}/p/api/env.cgi`);
    assert.equal(ok.status, 200, dump(ok));
    assert.equal(parseEnv(ok.body).REMOTE_USER, 'alice');
  });

  it('FedAuthPassClaimsAs env: FEDAUTH_* variables, no X-FedAuth-* headers', async () => {
    const r = await b.getOnce(`${base}/p/envonly/env.cgi`, { headers: { 'X-FedAuth-User': 'mallory' } });
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'alice', r.body);
    assert.equal(env.FEDAUTH_USER, 'alice', r.body);
    assert.deepEqual(Object.keys(env).filter((k) => k.startsWith('HTTP_X_FEDAUTH_')), [], r.body);
  });

  it('FedAuthPassClaimsAs headers: X-FedAuth-* headers, no FEDAUTH_* variables', async () => {
    const r = await b.getOnce(`${base}/p/hdronly/env.cgi`, { headers: { 'X-FedAuth-User': 'mallory' } });
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'alice', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_USER, 'alice', r.body);
    assert.deepEqual(Object.keys(env).filter((k) => k.startsWith('FEDAUTH_')), [], r.body);
  });

  it('FedAuthPassClaimsAs none: only REMOTE_USER', async () => {
    const r = await b.getOnce(`${base}/p/nothing/env.cgi`, { headers: { 'X-FedAuth-User': 'mallory' } });
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, 'alice', r.body);
    assert.deepEqual(Object.keys(env).filter((k) => k.startsWith('FEDAUTH_') || k.startsWith('HTTP_X_FEDAUTH_')), [], r.body);
  });

  it('12 logins in parallel each get their own session', async () => {
    const users = [['alice', 'alice-pass-1', 'alice'], ['bob', 'bob-pass-2', 'bob@example.org'], ['carol', 'carol-pass-3', 'carol-sub-0003@test']];
    const runs = Array.from({ length: 12 }, (_, i) => (async () => {
      const [u, p, expect] = users[i % 3];
      const c = new Browser({ headers: { Connection: 'close' } });
      const r = await c.login(`${base}/protected/env.cgi`, u, p);
      assert.equal(r.status, 200, dump(r));
      assert.equal(parseEnv(r.body).REMOTE_USER, expect);
      const s = JSON.parse((await c.getOnce(`${base}/fedauth/session`)).body);
      assert.equal(s.user, expect);
      return c.jar.get('fedauth_session').value;
    })());
    const cookies = await Promise.all(runs);
    assert.equal(new Set(cookies).size, 12, 'distinct session ids');
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
