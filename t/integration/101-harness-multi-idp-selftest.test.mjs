// SPDX-License-Identifier: Apache-2.0
// The multi-IdP parts of the test tier check themselves, without httpd:
// two test IdPs side by side (own issuer, keys, users), the "claims" tamper
// mode (re-signed with the IdP's own key), discovery overrides with the iss
// parameter removed (Entra ID's /common), response_mode=form_post and the
// Browser submitting the IdP's auto-post form, and the chooser parser.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';

import {
  startIdp, clientFor, testUser, Browser, freePort, parseAutoPostForm, parseChooser,
  chooserSubmitUrl, parseStyle, cssColor, contrastRatio, confQuote,
} from '../lib/index.mjs';
import { discover, pkcePair, authorizationUrl, exchangeCode, verifyIdToken } from '../lib/rp.mjs';

describe('two test IdPs, claims tamper, discovery overrides, form_post (no httpd)', () => {
  let rpServer;
  let rpBase;
  const received = [];
  const idps = {};
  const metas = {};
  const clients = {};

  before(async () => {
    // A stand-in relying party: records what arrives at its redirect URIs.
    const port = await freePort();
    rpBase = `http://127.0.0.1:${port}`;
    rpServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, body, type: req.headers['content-type'] });
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`got ${req.method} ${req.url}`);
      });
    });
    await new Promise((r) => rpServer.listen(port, '127.0.0.1', r));
    clients.a = clientFor({ id: 'a', httpdBase: rpBase });
    clients.hs = clientFor({ id: 'hs', httpdBase: rpBase, alg: 'HS256', secret: crypto.randomBytes(32).toString('hex') });
    clients.b = clientFor({ id: 'b', httpdBase: rpBase, auth: 'client_secret_post', alg: 'ES256' });
    idps.a = await startIdp({ clients: [clients.a, clients.hs], users: [testUser('anna', 'a')] });
    idps.b = await startIdp({ clients: [clients.b], users: [testUser('bruno', 'b')] });
    metas.a = await discover(idps.a.issuer);
    metas.b = await discover(idps.b.issuer);
  });
  after(async () => {
    for (const idp of Object.values(idps)) { await idp?.stop(); idp?.cleanup(); }
    await new Promise((r) => (rpServer ? rpServer.close(r) : r()));
  });

  async function flow(idpName, client, user, password, { extra = {}, browser = new Browser() } = {}) {
    const meta = metas[idpName];
    const redirectUri = client.redirect_uris[0];
    const { verifier, challenge } = pkcePair();
    const state = crypto.randomBytes(16).toString('base64url');
    const nonce = crypto.randomBytes(16).toString('base64url');
    const url = authorizationUrl(meta, { client, redirectUri, state, nonce, challenge, extra });
    const res = await browser.login(url, user, password, { stopAt: (u) => u.startsWith(redirectUri) });
    let params;
    if (res.stoppedForm) params = new URLSearchParams(res.stoppedForm.fields);
    else if (res.stoppedAt) params = new URL(res.stoppedAt).searchParams;
    else throw new Error(`no callback: ${JSON.stringify(res.hops.map((h) => [h.status, h.url]))}\n${res.body}`);
    assert.equal(params.get('state'), state);
    const tok = await exchangeCode(meta, { client, code: params.get('code'), redirectUri, verifier });
    assert.equal(tok.status, 200, JSON.stringify(tok.json));
    const v = await verifyIdToken(meta, tok.json.id_token, { clientSecret: client.client_secret });
    return { ...v, params, res };
  }

  it('two issuers on two ports, each with its own users', async () => {
    assert.notEqual(idps.a.issuer, idps.b.issuer);
    assert.notEqual(idps.a.port, idps.b.port);
    assert.equal(metas.a.issuer, idps.a.issuer);
    assert.equal(metas.b.issuer, idps.b.issuer);
    const a = await flow('a', clients.a, 'anna', 'anna-pass-a');
    assert.equal(a.payload.sub, 'anna-sub-a');
    assert.equal(a.payload.iss, idps.a.issuer);
    assert.equal(a.payload.preferred_username, 'anna');
    const b = await flow('b', clients.b, 'bruno', 'bruno-pass-b');
    assert.equal(b.payload.sub, 'bruno-sub-b');
    assert.equal(b.header.alg, 'ES256');
    // anna does not exist at IdP b
    const { challenge } = pkcePair();
    const url = authorizationUrl(metas.b, { client: clients.b, redirectUri: clients.b.redirect_uris[0], state: 'sx', nonce: 'nx', challenge });
    const r = await new Browser().login(url, 'anna', 'anna-pass-a', { stopAt: () => false });
    assert.match(r.body, /Invalid username or password/);
  });

  it('claims tamper: set and remove claims, re-signed with the IdP key (RS256 and HS256)', async () => {
    try {
      await idps.a.tamperClaims({ iss: '{issuer}/tenants/T1/v2.0', tid: 'T1', email: null });
      const r = await flow('a', clients.a, 'anna', 'anna-pass-a');
      assert.equal(r.payload.iss, `${idps.a.issuer}/tenants/T1/v2.0`);
      assert.equal(r.payload.tid, 'T1');
      assert.equal('email' in r.payload, false);
      assert.equal(r.header.alg, 'RS256');
      assert.equal(r.header.kid, 'rsa-1');
      const h = await flow('a', clients.hs, 'anna', 'anna-pass-a');
      assert.equal(h.header.alg, 'HS256');
      assert.equal(h.payload.tid, 'T1');
      await assert.rejects(idps.a.tamper('claims'), /400/, 'claims mode needs claims');
    } finally {
      await idps.a.tamperClaims(null);
    }
    const ok = await flow('a', clients.a, 'anna', 'anna-pass-a');
    assert.equal(ok.payload.iss, idps.a.issuer);
    assert.equal(ok.payload.tid, undefined);
  });

  it('discovery overrides and no iss parameter; reset restores both', async () => {
    const template = `${idps.b.issuer}/{tenantid}/v2.0`;
    try {
      await idps.b.discoveryOverride({ issuer: template }, { stripIssParam: true });
      const m = await discover(idps.b.issuer);
      assert.equal(m.issuer, template);
      assert.equal(m.authorization_response_iss_parameter_supported, false);
      assert.equal(m.token_endpoint, metas.b.token_endpoint);
      const q = await flow('b', clients.b, 'bruno', 'bruno-pass-b');
      assert.equal(q.params.get('iss'), null, 'query response without iss');
      const f = await flow('b', clients.b, 'bruno', 'bruno-pass-b', { extra: { response_mode: 'form_post' } });
      assert.equal(f.params.get('iss'), null, 'form_post response without iss');
      assert.ok(f.params.get('code'));
    } finally {
      await idps.b.discoveryOverride(null);
    }
    assert.equal((await discover(idps.b.issuer)).issuer, idps.b.issuer);
    const q = await flow('b', clients.b, 'bruno', 'bruno-pass-b');
    assert.equal(q.params.get('iss'), idps.b.issuer);
  });

  it('form_post: the IdP answers with an auto-submitting form; stopAt sees it, the Browser posts it', async () => {
    const b = new Browser();
    const f = await flow('a', clients.a, 'anna', 'anna-pass-a', { extra: { response_mode: 'form_post' }, browser: b });
    assert.equal(f.res.stoppedAt, clients.a.redirect_uris[0]);
    assert.equal(f.res.stoppedForm.method, 'POST');
    assert.equal(f.params.get('iss'), idps.a.issuer);

    // same browser (IdP session): no login form; the Browser submits the form itself
    received.length = 0;
    const { challenge } = pkcePair();
    const url = authorizationUrl(metas.a, {
      client: clients.a, redirectUri: clients.a.redirect_uris[0], state: 'st-fp', nonce: 'n-fp', challenge, extra: { response_mode: 'form_post' },
    });
    const r = await b.login(url, 'anna', 'anna-pass-a');
    assert.equal(r.loginFormSeen, false);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'got POST /signin-a');
    assert.equal(r.formPosts.length, 1);
    assert.equal(received.length, 1);
    assert.equal(received[0].method, 'POST');
    assert.match(received[0].type, /application\/x-www-form-urlencoded/);
    const posted = new URLSearchParams(received[0].body);
    assert.equal(posted.get('state'), 'st-fp');
    assert.ok(posted.get('code'));
    assert.ok(r.hops.some((h) => h.method === 'POST' && h.url === clients.a.redirect_uris[0]));
  });

  it('parseAutoPostForm ignores ordinary forms', () => {
    assert.equal(parseAutoPostForm('<form method="post" action="/x"><input type="text" name="u"></form><script>document.forms[0].submit()</script>', 'http://h/'), null);
    assert.equal(parseAutoPostForm('<form method="get" action="/x"><input type="hidden" name="u"></form><script>document.forms[0].submit()</script>', 'http://h/'), null);
    assert.equal(parseAutoPostForm('<form method="post" action="/x"><input type="hidden" name="u" value="1"></form>', 'http://h/'), null);
    const f = parseAutoPostForm('<form method="post" action="/cb"><input type="hidden" name="code" value="a&amp;b"/></form><script>document.forms[0].submit()</script>', 'http://h/p');
    assert.deepEqual(f, { action: 'http://h/cb', method: 'POST', fields: { code: 'a&b' } });
  });

  it('parseChooser, chooserSubmitUrl, colour helpers, confQuote', () => {
    const html = `<!DOCTYPE html><p>x</p>
<form method="get" action="/fedauth/login" class="fedauth-chooser">
  <input type="hidden" name="return_to" value="/x?a=1&amp;b=2">
  <input type="hidden" name="idps" value="a,b">
  <ul class="fedauth-providers">
    <li><button type="submit" name="idp" value="b" id="fedauth-idp-b" class="fedauth-button" style="background:#ffeb3b;color:#000"><img src="/i/b.svg" alt=""><span>Continue with Beta</span></button></li>
    <li><button type="submit" name="idp" value="a" id="fedauth-idp-a" class="fedauth-button"><span>Continue with &lt;b&gt;&quot;A&quot; &amp; &#39;co&#39;&lt;/b&gt;</span></button></li>
  </ul>
  <label><input type="checkbox" name="remember" value="1"> Remember my choice on this device</label>
</form>`;
    const c = parseChooser(html);
    assert.equal(c.action, '/fedauth/login');
    assert.equal(c.method, 'get');
    assert.deepEqual(c.hidden, { return_to: '/x?a=1&b=2', idps: 'a,b' });
    assert.deepEqual(c.buttons.map((b) => b.idp), ['b', 'a']);
    assert.equal(c.buttons[0].text, 'Continue with Beta');
    assert.deepEqual(c.buttons[0].imgs, [{ src: '/i/b.svg', alt: '' }]);
    assert.equal(c.buttons[1].text, `Continue with <b>"A" & 'co'</b>`);
    assert.equal(c.remember.value, '1');
    const u = new URL(chooserSubmitUrl(c, 'http://127.0.0.1:1/fedauth/login?return_to=/x', 'b', { remember: true }));
    assert.equal(u.pathname, '/fedauth/login');
    assert.deepEqual([...u.searchParams], [['return_to', '/x?a=1&b=2'], ['idps', 'a,b'], ['idp', 'b'], ['remember', '1']]);
    const st = parseStyle(c.buttons[0].attrs.style);
    assert.deepEqual(cssColor(st.background), [255, 235, 59]);
    assert.deepEqual(cssColor('#fff'), [255, 255, 255]);
    assert.ok(contrastRatio([0, 0, 0], [255, 255, 255]) > 20);
    assert.equal(parseChooser('<form class="other"></form>'), null);
    assert.equal(confQuote('a "b" \\c'), '"a \\"b\\" \\\\c"');
  });

  it('both IdPs stop on SIGTERM', async () => {
    for (const idp of Object.values(idps)) {
      const info = await idp.stop();
      assert.equal(info.code, 0);
    }
  });
});
