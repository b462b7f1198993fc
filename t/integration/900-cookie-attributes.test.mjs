// SPDX-License-Identifier: Apache-2.0
// Cookies an administrator fits to the site: the Set-Cookie attributes of
// FedAuthCookieSameSite (Lax, Strict, None [Partitioned]),
// FedAuthLoginCookieSameSite, FedAuthCookieDomain and FedAuthCookiePath;
// the __Host- prefix of the session cookie over https (with no Domain and
// Path=/), and what an unprefixed cookie is worth there (nothing: a
// sibling host could have set it); `apache2 -t` refusing the values and
// combinations that cannot work, naming the directive and file:line.
// The browser's side (CHIPS in another site's frame, two subdomains,
// form_post across sites) is 901-cookies-browser.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';

import {
  startSite, Browser, dump, STATE_COOKIE_RE, SESSION_COOKIE, HOST_SESSION_COOKIE,
  isDeletion, signOut, writeHttpdConfig, configTest, requireModule, removeDir,
} from '../lib/index.mjs';

// The https site's certificate is a throwaway self-signed one for 127.0.0.1.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
process.removeAllListeners('warning');

const PROTECTED = '/protected/env.cgi';

/** Every Set-Cookie of a whole sign-in, parsed, in order. */
async function signIn(site, b = new Browser(), url = `${site.base}${PROTECTED}`) {
  const res = await b.login(url, 'alice', 'alice-pass-1');
  assert.equal(res.status, 200, dump(res));
  return { b, res, set: res.setCookiesAll || [] };
}

const named = (set, name) => set.filter((c) => c.name === name && !isDeletion(c));
const states = (set) => set.filter((c) => STATE_COOKIE_RE.test(c.name) && !isDeletion(c));
const lower = (v) => String(v).toLowerCase();
const logLines = (site, re) => site.errorLog().split('\n').filter((l) => re.test(l));

describe('cookie attributes over http', () => {
  let site;
  before(async () => { site = await startSite({}); });
  after(async () => { await site?.stop(); site?.cleanup(); });

  it('default: fedauth_session; Path=/; HttpOnly; SameSite=Lax; host-only, not Secure, not Partitioned, no prefix', async () => {
    const { set } = await signIn(site);
    const [c] = named(set, SESSION_COOKIE);
    assert.ok(c, JSON.stringify(set.map((x) => x.header)));
    assert.equal(c.attrs.path, '/', c.header);
    assert.equal(c.attrs.httponly, true, c.header);
    assert.equal(lower(c.attrs.samesite), 'lax', c.header);
    for (const a of ['domain', 'secure', 'partitioned']) assert.equal(c.attrs[a], undefined, `${a}: ${c.header}`);
    assert.equal(named(set, HOST_SESSION_COOKIE).length, 0, 'no __Host- over http');
    for (const s of states(set)) assert.equal(lower(s.attrs.samesite), 'lax', s.header);
  });

  it('FedAuthCookieSameSite Strict: the session cookie is Strict, the login state cookie stays Lax (it must come back from the IdP)', async () => {
    await site.restartHttpd({ serverConf: 'FedAuthCookieSameSite Strict\n' });
    const { set } = await signIn(site);
    const [c] = named(set, SESSION_COOKIE);
    assert.equal(lower(c?.attrs.samesite), 'strict', c?.header);
    const st = states(set);
    assert.ok(st.length >= 1);
    for (const s of st) assert.equal(lower(s.attrs.samesite), 'lax', s.header);
  });

  it('FedAuthCookieSameSite None Partitioned on a plain http request: Lax, no Partitioned, and one warning FA01250 per process', async () => {
    await site.restartHttpd({ serverConf: 'FedAuthCookieSameSite None Partitioned\n' + ONE_PROCESS });
    for (let i = 0; i < 2; i++) {
      const { set } = await signIn(site);
      const [c] = named(set, SESSION_COOKIE);
      assert.equal(lower(c?.attrs.samesite), 'lax', c?.header);
      assert.equal(c.attrs.partitioned, undefined, c.header);
      assert.equal(c.attrs.secure, undefined, c.header);
    }
    const warn = logLines(site, /FA01250/);
    assert.equal(warn.length, 1, warn.join('\n') || site.errorLog());
    assert.match(warn[0], /SameSite=None needs https/);
  });

  it('FedAuthCookiePath /app: the session cookie has Path=/app and is not sent elsewhere; /app/fedauth/session and /app/fedauth/logout see it', async () => {
    await site.restartHttpd({
      serverConf: 'FedAuthCookiePath /app/\n',
      locationsConf: (ctx) => `ScriptAlias /app/ "${ctx.dir}/cgi-bin/"
<Location /app>
    AuthType FedAuth
    Require valid-user
</Location>`,
    });
    const b = new Browser();
    const { set } = await signIn(site, b, `${site.base}/app/env.cgi`);
    const [c] = named(set, SESSION_COOKIE);
    assert.equal(c?.attrs.path, '/app', c?.header);
    // The jar, as a browser, sends it under /app only.
    assert.equal((await b.getOnce(`${site.base}/fedauth/session`)).status, 401);
    const s = await b.getOnce(`${site.base}/app/fedauth/session`);
    assert.equal(s.status, 200, dump(s));
    assert.equal(JSON.parse(s.body).user, 'alice', s.body);
    const out = await signOut(b, `${site.base}/app/fedauth/logout`);
    assert.ok([200, 302, 303].includes(out.status), dump(out));
    const gone = out.setCookies.find((x) => x.name === SESSION_COOKIE);
    assert.ok(gone && isDeletion(gone), dump(out));
    assert.equal(gone.attrs.path, '/app', gone.header);
    assert.equal(b.jar.get(SESSION_COOKIE), undefined);
    // The session is over in the store too: the old cookie is nothing.
    const replay = new Browser();
    replay.jar.set(`${site.base}/app/`, SESSION_COOKIE, c.value, '/app');
    assert.equal((await replay.getOnce(`${site.base}/app/fedauth/session`)).status, 401);
  });

  it('FedAuthCookieDomain on a host that is not under it (127.0.0.1): host-only cookie, one warning FA01250', async () => {
    await site.restartHttpd({ serverConf: 'FedAuthCookieDomain .fedauth.test\n' + ONE_PROCESS, locationsConf: undefined });
    const { set } = await signIn(site);
    const [c] = named(set, SESSION_COOKIE);
    assert.ok(c, JSON.stringify(set.map((x) => x.header)));
    assert.equal(c.attrs.domain, undefined, c.header);
    const warn = logLines(site, /FA01250/);
    assert.equal(warn.length, 1, site.errorLog());
    assert.match(warn[0], /not under FedAuthCookieDomain fedauth\.test/);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], site.troubles().join('\n'));
  });
});

