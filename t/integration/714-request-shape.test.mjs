// SPDX-License-Identifier: Apache-2.0
// Request-shape classes (issue 20): the way a request is written never
// changes an access decision. One test per class:
//   - a query string or %3F never makes a protected path public;
//   - '#' or %23 in a path changes no decision;
//   - spoofed X-Forwarded-Host/Proto/Uri/Prefix (and Forwarded,
//     X-Original-URL, X-Rewrite-URL) change nothing: redirects, return_to,
//     cookies, authorization.
// (The fourth class, logout, is pinned in 713-logout-csrf.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import {
  startSite, Browser, dump, parseEnv, signOut, SESSION_COOKIE, STATE_COOKIE_RE, assertToIdp, locationFor,
} from '../lib/index.mjs';

const LOCATIONS = `${locationFor('/protected', ['test'])}<Location /p/idpother/>
    AuthType FedAuth
    FedAuthProviders test
    Require fedauth-idp other
</Location>
`;

const SPOOF = {
  'X-Forwarded-Host': 'evil.example',
  'X-Forwarded-Proto': 'https',
  'X-Forwarded-Port': '443',
  'X-Forwarded-Uri': '/somewhere.html',
  'X-Forwarded-Prefix': '/evil',
  'X-Forwarded-For': '127.0.0.1',
  Forwarded: 'for=127.0.0.1;host=evil.example;proto=https',
  'X-Original-URL': '/somewhere.html',
  'X-Rewrite-URL': '/somewhere.html',
};

