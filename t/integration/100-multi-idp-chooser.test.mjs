// SPDX-License-Identifier: Apache-2.0
// issue3.md: many identity providers behind one httpd. Two real IdPs (two
// oidc-provider processes, two issuers on two ports, each with its own
// users): the chooser lists the offered providers in SortOrder with Icon
// and AccentColor and HTML-escaped names; each provider's login lands as
// that IdP's user; FedAuthProviders narrows what a location offers; a
// session from a provider a location does not offer is no session there;
// a disabled provider is gone everywhere.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, errorCodes, parseChooser, chooserSubmitUrl,
  parseStyle, cssColor, contrastRatio, htmlText, locationFor, assertToIdp, assertToChooser,
  loginUntilCallback, sessionCookiesSet, protectedLocation, USERS_A, USERS_B, ANNA, BRUNO,
  REMEMBER_COOKIE, SESSION_COOKIE,
} from '../lib/index.mjs';

const EVIL_NAME = `<b>"Evil" & 'co'</b>`;
const BETA_ICON = 'https://cdn.example.com/beta.svg?v=1&size=2';

// Defined in the order a, off, b, c; SortOrder makes the chooser b, a, c
// (a and c tie at 20: a is defined first). off would be first, but is disabled.
const IDPS = [
  {
    name: 'A',
    users: USERS_A,
    providers: [
      { id: 'a', displayName: 'Alpha Corp', extra: 'SortOrder 20\nIcon /icons/alpha.svg\nAccentColor "#0a64a0"\n' },
      { id: 'off', displayName: 'Disabled Provider', extra: 'SortOrder 0\nEnabled Off\n' },
    ],
  },
  {
    name: 'B',
    users: USERS_B,
    providers: [
      { id: 'b', displayName: 'Beta Cloud', extra: `SortOrder 10\nIcon ${BETA_ICON}\nAccentColor "#ffeb3b"\n` },
      { id: 'c', displayName: EVIL_NAME, extra: 'SortOrder 20\n' },
    ],
  },
];

const LOCATIONS = [
  protectedLocation(),
  locationFor('/p/a/', ['a']),
  locationFor('/p/b/', ['b']),
  locationFor('/p/c/', ['c']),
  locationFor('/p/ab/', ['a', 'b']),
  locationFor('/p/bc/', ['b', 'c']),
  locationFor('/p/aoff/', ['a', 'off']),
].join('\n');

/** The button's background and text colour: inline style, else a <style> rule for #fedauth-idp-<id>. */
function buttonColours(page, button) {
  const inline = parseStyle(button.attrs.style);
  let bg = inline['background-color'] || inline.background;
  let fg = inline.color;
  if (!bg || !fg) {
    for (const m of page.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)) {
      for (const r of m[1].matchAll(/([^{}]+)\{([^}]*)\}/g)) {
        if (!r[1].split(',').some((sel) => sel.trim() === `#${button.id}` || sel.trim().endsWith(` #${button.id}`))) continue;
        const st = parseStyle(r[2]);
        bg = bg || st['background-color'] || st.background;
        fg = fg || st.color;
      }
    }
  }
  return { bg: cssColor(bg), fg: cssColor(fg), raw: { bg, fg } };
}