// One process, so that "once per process" is once in the log.
const ONE_PROCESS = `<IfModule mpm_event_module>
    StartServers 1
    MinSpareThreads 1
    MaxSpareThreads 25
    ThreadsPerChild 25
    ServerLimit 1
    MaxRequestWorkers 25
</IfModule>
`;

describe('cookie attributes over https', () => {
  let site;
  before(async () => { site = await startSite({ https: true }); });
  after(async () => { await site?.stop(); site?.cleanup(); });

  it('default: the session cookie is __Host-fedauth_session; Path=/; Secure; no Domain', async () => {
    const { set } = await signIn(site);
    const [c] = named(set, HOST_SESSION_COOKIE);
    assert.ok(c, JSON.stringify(set.map((x) => x.header)));
    assert.equal(c.attrs.path, '/', c.header);
    assert.equal(c.attrs.secure, true, c.header);
    assert.equal(c.attrs.domain, undefined, c.header);
    assert.equal(named(set, SESSION_COOKIE).length, 0, 'no unprefixed session cookie');
  });

  it('a session cookie under the unprefixed name (as a sibling host could toss one) is not read over https, even with a valid value; a sign-in then expires it', async () => {
    const { b } = await signIn(site);
    const valid = b.jar.get(HOST_SESSION_COOKIE).value;
    assert.equal((await b.getOnce(`${site.base}/fedauth/session`)).status, 200, 'control: the __Host- cookie works');
    const tossed = new Browser();
    tossed.jar.set(site.base, SESSION_COOKIE, valid);
    const s = await tossed.getOnce(`${site.base}/fedauth/session`);
    assert.equal(s.status, 401, dump(s));
    const r = await tossed.getOnce(`${site.base}${PROTECTED}`);
    assert.equal(r.status, 302, `to the IdP, not signed in: ${dump(r)}`);
    const { set } = await signIn(site, tossed);
    const old = set.find((x) => x.name === SESSION_COOKIE);
    assert.ok(old && isDeletion(old), JSON.stringify(set.map((x) => x.header)));
    assert.equal(tossed.jar.get(SESSION_COOKIE), undefined);
    assert.ok(tossed.jar.get(HOST_SESSION_COOKIE));
  });

  it('FedAuthCookieSameSite None Partitioned: session and login state cookies are SameSite=None; Secure; Partitioned', async () => {
    await site.restartHttpd({ serverConf: 'FedAuthCookieSameSite None Partitioned\n' });
    const { set } = await signIn(site);
    const [c] = named(set, HOST_SESSION_COOKIE);
    assert.ok(c, JSON.stringify(set.map((x) => x.header)));
    assert.equal(c.attrs.samesite, 'None', c.header);
    assert.equal(c.attrs.secure, true, c.header);
    assert.equal(c.attrs.partitioned, true, c.header);
    const st = states(set);
    assert.ok(st.length >= 1);
    for (const s of st) {
      assert.equal(s.attrs.samesite, 'None', s.header);
      assert.equal(s.attrs.partitioned, true, s.header);
    }
  });

  it('FedAuthLoginCookieSameSite Lax beats Auto: the login state cookie is Lax although the session cookie is None', async () => {
    await site.restartHttpd({ serverConf: 'FedAuthCookieSameSite None\nFedAuthLoginCookieSameSite Lax\n' });
    const { set } = await signIn(site);
    const [c] = named(set, HOST_SESSION_COOKIE);
    assert.equal(c?.attrs.samesite, 'None', c?.header);
    assert.equal(c.attrs.partitioned, undefined, c.header);
    for (const s of states(set)) assert.equal(lower(s.attrs.samesite), 'lax', s.header);
  });

  it('with FedAuthCookiePath /app or a FedAuthCookieDomain the name has no __Host- prefix (the prefix forbids both)', async () => {
    await site.restartHttpd({ serverConf: 'FedAuthCookiePath /protected\n' });
    let { set } = await signIn(site);
    assert.equal(named(set, HOST_SESSION_COOKIE).length, 0);
    assert.equal(named(set, SESSION_COOKIE)[0]?.attrs.path, '/protected');
    await site.restartHttpd({ serverConf: 'FedAuthCookieDomain fedauth.test\n' });
    ({ set } = await signIn(site));
    assert.equal(named(set, HOST_SESSION_COOKIE).length, 0);
    assert.equal(named(set, SESSION_COOKIE).length, 1, JSON.stringify(set.map((x) => x.header)));
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], site.troubles().join('\n'));
  });
});

