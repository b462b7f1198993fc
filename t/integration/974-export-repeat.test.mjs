// SPDX-License-Identifier: Apache-2.0
// What a session passes on stays the same from request to request in one
// process (issue 24, third pass: from its second session request with the
// same attributes, each process appends the values' names from tables it
// made once). On every one of 24 requests, over both worker processes: each
// FEDAUTH_* variable and each X-FedAuth-* header exactly once, with the
// session's value; a value with CR/LF still reaches the backend without
// them; a client's own X-FedAuth-* headers never arrive; and httpd's table
// look-ups find every name (mod_headers reads them back: %{…}e, %{…}i),
// the first, the last and those between.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSite, Browser, parseEnv, dump, testUser } from '../lib/index.mjs';
import { startEchoBackend, fedauthHeaderNames } from '../lib/backend.mjs';

const CRLF = 'one\r\nX-Injected: evil';
const RITA = testUser('rita', 'R', {
  department: 'Research',
  cost_center: 'CC-4711',
  note: CRLF,
});

const EXPECTED_ENV = {
  FEDAUTH_USER: 'rita',
  FEDAUTH_IDP: 'rep',
  FEDAUTH_DEPARTMENT: 'Research',
  FEDAUTH_COST_CENTER: 'CC-4711',
};
const EXPECTED_HEADERS = {
  'x-fedauth-user': 'rita',
  'x-fedauth-idp': 'rep',
  'x-fedauth-department': 'Research',
  'x-fedauth-cost-center': 'CC-4711',
};

// mod_headers (fixups, after the module) reads the values back through
// apr_table_get: user (first), sub and department (between), the note
// (the last attribute), from both tables.
const READ_BACK = 'RequestHeader set X-Read-Back "expr='
  + '%{reqenv:FEDAUTH_USER}|%{reqenv:FEDAUTH_SUB}|%{reqenv:FEDAUTH_DEPARTMENT}|'
  + '%{reqenv:FEDAUTH_NOTE}|%{req:X-FedAuth-Sub}|%{req:X-FedAuth-Cost-Center}|'
  + '%{req:X-FedAuth-Note}"';

