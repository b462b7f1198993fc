// SPDX-License-Identifier: Apache-2.0
// FedAuthStatus and /fedauth/status (issue 21): off -> 404 like any
// unknown URL; on, the Require of its <Location> decides (403 / 200);
// without a <Location> a start-up warning (FA00610). The page (HTML, and
// JSON for ?format=json or Accept: application/json) shows each provider
// with its discovery and JWKS state and the key ids of the IdP's JWKS, the
// store's kind and fill, the sessions, the refused sign-ins by reason; an
// IdP that is down shows its last error. What an attacker must not get
// out of it: a signed-in user's name, sub, e-mail, session cookie, client
// secret or FedAuthSecret; nor script in the page through what an IdP
// controls (a JWKS key id "<script>...") or through a DisplayName.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import {
  startSite, Browser, dump, freePort, tamperedStateCallback, postForm, sleep, SESSION_COOKIE,
} from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { idpOverride, idpJwks } from '../lib/hostile.mjs';

const STATUS = '/fedauth/status';
const ON = `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthStatus On
`;
const statusLocation = (require) => `<Location ${STATUS}>
    ${require}
</Location>
`;
const XSS_KID = '<script>alert("kid")</script>';
const XSS_NAME = '<img src=x onerror=alert(1)>Evil & Co';

/** A JWKS the hostile IdP serves: one real RSA key with a kid of script. */
function hostileJwks() {
  const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  return JSON.stringify({ keys: [{ ...jwk, kid: XSS_KID, use: 'sig', alg: 'RS256' }] });
}

/** The kids of the signing keys a JWKS lists (what the module keeps). */
const signingKids = (jwks) => jwks.keys
  .filter((k) => ['RSA', 'EC', 'OKP'].includes(k.kty) && (!k.use || k.use === 'sig'))
  .map((k) => k.kid).sort();