// ---- apache2 -t --------------------------------------------------------

const dirs = [];
after(() => dirs.forEach(removeDir));

const provider = (issuer, extra = '') => `<FedAuthProvider test>
    Issuer        ${issuer}
    ClientID      client-test
    ClientSecret  secret-test
${extra}</FedAuthProvider>`;

async function check(serverConf, prov = provider('http://127.0.0.1:9')) {
  requireModule();
  const { dir, confFile } = await writeHttpdConfig({
    providersConf: `FedAuthSecret "a long enough test passphrase for config tests"\n${serverConf}\n${prov}`,
    locationsConf: '<Location /protected>\n    AuthType FedAuth\n    Require valid-user\n</Location>',
  });
  dirs.push(dir);
  const res = await configTest(confFile);
  const lines = fs.readFileSync(confFile, 'utf8').split('\n');
  const lineOf = (marker) => lines.findIndex((l) => l.includes(marker)) + 1;
  return { res, confFile, lineOf, out: `${res.stdout}${res.stderr}` };
}

function refused(c, directive, marker) {
  assert.notEqual(c.res.code, 0, c.out);
  assert.doesNotMatch(c.out, /Syntax OK/, c.out);
  assert.ok(c.out.includes(directive), `names ${directive}: ${c.out}`);
  const name = path.basename(c.confFile);
  const n = c.lineOf(marker);
  assert.ok(c.out.includes(`${name}:${n}`) || c.out.includes(`line ${n} of ${c.confFile}`), `names ${name}:${n}: ${c.out}`);
}

