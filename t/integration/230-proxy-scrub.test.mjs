// SPDX-License-Identifier: Apache-2.0
// Header scrubbing with mod_proxy (issue4.md "Headers"): a client-sent
// header starting with X-FedAuth- (any case) never reaches a proxied
// backend, on protected and unprotected paths alike; on a protected path
// the backend gets the module's own X-FedAuth-User/Sub/IdP/Roles, each
// once; FedAuthPassClaimsAs env/none send no X-FedAuth-* header at all.
// The backend is a node HTTP server on 127.0.0.1 that echoes the headers
// it got (t/lib/backend.mjs).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSite, Browser, dump, parseEnv } from '../lib/index.mjs';
import { startEchoBackend, fedauthHeaders } from '../lib/backend.mjs';

const SPOOF = {
  'X-FedAuth-Roles': 'admin',
  'x-fedauth-user': 'mallory',
  'X-FEDAUTH-SUB': 'mallory-sub',
  'X-FedAuth-IdP': 'evil',
  'X-Fedauth-Email': 'mallory@evil.example',
  'X-FedAuth-Made-Up': 'made-up',
};
const SPOOFED_VALUES = Object.values(SPOOF);

const authLoc = (path, extra = '') => `<Location ${path}>
    AuthType FedAuth
${extra}    Require valid-user
</Location>
`;

describe('X-FedAuth-* headers at a proxied backend', () => {
  let backend;
  let site;
  let base;

  before(async () => {
    backend = await startEchoBackend();
    const to = `http://127.0.0.1:${backend.port}/`;
    site = await startSite({
      providers: [{ id: 'test', extra: 'GroupsClaim groups\nGroupMap "staff" staff\n' }],
      locationsConf: [
        authLoc('/protected'),
        authLoc('/app/'),
        authLoc('/envapp/', '    FedAuthPassClaimsAs env\n'),
        authLoc('/noneapp/', '    FedAuthPassClaimsAs none\n'),
        authLoc('/hdrapp/', '    FedAuthPassClaimsAs headers\n'),
      ].join('\n'),
      extraConf: `ProxyRequests Off
ProxyPass /app/ ${to}
ProxyPass /open/ ${to}
ProxyPass /envapp/ ${to}
ProxyPass /noneapp/ ${to}
ProxyPass /hdrapp/ ${to}
`,
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    await backend?.close();
  });

  /** GET through httpd; returns the backend's echo of the request it got. */
  async function viaProxy(b, path, headers = {}) {
    const r = await b.getOnce(`${base}${path}`, { headers });
    assert.equal(r.status, 200, `GET ${path}\n${dump(r)}`);
    assert.match(r.headers.get('content-type') || '', /application\/json/, dump(r));
    return JSON.parse(r.body);
  }

  let alice;
  async function signedIn() {
    if (alice) return alice;
    const b = new Browser();
    const r = await b.login(`${base}/app/first`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, `login through the proxied path\n${dump(r)}`);
    const echo = JSON.parse(r.body);
    assert.equal(echo.url, '/first', r.body);
    alice = b;
    return b;
  }

  const noSpoofedValue = (echo) => {
    for (const [k, v] of echo.rawHeaders) {
      assert.ok(!SPOOFED_VALUES.includes(v), `a spoofed value reached the backend: ${k}: ${v}\n${JSON.stringify(echo.rawHeaders)}`);
    }
  };

  it('unprotected path, no session: none of the spoofed headers reaches the backend', async () => {
    const echo = await viaProxy(new Browser(), '/open/x', SPOOF);
    assert.equal(echo.url, '/x');
    assert.deepEqual(fedauthHeaders(echo), {}, JSON.stringify(echo.rawHeaders));
    noSpoofedValue(echo);
  });

  it('control: other client headers do reach the backend', async () => {
    const echo = await viaProxy(new Browser(), '/open/x', { 'X-Other': 'kept', 'X-FedAuthor': 'kept-too' });
    assert.equal(echo.headers['x-other'], 'kept');
    assert.equal(echo.headers['x-fedauthor'], 'kept-too', 'only the X-FedAuth- prefix is removed');
  });

  it('protected path without a session: redirect to the IdP, the backend is not asked', async () => {
    const n = backend.requests.length;
    const r = await new Browser().getOnce(`${base}/app/x`, { headers: SPOOF });
    assert.equal(r.status, 302, dump(r));
    assert.ok(r.location.startsWith(site.idp.issuer), r.location);
    assert.equal(backend.requests.length, n);
  });

  it('protected path after login: the real X-FedAuth-User/Sub/IdP/Roles/Email, each once', async () => {
    const b = await signedIn();
    for (const headers of [{}, SPOOF]) {
      const echo = await viaProxy(b, '/app/whoami', headers);
      const h = fedauthHeaders(echo);
      assert.equal(h['x-fedauth-user'], 'alice', JSON.stringify(echo.rawHeaders));
      assert.equal(h['x-fedauth-sub'], 'alice-sub-0001');
      assert.equal(h['x-fedauth-idp'], 'test');
      assert.equal(h['x-fedauth-roles'], 'staff');
      assert.equal(h['x-fedauth-email'], 'alice@example.org');
      assert.equal(h['x-fedauth-made-up'], undefined);
      const names = echo.rawHeaders.map(([k]) => k.toLowerCase()).filter((k) => k.startsWith('x-fedauth-'));
      assert.equal(new Set(names).size, names.length, `each X-FedAuth-* header once: ${names.join(', ')}`);
      noSpoofedValue(echo);
    }
  });

  it('unprotected path with a session cookie and spoofed headers: nothing X-FedAuth-* arrives', async () => {
    const b = await signedIn();
    const echo = await viaProxy(b, '/open/y', SPOOF);
    assert.deepEqual(fedauthHeaders(echo), {}, JSON.stringify(echo.rawHeaders));
    noSpoofedValue(echo);
  });

  it('FedAuthPassClaimsAs env: the backend gets no X-FedAuth-* header at all', async () => {
    const b = await signedIn();
    for (const headers of [{}, SPOOF]) {
      const echo = await viaProxy(b, '/envapp/z', headers);
      assert.deepEqual(fedauthHeaders(echo), {}, JSON.stringify(echo.rawHeaders));
      noSpoofedValue(echo);
    }
  });

  it('FedAuthPassClaimsAs none: the backend gets no X-FedAuth-* header at all', async () => {
    const b = await signedIn();
    const echo = await viaProxy(b, '/noneapp/z', SPOOF);
    assert.deepEqual(fedauthHeaders(echo), {}, JSON.stringify(echo.rawHeaders));
    noSpoofedValue(echo);
  });

  it('FedAuthPassClaimsAs headers: the real headers, no spoofed ones', async () => {
    const b = await signedIn();
    const echo = await viaProxy(b, '/hdrapp/z', SPOOF);
    const h = fedauthHeaders(echo);
    assert.equal(h['x-fedauth-user'], 'alice', JSON.stringify(echo.rawHeaders));
    assert.equal(h['x-fedauth-roles'], 'staff');
    noSpoofedValue(echo);
  });

  it('a CGI on the same site sees the same (control for the proxy tests)', async () => {
    const b = await signedIn();
    const r = await b.getOnce(`${base}/protected/env.cgi`, { headers: SPOOF });
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.HTTP_X_FEDAUTH_USER, 'alice', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_ROLES, 'staff', r.body);
    assert.equal(env.HTTP_X_FEDAUTH_MADE_UP, undefined, r.body);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