/** One raw request line over a socket (a client may send what fetch will not); status and head. */
function rawGet(port, target, extra = '') {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.setTimeout(10000, () => s.destroy(new Error('timeout')));
    s.on('connect', () => s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}Connection: close\r\n\r\n`));
    s.on('data', (d) => { data += d; });
    s.on('end', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      resolve({ status: m ? Number(m[1]) : 0, text: data });
    });
    s.on('error', reject);
  });
}

const CONTENT = /GATEWAY_INTERFACE=|REMOTE_USER=|SCRIPT_NAME=/;

describe('request-shape classes', () => {
  let site;
  let base;
  let port;
  let alice;
  let aliceCookie;

  before(async () => {
    site = await startSite({ providers: [{ id: 'test' }, { id: 'other' }], locationsConf: LOCATIONS });
    base = site.base;
    port = Number(new URL(base).port);
    alice = new Browser();
    const r = await alice.login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    aliceCookie = alice.jar.get(SESSION_COOKIE).value;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('query-string class: a query string or %3F never makes a protected path public', async () => {
    const targets = [
      '/protected/env.cgi?', '/protected/env.cgi?public', '/protected/env.cgi?x.css',
      '/protected/env.cgi?return_to=/&idp=test', '/protected/env.cgi??',
      '/protected/env.cgi%3F', '/protected/env.cgi%3Fx.css', '/protected%3F/env.cgi',
      '/protected%3f/env.cgi', '/protected/env.cgi/%3F', '/protected/%3F/../env.cgi',
      '/fedauth/session/../../protected/env.cgi?', '/signin-test/../protected/env.cgi?x',
      '/protected/env.cgi?%00', '/protected/env.cgi?/../../cgi-bin/env.cgi',
    ];
    for (const t of targets) {
      const r = await rawGet(port, t);
      assert.ok(r.status !== 200, `anonymous ${t}: ${r.status}\n${r.text.slice(0, 400)}`);
      assert.doesNotMatch(r.text, CONTENT, `anonymous ${t}`);
    }
    // a signed-in user refused by Require: the same 403 whatever the query
    for (const t of ['/p/idpother/env.cgi', '/p/idpother/env.cgi?', '/p/idpother/env.cgi?x=1',
      '/p/idpother/env.cgi%3F', '/p/idpother%3F/env.cgi']) {
      const r = await rawGet(port, t, `Cookie: ${SESSION_COOKIE}=${aliceCookie}\r\n`);
      assert.ok([403, 404].includes(r.status), `alice ${t}: ${r.status}\n${r.text.slice(0, 400)}`);
      if (!t.includes('%3F')) assert.equal(r.status, 403, `alice ${t}`);
      assert.doesNotMatch(r.text, CONTENT, `alice ${t}`);
    }
  });

  it('fragment class: # or %23 in a path changes no decision', async () => {
    for (const t of ['/protected/env.cgi#', '/protected/env.cgi#x', '/protected/env.cgi%23',
      '/protected%23/env.cgi', '/protected/env.cgi%23/../x', '/protected/#/../env.cgi']) {
      const r = await rawGet(port, t);
      assert.ok(r.status !== 200, `anonymous ${t}: ${r.status}\n${r.text.slice(0, 400)}`);
      assert.doesNotMatch(r.text, CONTENT, `anonymous ${t}`);
    }
    for (const t of ['/p/idpother/env.cgi#', '/p/idpother/env.cgi#x', '/p/idpother/env.cgi%23',
      '/p/idpother/env.cgi%23x.css']) {
      const r = await rawGet(port, t, `Cookie: ${SESSION_COOKIE}=${aliceCookie}\r\n`);
      // httpd itself refuses a raw '#' in the request line (400)
      if (t.includes('#')) assert.ok([400, 403].includes(r.status), `alice ${t}\n${r.text.slice(0, 400)}`);
      else assert.equal(r.status, 403, `alice ${t}\n${r.text.slice(0, 400)}`);
      assert.doesNotMatch(r.text, CONTENT, `alice ${t}`);
    }
    // and a granted page is not refused by a fragment's encoding elsewhere
    const ok = await rawGet(port, '/protected/env.cgi?x=%23', `Cookie: ${SESSION_COOKIE}=${aliceCookie}\r\n`);
    assert.equal(ok.status, 200, ok.text.slice(0, 400));
    assert.match(ok.text, /REMOTE_USER=alice/);
  });

  it('forwarded-header class: spoofed X-Forwarded-Host/Proto/Uri/Prefix change no redirect, return_to, cookie or decision', async () => {
    // without a session: the same redirect to the IdP, back to this site
    const plain = await new Browser().getOnce(`${base}/protected/env.cgi?a=1`);
    const spoofed = await new Browser().getOnce(`${base}/protected/env.cgi?a=1`, { headers: SPOOF });
    const q = await assertToIdp(spoofed, site, 'test');
    assert.equal(q.get('redirect_uri'), `${base}/signin-test`);
    const stateOf = (r) => r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name))
      .map((c) => ({ ...c.attrs, expires: undefined, 'max-age': undefined }));
    assert.deepEqual(stateOf(spoofed), stateOf(plain), 'state cookie attributes (no Secure, no Domain)');
    for (const c of spoofed.setCookies) {
      assert.equal(c.attrs.domain, undefined, c.header);
      assert.equal('secure' in c.attrs, false, `no Secure over http: ${c.header}`);
    }
    // a whole sign-in with the headers on every request lands on the page asked for
    const b = new Browser({ headers: SPOOF });
    const l = await b.login(`${base}/protected/env.cgi?a=1`, 'alice', 'alice-pass-1');
    assert.equal(l.status, 200, dump(l));
    assert.equal(l.url, `${base}/protected/env.cgi?a=1`);
    assert.equal(parseEnv(l.body).REMOTE_USER, 'alice');
    for (const c of l.setCookiesAll.filter((x) => x.url.startsWith(base))) {
      assert.equal(c.attrs.domain, undefined, c.header);
      assert.equal('secure' in c.attrs, false, c.header);
    }
    // the chooser and /fedauth/login keep return_to on this site
    const login = await new Browser().getOnce(`${base}/fedauth/login?idp=test&return_to=%2Fsomewhere.html`, { headers: SPOOF });
    const lq = await assertToIdp(login, site, 'test');
    assert.equal(lq.get('redirect_uri'), `${base}/signin-test`);
    // authorization: the same decisions
    const denied = await b.getOnce(`${base}/p/idpother/env.cgi`);
    assert.equal(denied.status, 403, dump(denied));
    assert.doesNotMatch(denied.body, CONTENT);
    // logout: back to this site, and a spoofed Host origin does not pass
    const foreign = await b.request(`${base}/fedauth/logout?return_to=%2Fsomewhere.html`, {
      method: 'POST', body: '', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://evil.example' },
    });
    assert.equal(foreign.status, 403, dump(foreign));
    const out = await signOut(b, `${base}/fedauth/logout?return_to=%2Fsomewhere.html`);
    assert.equal(out.status, 302, dump(out));
    assert.equal(new URL(out.location, out.url).href, `${base}/somewhere.html`);
  });

  it('no crash', async () => {
    await site.httpd.stop();
    assert.deepEqual(site.troubles([/AH01630|AH01631|AH01797|AH00126|AH10244|AH00127/]), []);
  });
});