describe('apache2 -t', () => {
  it('control: every directive with a good value passes', async () => {
    const c = await check([
      'FedAuthCookieSameSite None Partitioned', 'FedAuthLoginCookieSameSite None',
      'FedAuthCookieDomain .Example.COM', 'FedAuthCookiePath /app/', 'FedAuthRedirectBase https://www.example.com',
    ].join('\n'));
    assert.equal(c.res.code, 0, c.out);
    assert.match(c.out, /Syntax OK/);
  });

  for (const [line, marker, why] of [
    ['FedAuthCookieSameSite Loose', 'Loose', /Lax, Strict or None/],
    ['FedAuthCookieSameSite Lax Partitioned', 'Lax Partitioned', /Partitioned needs None/],
    ['FedAuthCookieSameSite None Sometimes', 'Sometimes', /Partitioned/],
    ['FedAuthLoginCookieSameSite Strict', 'FedAuthLoginCookieSameSite', /Auto, Lax or None/],
    ['FedAuthCookieDomain 192.168.1.10', '192.168', /not an IP address/],
    ['FedAuthCookieDomain .com', '.com', /bare top-level/],
    ['FedAuthCookieDomain "example.com; Secure"', 'example.com;', /no ';'/],
    ['FedAuthCookieDomain example.com,evil.test', 'evil.test', /no ';', ','/],
    ['FedAuthCookieDomain "example .com"', 'example .com', /space/],
    ['FedAuthCookieDomain a..example.com', 'a..example', /no empty label/],
    ['FedAuthCookieDomain example.com:8443', '8443', /port/],
    ['FedAuthCookiePath app', 'FedAuthCookiePath', /starting with \//],
    ['FedAuthCookiePath "/app; Domain=evil.test"', 'Domain=evil', /without spaces/],
    ['FedAuthCookiePath /a,b', '/a,b', /without spaces/],
  ]) {
    it(`refuses ${line}`, async () => {
      const c = await check(line);
      refused(c, line.split(' ')[0], marker);
      assert.match(c.out, why);
    });
  }

  it('refuses FedAuthCookieSameSite None on a host known to be http (FedAuthRedirectBase http://)', async () => {
    const c = await check('FedAuthRedirectBase http://127.0.0.1:8080\nFedAuthCookieSameSite None');
    refused(c, 'FedAuthCookieSameSite None', 'FedAuthCookieSameSite');
    assert.match(c.out, /needs https/);
  });

  it('refuses FedAuthCookieSameSite None when ServerName says http (no FedAuthRedirectBase); passes with ServerName https://', async () => {
    const c = await check('ServerName http://www.example.com\nFedAuthCookieSameSite None');
    refused(c, 'FedAuthCookieSameSite None', 'FedAuthCookieSameSite');
    const ok = await check('ServerName https://www.example.com\nFedAuthCookieSameSite None');
    assert.equal(ok.res.code, 0, ok.out);
  });

  it('refuses FedAuthLoginCookieSameSite None on a host known to be http', async () => {
    const c = await check('FedAuthRedirectBase http://127.0.0.1:8080\nFedAuthLoginCookieSameSite None');
    refused(c, 'FedAuthLoginCookieSameSite None', 'FedAuthLoginCookieSameSite');
  });

  it('refuses a FedAuthCookieDomain that FedAuthRedirectBase\'s host is not under', async () => {
    const c = await check('FedAuthRedirectBase https://www.example.org\nFedAuthCookieDomain example.com');
    refused(c, 'FedAuthCookieDomain', 'FedAuthCookieDomain');
    assert.match(c.out, /not a domain of this host \(www\.example\.org\)/);
    const ok = await check('FedAuthRedirectBase https://notexample.com\nFedAuthCookieDomain example.com');
    assert.notEqual(ok.res.code, 0, `a suffix that is not a label boundary is no parent domain: ${ok.out}`);
  });

  it('refuses FedAuthLoginCookieSameSite Lax with a form_post provider on another site; names both places', async () => {
    const c = await check('FedAuthRedirectBase https://rp.fedauth.test\nFedAuthLoginCookieSameSite Lax',
      provider('http://127.0.0.1:9', '    ResponseMode form_post\n'));
    refused(c, 'FedAuthLoginCookieSameSite Lax', 'FedAuthLoginCookieSameSite');
    assert.match(c.out, /provider test/);
    assert.ok(c.out.includes(`${path.basename(c.confFile)}:${c.lineOf('<FedAuthProvider test>')}`), c.out);
    // Controls: Auto with the same provider, and Lax with an IdP of the same site.
    assert.equal((await check('FedAuthRedirectBase https://rp.fedauth.test\nFedAuthLoginCookieSameSite Auto',
      provider('http://127.0.0.1:9', '    ResponseMode form_post\n'))).res.code, 0);
    const same = await check('FedAuthRedirectBase https://rp.fedauth.test\nFedAuthLoginCookieSameSite Lax',
      provider('https://idp.fedauth.test', '    ResponseMode form_post\n'));
    assert.equal(same.res.code, 0, same.out);
  });
});