describe('the values passed on, request after request', () => {
  let backend;
  let site;
  let base;
  const b = new Browser();

  before(async () => {
    backend = await startEchoBackend();
    site = await startSite({
      users: [RITA],
      providers: [{
        id: 'rep',
        extra: '    ClaimMap department DEPARTMENT\n    ClaimMap cost_center COST_CENTER\n    ClaimMap note NOTE\n',
      }],
      locationsConf: `<Location /p/>
    AuthType FedAuth
    Require valid-user
</Location>
<Location /p/envonly/>
    FedAuthPassClaimsAs env
</Location>
<Location /p/hdronly/>
    FedAuthPassClaimsAs headers
</Location>
<Location /app/>
    AuthType FedAuth
    Require valid-user
    ${READ_BACK}
</Location>
`,
      extraConf: `ProxyPass /app/ http://127.0.0.1:${backend.port}/\n`,
    });
    base = site.base;
    const r = await b.login(`${base}/p/rep/env.cgi`, 'rita', 'rita-pass-R');
    assert.equal(r.status, 200, `login\n${dump(r)}`);
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    await backend?.close();
  });

  it('CGI, 24 requests: every FEDAUTH_* and X-FedAuth-* with the session\'s value, the client\'s never', async () => {
    let sub;
    for (let i = 0; i < 24; i++) {
      const r = await b.getOnce(`${base}/p/rep/env.cgi`, { headers: { 'X-FedAuth-Department': 'Spoofed' } });
      assert.equal(r.status, 200, dump(r));
      const env = parseEnv(r.body);
      for (const [k, v] of Object.entries(EXPECTED_ENV)) assert.equal(env[k], v, `${k} on request ${i}\n${r.body}`);
      sub ??= env.FEDAUTH_SUB;
      assert.ok(sub, r.body);
      assert.equal(env.FEDAUTH_SUB, sub, r.body);
      assert.equal(env.HTTP_X_FEDAUTH_SUB, sub, r.body);
      assert.equal(env.HTTP_X_FEDAUTH_DEPARTMENT, 'Research', r.body);
      assert.ok(env.FEDAUTH_NOTE?.startsWith('one') && !/[\r\n]/.test(env.FEDAUTH_NOTE), r.body);
      assert.ok(!/[\r\n]/.test(env.HTTP_X_FEDAUTH_NOTE ?? ''), r.body);
      assert.ok(env.HTTP_X_FEDAUTH_NOTE?.startsWith('one'), r.body);
    }
  });

  it('proxied, 24 requests: each X-FedAuth-* header exactly once, no CR/LF, the client\'s never; mod_headers reads every name back', async () => {
    for (let i = 0; i < 24; i++) {
      const r = await b.getOnce(`${base}/app/echo`, { headers: { 'X-FedAuth-User': 'mallory', 'X-FedAuth-Note': 'spoofed' } });
      assert.equal(r.status, 200, dump(r));
      const echo = JSON.parse(r.body);
      const names = fedauthHeaderNames(echo).map((n) => n.toLowerCase());
      assert.equal(new Set(names).size, names.length, `a header twice on request ${i}: ${names}`);
      for (const want of ['x-fedauth-user', 'x-fedauth-sub', 'x-fedauth-idp', 'x-fedauth-roles',
        'x-fedauth-department', 'x-fedauth-cost-center', 'x-fedauth-note']) {
        assert.ok(names.includes(want), `${want} missing on request ${i}: ${names}`);
      }
      for (const [k, v] of Object.entries(EXPECTED_HEADERS)) assert.equal(echo.headers[k], v, `${k} on request ${i}`);
      assert.ok(!echo.headers['x-injected'], JSON.stringify(echo.rawHeaders));
      const sub = echo.headers['x-fedauth-sub'];
      const back = (echo.headers['x-read-back'] ?? '').split('|');
      assert.ok(sub, JSON.stringify(echo.rawHeaders));
      assert.equal(back.length, 7, echo.headers['x-read-back']);
      assert.deepEqual(back.slice(0, 3), ['rita', sub, 'Research'], echo.headers['x-read-back']);
      assert.ok(back[3].startsWith('one'), echo.headers['x-read-back']);
      assert.deepEqual(back.slice(4, 6), [sub, 'CC-4711'], echo.headers['x-read-back']);
      assert.ok(back[6].startsWith('one'), echo.headers['x-read-back']);
      assert.ok(!/[\r\n]/.test(echo.headers['x-fedauth-note']), echo.headers['x-fedauth-note']);
      assert.ok(!JSON.stringify(echo.rawHeaders).includes('mallory'), JSON.stringify(echo.rawHeaders));
      assert.ok(!JSON.stringify(echo.rawHeaders).includes('spoofed'), JSON.stringify(echo.rawHeaders));
    }
  });

  it('FedAuthPassClaimsAs env, then headers, 12 requests each: only where asked, every value', async () => {
    for (let i = 0; i < 12; i++) {
      const e = await b.getOnce(`${base}/p/envonly/env.cgi`);
      assert.equal(e.status, 200, dump(e));
      const env = parseEnv(e.body);
      for (const [k, v] of Object.entries(EXPECTED_ENV)) assert.equal(env[k], v, `${k} on request ${i}\n${e.body}`);
      assert.deepEqual(Object.keys(env).filter((k) => k.startsWith('HTTP_X_FEDAUTH_')), [], e.body);
      const h = await b.getOnce(`${base}/p/hdronly/env.cgi`);
      assert.equal(h.status, 200, dump(h));
      const hv = parseEnv(h.body);
      assert.equal(hv.HTTP_X_FEDAUTH_USER, 'rita', h.body);
      assert.equal(hv.HTTP_X_FEDAUTH_COST_CENTER, 'CC-4711', h.body);
      assert.deepEqual(Object.keys(hv).filter((k) => k.startsWith('FEDAUTH_')), [], h.body);
    }
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