describe('status: FedAuthStatus and /fedauth/status', () => {
  let site;
  let base;
  let closedPort;
  const prot = () => `${base}/protected/env.cgi`;
  const page = (opts) => new Browser(opts).getOnce(`${base}${STATUS}`);
  const json = async (query = '?format=json', opts = {}) => {
    const r = await new Browser(opts).getOnce(`${base}${STATUS}${query}`);
    assert.equal(r.status, 200, dump(r));
    assert.match(r.headers.get('content-type') || '', /^application\/json/);
    return { r, doc: JSON.parse(r.body) };
  };
  const provider = (doc, id) => {
    const p = doc.providers.find((x) => x.id === id);
    assert.ok(p, `provider ${id} in ${JSON.stringify(doc.providers.map((x) => x.id))}`);
    return p;
  };

  before(async () => {
    closedPort = await freePort();
    site = await startSite({
      httpTimeout: 2,
      idps: [
        {
          name: 'good',
          providers: [
            { id: 'test', displayName: 'Test IdP' },
            // an IdP that is down: nothing listens on its port
            { id: 'down', issuer: `http://127.0.0.1:${closedPort}` },
          ],
        },
        {
          name: 'evil',
          providers: [{ id: 'evil', displayName: XSS_NAME }],
          setup: (idp) => idpOverride(idp, '/jwks', { body: hostileJwks() }),
        },
      ],
      locationsConf: `<Location /protected>
    AuthType FedAuth
    FedAuthProviders test
    Require valid-user
</Location>
`,
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const locations = (require) => `<Location /protected>
    AuthType FedAuth
    FedAuthProviders test
    Require valid-user
</Location>
${require ? statusLocation(require) : ''}`;

  it('off (the default): /fedauth/status answers 404, in HTML and in JSON', async () => {
    const r = await page();
    assert.equal(r.status, 404, dump(r));
    assert.doesNotMatch(r.body, /Test IdP|JWKS/);
    const j = await new Browser().getOnce(`${base}${STATUS}?format=json`);
    assert.equal(j.status, 404, dump(j));
  });

  it('on, under a Require that refuses this client: 403, nothing of the status', async () => {
    await site.restartHttpd({ serverConf: ON, locationsConf: locations('Require ip 192.0.2.1') });
    for (const q of ['', '?format=json']) {
      const r = await new Browser().getOnce(`${base}${STATUS}${q}`);
      assert.equal(r.status, 403, dump(r));
      assert.doesNotMatch(r.body, /Test IdP|JWKS|"providers"/);
    }
    for (let i = 0; i < 100 && !/FA00311/.test(site.httpd.allLogs()); i++) await sleep(50);
    assert.doesNotMatch(site.httpd.allLogs(), /FA00610/, 'no warning: there is a <Location>');
  });

  it('on without a <Location /fedauth/status>: a start-up warning FA00610', async () => {
    await site.restartHttpd({ serverConf: ON, locationsConf: locations('') });
    for (let i = 0; i < 100 && !/FA00610/.test(site.httpd.allLogs()); i++) await sleep(50);
    assert.match(site.httpd.allLogs(), /FA00610: FedAuthStatus On in .*, but no <Location \/fedauth\/status>/);
    const r = await page();
    assert.equal(r.status, 200, dump(r));
  });

  it('on with Require ip 127.0.0.1: 200 HTML with the provider, its key ids (the IdP\'s JWKS kids), the store; no-store, no framing', async () => {
    await site.restartHttpd({ serverConf: ON, locationsConf: locations('Require ip 127.0.0.1') });
    const r = await page();
    assert.equal(r.status, 200, dump(r));
    assert.match(r.headers.get('content-type') || '', /^text\/html/);
    assert.match(r.headers.get('cache-control') || '', /no-store/);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.match(r.headers.get('content-security-policy') || '', /frame-ancestors 'none'/);
    assert.match(r.headers.get('content-security-policy') || '', /default-src 'none'/);
    assert.match(r.body, /Test IdP/);
    assert.match(r.body, /<th scope="row">JWKS<\/th><td class="st-ok">ok<\/td>/);
    const kids = signingKids(await idpJwks(site.idps.good));
    assert.ok(kids.length >= 1);
    for (const kid of kids) assert.ok(r.body.includes(`<code>${kid}</code>`), `kid ${kid} on the page`);
    assert.match(r.body, /Kind <b>shm<\/b>/);
    assert.match(r.body, /Answered by process <b>\d+<\/b>/);
    // the status does not publish the counters
    const m = await new Browser().getOnce(`${base}/fedauth/metrics`);
    assert.equal(m.status, 404, dump(m));
  });

  it('JSON (?format=json and Accept: application/json) parses and has the documented fields', async () => {
    const { r, doc } = await json();
    assert.match(r.headers.get('cache-control') || '', /no-store/);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    const viaAccept = await json('', { headers: { Accept: 'application/json' } });
    assert.deepEqual(Object.keys(viaAccept.doc).sort(), Object.keys(doc).sort());
    assert.equal(doc.version, 1);
    assert.ok(Number.isInteger(doc.generated_at));
    assert.ok(Number.isInteger(doc.process.pid) && doc.process.pid > 0);
    assert.match(doc.process.scope, /this process/);
    assert.equal(doc.counters, true);
    const p = provider(doc, 'test');
    assert.equal(p.name, 'Test IdP');
    assert.equal(p.issuer, site.idps.good.issuer);
    for (const d of [p.discovery, p.jwks]) {
      assert.equal(d.state, 'ok');
      assert.ok(Number.isInteger(d.fetched_at) && d.fetched_at <= doc.generated_at);
      assert.equal(d.refresh_at, d.fetched_at + 3600);
      assert.equal(d.last_error, null);
      assert.equal(d.last_error_at, null);
    }
    assert.equal(p.discovery.url, `${site.idps.good.issuer}/.well-known/openid-configuration`);
    assert.equal(p.jwks.url, `${site.idps.good.issuer}/jwks`);
    assert.deepEqual(p.jwks.keys.map((k) => k.kid).sort(), signingKids(await idpJwks(site.idps.good)));
    for (const k of p.jwks.keys) {
      assert.ok(['RSA', 'EC', 'OKP'].includes(k.kty));
      assert.ok(Number.isInteger(k.bits));
    }
    assert.ok(p.jwks.fetches_this_process >= 1);
    assert.ok(p.jwks.fetches_all_processes.total >= 1);
    assert.equal(p.jwks.fetches_all_processes.failed, 0);
    assert.deepEqual(p.signins, { ok: 0, failures: {}, sessions_created: 0 });
    assert.equal(doc.store.kind, 'shm');
    assert.equal(doc.store.errors, 0);
    for (const f of ['size_bytes', 'used_bytes', 'percent', 'entries', 'evicted', 'resets']) {
      assert.ok(Number.isInteger(doc.store.fill[f]), f);
    }
    assert.equal(doc.sessions.current, 0);
    assert.equal(doc.sessions.created, 0);
    assert.deepEqual(Object.keys(doc.sessions.ended).sort(),
      ['backchannel', 'expired', 'frontchannel', 'logout', 'replaced', 'user_limit']);
  });

  it('other methods: 405 with Allow: GET', async () => {
    const r = await postForm(new Browser(), `${base}${STATUS}`);
    assert.equal(r.status, 405, dump(r));
    assert.match(r.headers.get('allow') || '', /GET/);
  });

  let alice;
  it('a sign-in and a refused one (tampered state): ok 1, state_mismatch 1 in JSON and in the page; one session', async () => {
    alice = new Browser();
    const a = await alice.login(prot(), 'alice', 'alice-pass-1');
    assert.equal(a.status, 200, dump(a));
    const refused = await tamperedStateCallback(new Browser(), prot(), base, 'test');
    assert.equal(refused.status, 400, dump(refused));

    const { doc } = await json();
    const p = provider(doc, 'test');
    assert.deepEqual(p.signins, { ok: 1, failures: { state_mismatch: 1 }, sessions_created: 1 });
    assert.equal(doc.sessions.current, 1);
    assert.equal(doc.sessions.created, 1);
    const html = (await page()).body;
    assert.match(html, /<tr><td><code>state_mismatch<\/code><\/td><td>1<\/td><\/tr>/);
  });

  it('no user data: the signed-in user\'s name, sub, e-mail, session cookie, client secret and FedAuthSecret appear nowhere', async () => {
    assert.ok(alice, 'signed in');
    const cookie = alice.jar.get(SESSION_COOKIE);
    assert.ok(cookie, 'alice has a session cookie');
    const bodies = [(await page()).body, (await json()).r.body,
      (await page({ headers: { Cookie: `${SESSION_COOKIE}=${cookie}` } })).body];
    const secrets = ['alice', 'Alice', 'Liddell', 'alice-sub-0001', 'example.org', cookie, site.secret,
      ...Object.values(site.clients).map((c) => c.client_secret).filter(Boolean)];
    for (const body of bodies) {
      for (const s of secrets) assert.ok(!body.includes(s), `the status shows ${s}`);
    }
  });

  it('an IdP that is down: its discovery state is failing with the last error (idp_unreachable), in JSON and in the page', async () => {
    const { doc } = await json();
    const d = provider(doc, 'down');
    assert.equal(d.discovery.state, 'failing');
    assert.equal(d.discovery.fetched_at, null);
    assert.ok(Number.isInteger(d.discovery.last_error_at));
    assert.match(d.discovery.last_error, /^idp_unreachable: /);
    assert.ok(d.discovery.last_error.includes(`127.0.0.1:${closedPort}`), d.discovery.last_error);
    assert.equal(d.jwks.state, 'not_fetched');
    assert.deepEqual(d.jwks.keys, []);
    assert.ok(d.discovery.fetches_all_processes.failed >= 1);
    // the good provider is unaffected
    assert.equal(provider(doc, 'test').jwks.state, 'ok');
    const html = (await page()).body;
    assert.match(html, /class="st-failing">failing<\/td>/);
    assert.match(html, /idp_unreachable: /);
  });

  it('an IdP\'s key id "<script>" and a DisplayName with markup are escaped in the page, exact in the JSON', async () => {
    const r = await page();
    assert.equal(r.status, 200, dump(r));
    assert.ok(!r.body.includes(XSS_KID), 'the raw kid is not in the page');
    assert.ok(!r.body.includes('<img'), 'the raw DisplayName is not in the page');
    assert.ok(r.body.includes('<code>&lt;script&gt;alert(&#34;kid&#34;)&lt;/script&gt;</code>'), r.body);
    assert.ok(r.body.includes('&lt;img src=x onerror=alert(1)&gt;Evil &amp; Co'));
    assert.equal((r.body.match(/<script/gi) || []).length, 0, 'no script element at all');
    const { doc } = await json();
    const e = provider(doc, 'evil');
    assert.equal(e.name, XSS_NAME);
    assert.deepEqual(e.jwks.keys.map((k) => k.kid), [XSS_KID]);
  });

  it('a JWKS endpoint that answers 500: the JWKS state is failing with the last error, discovery still ok', async () => {
    await idpOverride(site.idps.evil, '/jwks', { status: 500, body: 'down for maintenance' });
    // new worker processes: nothing cached, so the page's own fetch fails
    await site.restartHttpd({ serverConf: ON, locationsConf: locations('Require ip 127.0.0.1') });
    const { doc } = await json();
    const e = provider(doc, 'evil');
    assert.equal(e.discovery.state, 'ok');
    assert.equal(e.jwks.state, 'failing');
    assert.match(e.jwks.last_error, /^idp_bad_response: GET http:\/\/127\.0\.0\.1:\d+\/jwks answered 500$/);
    assert.deepEqual(e.jwks.keys, []);
    assert.match((await page()).body, /<th scope="row">JWKS<\/th><td class="st-failing">failing<\/td>/);
  });

  it('no crash or sanitizer report in the error log', () => {
    assert.deepEqual(site.troubles(), []);
  });
});