describe('two IdPs behind one httpd: chooser, per-location providers, disabled provider', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({ idps: IDPS, locationsConf: LOCATIONS });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('the two IdPs are separate issuers on separate ports', () => {
    assert.notEqual(site.idpOf('a').issuer, site.idpOf('b').issuer);
    assert.equal(site.idpOf('b'), site.idpOf('c'));
    assert.equal(site.idpOf('a'), site.idpOf('off'));
  });

  it('a protected page offering all providers: 302 to /fedauth/login?return_to=<path>, no idps', async () => {
    const r = await new Browser().getOnce(`${base}/protected/env.cgi`);
    assertToChooser(r, site, '/protected/env.cgi', null);
  });

  let chooserPage;
  let chooser;
  it('the chooser page: 200 text/html; charset=utf-8, Cache-Control: no-store, the form of issue3.md', async () => {
    const r = await new Browser().get(`${base}/protected/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.url.split('?')[0], `${base}/fedauth/login`, dump(r));
    assert.match(r.headers.get('content-type') || '', /^text\/html;\s*charset=utf-8$/i);
    assert.match(r.headers.get('cache-control') || '', /no-store/i);
    chooserPage = r.body;
    chooser = parseChooser(r.body);
    assert.ok(chooser, `a <form class="fedauth-chooser"> in the page:\n${r.body}`);
    assert.equal(chooser.method, 'get');
    assert.equal(chooser.action, '/fedauth/login');
    assert.equal(chooser.hidden.return_to, '/protected/env.cgi');
    assert.equal('idps' in chooser.hidden, false, 'no idps field when the location does not restrict the providers');
    assert.match(r.body, /<ul\b[^>]*class="[^"]*\bfedauth-providers\b/, 'the <ul class="fedauth-providers">');
    assert.equal(chooser.remember, null, 'no "remember my choice" checkbox with FedAuthRememberChoice Off (default)');
  });

  it('the chooser lists exactly b, a, c: SortOrder, ties in definition order, the disabled provider absent', () => {
    assert.ok(chooser, 'chooser parsed');
    assert.deepEqual(chooser.buttons.map((b) => b.idp), ['b', 'a', 'c'], chooser.raw);
    for (const b of chooser.buttons) {
      assert.equal(b.attrs.type, 'submit', b.raw);
      assert.equal(b.attrs.name, 'idp', b.raw);
      assert.equal(b.id, `fedauth-idp-${b.idp}`, b.raw);
      assert.ok(String(b.attrs.class || '').split(/\s+/).includes('fedauth-button'), b.raw);
    }
    assert.deepEqual(chooser.buttons.map((b) => b.text), [
      'Continue with Beta Cloud', 'Continue with Alpha Corp', `Continue with ${EVIL_NAME}`,
    ]);
    assert.doesNotMatch(chooserPage, /Disabled Provider/, 'the disabled provider is not offered');
    assert.doesNotMatch(chooserPage, /fedauth-idp-off\b/);
  });

  it('Icon: an <img src=... alt=""> in the button, the URL HTML-escaped', () => {
    assert.ok(chooser, 'chooser parsed');
    const [b, a, c] = chooser.buttons;
    assert.deepEqual(a.imgs.map((i) => [i.src, i.alt]), [['/icons/alpha.svg', '']], a.raw);
    assert.deepEqual(b.imgs.map((i) => [i.src, i.alt]), [[BETA_ICON, '']], b.raw);
    assert.ok(b.raw.includes('beta.svg?v=1&amp;size=2'), `& in the icon URL written as &amp;: ${b.raw}`);
    assert.deepEqual(c.imgs, [], 'no icon configured: no <img>');
    assert.match(a.html, /<span\b[^>]*>\s*Continue with Alpha Corp\s*<\/span>/, a.raw);
  });

  it('AccentColor: the button background; the text black or white, whichever contrasts more', () => {
    assert.ok(chooser, 'chooser parsed');
    const [b, a] = chooser.buttons;
    for (const [btn, hex, rgb] of [[a, '#0a64a0', [10, 100, 160]], [b, '#ffeb3b', [255, 235, 59]]]) {
      const col = buttonColours(chooserPage, btn);
      assert.deepEqual(col.bg, rgb, `background ${hex} on ${btn.id}: got ${JSON.stringify(col.raw)}\n${btn.raw}`);
      assert.ok(col.fg, `a text colour on ${btn.id}: ${btn.raw}`);
      const white = contrastRatio(rgb, [255, 255, 255]);
      const black = contrastRatio(rgb, [0, 0, 0]);
      const want = white >= black ? [255, 255, 255] : [0, 0, 0];
      assert.deepEqual(col.fg, want, `text on ${hex}: ${white >= black ? 'white' : 'black'} (white ${white.toFixed(2)}, black ${black.toFixed(2)}); got ${col.raw.fg}`);
    }
  });

  it('a DisplayName with markup appears only HTML-escaped', () => {
    assert.ok(chooserPage, 'chooser fetched');
    assert.doesNotMatch(chooserPage, /<b[\s>]/i, 'no <b> element from the DisplayName');
    assert.doesNotMatch(chooserPage, /<\/b>/i);
    assert.ok(chooserPage.includes('&lt;b&gt;'), 'the < > of the name escaped');
    assert.match(chooserPage, /&lt;b&gt;(?:"|&quot;|&#34;|&#x22;)Evil(?:"|&quot;|&#34;|&#x22;) &amp; (?:'|&#39;|&#x27;|&apos;)co(?:'|&#39;|&#x27;|&apos;)&lt;\/b&gt;/i, chooserPage);
    // wherever the name shows up inside a tag (an attribute), its quotes are escaped
    for (const tag of chooserPage.match(/<[a-z][^>]*>/gi) || []) {
      if (!/Evil/.test(tag)) continue;
      assert.doesNotMatch(tag, /"Evil"|'co'/, `unescaped quote in an attribute: ${tag}`);
    }
    const c = chooser.buttons.find((b) => b.idp === 'c');
    assert.equal(htmlText(c.html), `Continue with ${EVIL_NAME}`);
  });

  it('a query string survives the chooser: back at /protected/env.cgi?x=1&y=a%20b after signing in at a', async () => {
    const b = new Browser();
    const target = `${base}/protected/env.cgi?x=1&y=a%20b`;
    const r = await b.getOnce(target);
    const loc = assertToChooser(r, site, '/protected/env.cgi?x=1&y=a%20b', null);
    const page = await b.get(loc.href);
    const ch = parseChooser(page.body);
    assert.ok(ch, page.body);
    assert.equal(ch.hidden.return_to, '/protected/env.cgi?x=1&y=a%20b');
    const done = await b.login(chooserSubmitUrl(ch, page.url, 'a'), ANNA.username, ANNA.password);
    assert.equal(done.status, 200, dump(done));
    assert.equal(done.url, target, dump(done));
    assert.equal(parseEnv(done.body).FEDAUTH_IDP, 'a');
  });

  it('return_to is HTML-escaped in the chooser', async () => {
    const rt = '/protected/env.cgi?q="><script>alert(1)</script>';
    const r = await new Browser().getOnce(`${base}/fedauth/login?return_to=${encodeURIComponent(rt)}`);
    assert.equal(r.status, 200, dump(r));
    assert.doesNotMatch(r.body, /<script>alert\(1\)/, r.body);
    const ch = parseChooser(r.body);
    assert.ok(ch, r.body);
    assert.equal(ch.hidden.return_to, rt, `the return_to round-trips through the hidden field:\n${ch.raw}`);
  });

  it('pressing "Continue with Beta Cloud": straight to IdP B, back as bruno with FEDAUTH_IDP b', async () => {
    assert.ok(chooser, 'chooser parsed');
    const b = new Browser();
    const url = chooserSubmitUrl(chooser, `${base}/fedauth/login`, 'b');
    const first = await b.getOnce(url);
    await assertToIdp(first, site, 'b');
    const r = await b.login(url, BRUNO.username, BRUNO.password);
    assert.equal(r.loginFormSeen, true, dump(r));
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.url, `${base}/protected/env.cgi`, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.FEDAUTH_IDP, 'b', r.body);
    assert.equal(env.REMOTE_USER, 'bruno', r.body);
    assert.equal(env.FEDAUTH_SUB, BRUNO.sub, r.body);
    assert.equal(env.FEDAUTH_EMAIL, 'bruno@B.example', r.body);
  });

  for (const [id, user, idpName] of [['a', ANNA, 'A'], ['b', BRUNO, 'B'], ['c', BRUNO, 'B']]) {
    it(`provider ${id}: /p/${id}/ goes straight to IdP ${idpName}; the login lands as ${user.username} with FEDAUTH_IDP ${id}`, async () => {
      const b = new Browser();
      const target = `${base}/p/${id}/env.cgi`;
      await assertToIdp(await b.getOnce(target), site, id);
      const r = await b.login(target, user.username, user.password);
      assert.equal(r.status, 200, dump(r));
      assert.equal(r.url, target, dump(r));
      const env = parseEnv(r.body);
      assert.equal(env.FEDAUTH_IDP, id, r.body);
      assert.equal(env.REMOTE_USER, user.username, r.body);
      assert.equal(env.FEDAUTH_SUB, user.sub, r.body);
      assert.equal(env.HTTP_X_FEDAUTH_IDP, id, r.body);
      const ev = await site.idpOf(id).events();
      assert.ok(ev.some((e) => e.event === 'grant.success' && e.client_id === site.clients[id].client_id), JSON.stringify(ev));
    });
  }

  it('users differ per IdP: bruno cannot sign in at IdP A', async () => {
    const b = new Browser();
    const r = await b.login(`${base}/p/a/env.cgi`, BRUNO.username, BRUNO.password);
    assert.equal(r.status, 200);
    assert.ok(r.url.startsWith(site.idpOf('a').issuer), dump(r));
    assert.match(r.body, /Invalid username or password/);
    assert.equal(b.jar.get(SESSION_COOKIE), undefined);
  });

  it('FedAuthProviders a b while c exists: 302 to the chooser with idps=a,b; the chooser shows exactly b, a', async () => {
    const b = new Browser();
    const r = await b.getOnce(`${base}/p/ab/env.cgi`);
    const loc = assertToChooser(r, site, '/p/ab/env.cgi', ['a', 'b']);
    const page = await b.get(loc.href);
    assert.equal(page.status, 200, dump(page));
    const ch = parseChooser(page.body);
    assert.ok(ch, page.body);
    assert.deepEqual(ch.buttons.map((x) => x.idp), ['b', 'a'], ch.raw);
    assert.deepEqual((ch.hidden.idps || '').split(',').sort(), ['a', 'b'], `hidden idps field: ${ch.raw}`);
    assert.equal(ch.hidden.return_to, '/p/ab/env.cgi');
    // pressing a: IdP A, back at /p/ab/
    const r2 = await b.login(chooserSubmitUrl(ch, page.url, 'a'), ANNA.username, ANNA.password);
    assert.equal(r2.status, 200, dump(r2));
    assert.equal(r2.url, `${base}/p/ab/env.cgi`);
    assert.equal(parseEnv(r2.body).FEDAUTH_IDP, 'a');
  });

  it('FedAuthProviders a off (off disabled): only a is offered, so straight to IdP A', async () => {
    await assertToIdp(await new Browser().getOnce(`${base}/p/aoff/env.cgi`), site, 'a');
  });

  it('/fedauth/login idps=c,a: the chooser narrows to c and a, in SortOrder', async () => {
    const r = await new Browser().getOnce(`${base}/fedauth/login?return_to=%2F&idps=c,a`);
    assert.equal(r.status, 200, dump(r));
    const ch = parseChooser(r.body);
    assert.ok(ch, r.body);
    assert.deepEqual(ch.buttons.map((x) => x.idp), ['a', 'c'], ch.raw);
  });

  it('/fedauth/login idps=a,nosuch,off: unknown and disabled ids ignored, one left: 302 to IdP A', async () => {
    const r = await new Browser().getOnce(`${base}/fedauth/login?return_to=%2F&idps=a,nosuch,off`);
    await assertToIdp(r, site, 'a');
  });

  it('a session from provider a is no session at a location offering only b: the browser is sent to IdP B', async () => {
    const b = new Browser();
    const r = await b.login(`${base}/p/a/env.cgi`, ANNA.username, ANNA.password);
    assert.equal(parseEnv(r.body).FEDAUTH_IDP, 'a', dump(r));
    await assertToIdp(await b.getOnce(`${base}/p/b/env.cgi`), site, 'b', 'session from a at /p/b/: ');
    // where a is offered, the same session is good
    for (const p of ['/p/ab/env.cgi', '/protected/env.cgi', '/p/aoff/env.cgi']) {
      const ok = await b.getOnce(`${base}${p}`);
      assert.equal(ok.status, 200, `${p}: ${dump(ok)}`);
      assert.equal(parseEnv(ok.body).REMOTE_USER, 'anna');
    }
    // a location offering b and c: the chooser for b, c
    assertToChooser(await b.getOnce(`${base}/p/bc/env.cgi`), site, '/p/bc/env.cgi', ['b', 'c'], 'session from a at /p/bc/: ');
  });

  it('signing in at b from there replaces the session: FEDAUTH_IDP b at /p/b/', async () => {
    const b = new Browser();
    await b.login(`${base}/p/a/env.cgi`, ANNA.username, ANNA.password);
    const r = await b.login(`${base}/p/b/env.cgi`, BRUNO.username, BRUNO.password);
    assert.equal(r.status, 200, dump(r));
    const env = parseEnv(r.body);
    assert.equal(env.FEDAUTH_IDP, 'b', r.body);
    assert.equal(env.REMOTE_USER, 'bruno', r.body);
  });

  it('state made for provider b (IdP B) delivered to /signin-a: 400 idp_mismatch, no session', async () => {
    const b = new Browser();
    const cb = new URL(await loginUntilCallback(b, `${base}/p/b/env.cgi`, base, 'b', BRUNO.username, BRUNO.password));
    const r = await b.getOnce(`${base}/signin-a${cb.search}`);
    assert.equal(r.status, 400, dump(r));
    assert.ok(errorCodes(r.body).includes('idp_mismatch'), dump(r));
    assert.deepEqual(sessionCookiesSet(r.setCookies), []);
    assert.equal(b.jar.get(SESSION_COOKIE), undefined);
  });

  it('Enabled Off: /fedauth/login?idp=off is 404 unknown_provider (like an id that does not exist)', async () => {
    for (const id of ['off', 'nosuch']) {
      const r = await new Browser().getOnce(`${base}/fedauth/login?idp=${id}&return_to=%2F`);
      assert.equal(r.status, 404, `${id}: ${dump(r)}`);
      assert.ok(errorCodes(r.body).includes('unknown_provider'), `${id}: ${dump(r)}`);
      assert.equal(r.location, undefined);
    }
  });

  it('Enabled Off: its callback /signin-off?code=x&state=y is 403 provider_disabled', async () => {
    const b = new Browser();
    const r = await b.getOnce(`${base}/signin-off?code=x&state=y`);
    assert.equal(r.status, 403, dump(r));
    assert.ok(errorCodes(r.body).includes('provider_disabled'), dump(r));
    assert.deepEqual(sessionCookiesSet(r.setCookies), []);
    assert.ok(site.errorLog().includes('provider_disabled'), 'the log names provider_disabled');
  });

  it('Enabled Off: a form_post style POST to /signin-off is 403 provider_disabled too', async () => {
    const r = await new Browser().request(`${base}/signin-off`, {
      method: 'POST', body: 'code=x&state=y', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(r.status, 403, dump(r));
    assert.ok(errorCodes(r.body).includes('provider_disabled'), dump(r));
  });

  it('FedAuthRememberChoice Off: remember=1 sets no remembered-choice cookie', async () => {
    const b = new Browser();
    const r = await b.getOnce(`${base}/fedauth/login?idp=b&remember=1&return_to=%2Fprotected%2Fenv.cgi`);
    await assertToIdp(r, site, 'b');
    assert.deepEqual(r.setCookies.filter((c) => c.name === REMEMBER_COOKIE).map((c) => c.header), []);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
