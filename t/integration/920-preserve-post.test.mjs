// SPDX-License-Identifier: Apache-2.0
// issue 23, keeping a POST across sign-in (FedAuthPreservePost), at the
// HTTP level with a real httpd, the real IdP and the embedded store:
// a form posted without a session is kept in the store (never in the
// browser), and after the sign-in the callback answers a page that posts
// it again, once, to the original URL (the CGI form.cgi echoes the body).
// The three mod_auth_openidc advisories of this feature, each as the
// attacker would try it: (1) quotes and angle brackets in the URL and
// the fields (XSS), (2) an empty body (Content-Length: 0, none at all,
// chunked) must not crash, (3) the auto-post page carries no protected
// content and the protected handler does not run for it. Then what is
// not kept (other types, too large, malformed, no directive: today's
// 401, nothing stored), a flood from several addresses (per-address
// limit, the sessions survive), metrics and apache2 -t refusals.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';

import {
  startSite, Browser, dump, decodeEntities, errorCodes, writeHttpdConfig,
  configTest, requireModule, removeDir, STATE_COOKIE_RE,
} from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';

const FORM = 'application/x-www-form-urlencoded';
// what a browser sends with a form of the site itself
const SAME = { 'Sec-Fetch-Site': 'same-origin' };
const HANDLER_MARK = 'PROTECTED-CONTENT-OF-THE-FORM-HANDLER';

const loc = (path, extra = '') => `<Location ${path}>
    AuthType FedAuth
${extra}    Require valid-user
</Location>
`;
const METRICS_CONF = `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthMetrics On
LogLevel warn fedauth:info
`;
const LOCATIONS = [
  loc('/p/keep/', '    FedAuthPreservePost On\n'),
  loc('/p/small/', '    FedAuthPreservePost On\n    FedAuthPreservePostMax 1024\n'),
  loc('/p/off/'),
  loc('/p/auto/', '    FedAuthPreservePost On\n    FedAuthUnauthenticated auto\n'),
  loc('/p/api/', '    FedAuthPreservePost On\n    FedAuthUnauthenticated 401\n'),
  '<Location /fedauth/metrics>\n    Require ip 127.0.0.1\n</Location>\n',
].join('\n');

/** The auto-post page's form: { action, fields: [[name, value]...] } in order. */
function autoPost(html) {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  assert.ok(form, `no form in:\n${html}`);
  const action = decodeEntities(/\baction="([^"]*)"/.exec(form[1])[1]);
  const fields = [...form[2].matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)]
    .map((m) => [decodeEntities(m[1]), decodeEntities(m[2])]);
  return { action, fields };
}

/** One raw HTTP/1.1 request over a socket: bytes exactly as given. */
function rawRequest(port, text, { localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port, localAddress });
    let data = '';
    sock.setTimeout(15000, () => { sock.destroy(); reject(new Error('raw request timed out')); });
    sock.on('data', (d) => { data += d.toString('latin1'); });
    sock.on('error', reject);
    sock.on('end', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const headers = lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
      resolve({
        status,
        header: (n) => headers.find(([k]) => k === n)?.[1],
        setCookies: headers.filter(([k]) => k === 'set-cookie').map(([, v]) => v),
        body: rest.join('\r\n\r\n'),
      });
    });
    sock.write(text);
  });
}

/** A POST from a given loopback address (the flood). */
function postFrom(port, localAddress, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, localAddress, path, method: 'POST', agent: false,
      headers: { 'Content-Type': FORM, ...SAME, 'Content-Length': Buffer.byteLength(body), Connection: 'close' },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.setTimeout(15000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function metric(text, outcome) {
  const m = new RegExp(`^fedauth_preserved_posts_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('FedAuthPreservePost: a form POST kept across the sign-in', () => {
  let site;
  let base;
  let port;
  const handlerHits = () => (site.httpd.accessLog().match(/"POST \/p\/[a-z]+\/form\.cgi[^"]*" 200 /g) || []).length;
  const metrics = async () => (await new Browser().get(`${base}/fedauth/metrics`)).body;

  before(async () => {
    site = await startSite({ serverConf: METRICS_CONF, locationsConf: LOCATIONS });
    base = site.base;
    port = Number(new URL(base).port);
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  /**
   * POSTs body to path without a session, signs in as alice and returns
   * { kept (the 302), page (the callback's answer), callbackUrl,
   *   callbackCookies (the Cookie header the callback got) }.
   */
  async function keepAndSignIn(b, path, body, headers = {}) {
    const kept = await b.request(`${base}${path}`, { method: 'POST', body, headers: { 'Content-Type': FORM, ...SAME, ...headers } });
    assert.equal(kept.status, 302, dump(kept));
    const atIdp = await b.login(kept.location, 'alice', 'alice-pass-1', {
      formPost: false, stopAt: (u) => u.startsWith(`${base}/signin-`),
    });
    const callbackUrl = atIdp.stoppedAt;
    assert.ok(callbackUrl, dump(atIdp));
    const callbackCookies = b.jar.header(callbackUrl);
    const page = await b.request(callbackUrl);
    return { kept, page, callbackUrl, callbackCookies };
  }

  async function submit(b, page) {
    const { action, fields } = autoPost(page.body);
    const res = await b.request(new URL(action, base).href, {
      method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'Content-Type': FORM, ...SAME },
    });
    return { action, fields, res };
  }

  const BODY = 'a=1&b=x+y&a=%26%3D%2B&e=%C3%A9%E2%82%AC&q=%22%27%3C%3E&empty=&nl=l1%0D%0Al2';
  let first;

  it('kept: the POST is answered by the redirect to the IdP, with nothing of the body in the browser', async () => {
    const hitsBefore = handlerHits();
    const b = new Browser();
    first = await keepAndSignIn(b, '/p/keep/form.cgi?step=1', BODY);
    const cookies = first.kept.setCookies;
    assert.ok(cookies.every((c) => STATE_COOKIE_RE.test(c.name)), JSON.stringify(cookies));
    assert.ok(cookies.every((c) => !c.value.includes('x+y') && c.value.length < 1000), 'no body in the state cookie');
    assert.equal(handlerHits(), hitsBefore, 'the form handler did not run for the kept POST');
    first.browser = b;
    assert.match(site.errorLog(), /FA01358: POST of 75 bytes to \/p\/keep\/form\.cgi kept across the sign-in through test/);
  });

  it('advisory 3: the callback answers 200 with only the auto-post form (no-store, no-referrer, a CSP with a nonce), and the handler does not run', async () => {
    const { page } = first;
    assert.equal(page.status, 200, dump(page));
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.match(page.headers.get('content-type'), /^text\/html; charset=utf-8/);
    const csp = page.headers.get('content-security-policy');
    const nonce = /script-src 'nonce-([A-Za-z0-9_-]+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /form-action 'self'/);
    const scripts = [...page.body.matchAll(/<script\b([^>]*)>/g)];
    assert.equal(scripts.length, 1, page.body);
    assert.equal(scripts[0][1], ` nonce="${nonce}"`);
    assert.ok(!page.body.includes(HANDLER_MARK), 'no protected content on the page');
    assert.ok(!/USER=|METHOD=/.test(page.body), page.body);
    assert.equal(handlerHits(), 0, 'the handler has not run yet');
    // only the form, its hidden inputs, the noscript button and the script
    const stripped = page.body.replace(/<input type="hidden" name="[^"]*" value="[^"]*">\n/g, '')
      .replace(/<script nonce="[^"]+">[^<]*<\/script>/, '');
    assert.doesNotMatch(stripped, /<(?!\/?(html|head|meta|title|body|form|noscript|p|button)\b|!DOCTYPE)/i, stripped);
    assert.ok(page.setCookies.some((c) => c.name === 'fedauth_session' && c.value), 'the session cookie comes with the page');
  });

  it('the page posts the fields again, in order with duplicates, values intact: the handler gets them once, signed in', async () => {
    const { action, fields, res } = await submit(first.browser, first.page);
    assert.equal(action, '/p/keep/form.cgi?step=1');
    assert.deepEqual(fields, [...new URLSearchParams(BODY)]);
    assert.deepEqual(fields.map(([n]) => n), ['a', 'b', 'a', 'e', 'q', 'empty', 'nl']);
    assert.equal(fields[3][1], 'é€');
    assert.equal(fields[6][1], 'l1\r\nl2');
    assert.equal(res.status, 200, dump(res));
    assert.match(res.body, /^METHOD=POST$/m);
    assert.match(res.body, /^USER=alice$/m);
    const got = /^BODY=(.*)$/m.exec(res.body)[1];
    assert.deepEqual([...new URLSearchParams(got)], [...new URLSearchParams(BODY)]);
    await site.httpd.accessLogWhen(() => handlerHits() >= 1);
    assert.equal(handlerHits(), 1);
    assert.match(site.errorLog(), /FA01360: posting the kept form \(7 fields, 75 bytes\) again to \/p\/keep\/form\.cgi\?step=1/);
  });

  it('use-once: the same callback again (its state cookie put back) does not post the body again', async () => {
    const b = new Browser();
    const again = await b.request(first.callbackUrl, { cookies: false, headers: { Cookie: first.callbackCookies } });
    assert.notEqual(again.status, 200, dump(again));
    assert.ok(errorCodes(again.body).includes('state_mismatch'), dump(again));
    assert.ok(!again.body.includes('x y') && !/type="hidden"/.test(again.body), again.body);
    assert.equal(handlerHits(), 1);
  });

  it('advisory 1: quotes and angle brackets in the URL and in field names and values come back escaped, as data', async () => {
    const target = '/p/keep/form.cgi?x="><script>alert(1)</script>\'&y=<img/src=x>';
    const body = `${encodeURIComponent('"><script>alert(2)</script>')}=${encodeURIComponent('\'><img src=x onerror=alert(3)>')}&n=${encodeURIComponent('</form><script>alert(4)</script>')}`;
    const raw = await rawRequest(port, `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${FORM}\r\nSec-Fetch-Site: same-origin\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    assert.equal(raw.status, 302, raw.body);
    const b = new Browser();
    for (const sc of raw.setCookies) b.jar.store(`${base}/`, sc);
    const page = await b.login(raw.header('location'), 'alice', 'alice-pass-1', { formPost: false });
    assert.equal(page.status, 200, dump(page));
    assert.equal([...page.body.matchAll(/<script/g)].length, 1, page.body);
    assert.ok(!/<img/i.test(page.body), page.body);
    assert.ok(!page.body.includes('</form><script'), page.body);
    const { action, fields } = autoPost(page.body);
    assert.equal(action, target);
    assert.deepEqual(fields, [...new URLSearchParams(body)]);
    assert.match(page.body, /action="\/p\/keep\/form\.cgi\?x=&#34;&gt;&lt;script&gt;/);
  });

  for (const [name, head, body] of [
    ['Content-Length: 0', 'Content-Length: 0\r\n', ''],
    ['no Content-Length at all', '', ''],
    ['chunked, empty', 'Transfer-Encoding: chunked\r\n', '0\r\n\r\n'],
    ['chunked, with fields', 'Transfer-Encoding: chunked\r\n', '3\r\na=1\r\n4\r\n&b=2\r\n0\r\n\r\n'],
  ]) {
    it(`advisory 2: an empty or chunked POST (${name}) does not crash, is kept and posted again as it was`, async () => {
      const raw = await rawRequest(port, `POST /p/keep/form.cgi HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${FORM}\r\nSec-Fetch-Site: same-origin\r\n${head}Connection: close\r\n\r\n${body}`);
      assert.equal(raw.status, 302, raw.body);
      const b = new Browser();
      for (const sc of raw.setCookies) b.jar.store(`${base}/`, sc);
      const page = await b.login(raw.header('location'), 'alice', 'alice-pass-1', { formPost: false });
      assert.equal(page.status, 200, dump(page));
      const { res, fields } = await submit(b, page);
      assert.equal(res.status, 200, dump(res));
      const want = name.endsWith('fields') ? [['a', '1'], ['b', '2']] : [];
      assert.deepEqual(fields, want);
      assert.match(res.body, new RegExp(`^BODY=${want.map(([k, v]) => `${k}=${v}`).join('&')}$`, 'm'));
    });
  }

  for (const [what, path, type, body, tag] of [
    ['multipart', '/p/keep/form.cgi', 'multipart/form-data; boundary=XX', '--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--XX--\r\n', 'FA01354'],
    ['JSON', '/p/keep/form.cgi', 'application/json', '{"a":1}', 'FA01354'],
    ['a form in ISO-8859-1', '/p/keep/form.cgi', `${FORM}; charset=iso-8859-1`, 'a=%E9', 'FA01354'],
    ['a body over FedAuthPreservePostMax 1024', '/p/small/form.cgi', FORM, `a=${'x'.repeat(1100)}`, 'FA01351'],
    ['a malformed form (bad escape)', '/p/keep/form.cgi', FORM, 'a=%zz', 'FA01353'],
    ['a form that is not UTF-8', '/p/keep/form.cgi', FORM, 'a=%E9', 'FA01353'],
    ['a form without the directive', '/p/off/form.cgi', FORM, 'a=1', null],
  ]) {
    it(`not kept: ${what} gets today's 401, no state cookie, nothing stored${tag ? `, a log line ${tag}` : ''}`, async () => {
      const keptBefore = metric(await metrics(), 'kept');
      const b = new Browser();
      const res = await b.request(`${base}${path}`, { method: 'POST', body, headers: { 'Content-Type': type, ...SAME } });
      assert.equal(res.status, 401, dump(res));
      assert.ok(errorCodes(res.body).includes('no_session'), dump(res));
      assert.ok(!res.setCookies.some((c) => STATE_COOKIE_RE.test(c.name)), 'no sign-in started');
      assert.ok(!res.body.includes(HANDLER_MARK));
      assert.equal(metric(await metrics(), 'kept'), keptBefore, 'nothing kept');
      if (tag) assert.match(site.errorLog(), new RegExp(`${tag}: POST to ${path.replace(/\./g, '\\.')} not kept`));
    });
  }

  for (const [what, path, headers] of [
    ['a script\'s POST (X-Requested-With) where FedAuthUnauthenticated is auto', '/p/auto/form.cgi', { 'X-Requested-With': 'XMLHttpRequest' }],
    ['a POST where FedAuthUnauthenticated is 401', '/p/api/form.cgi', {}],
  ]) {
    it(`not kept: ${what} keeps the 401 it can act on`, async () => {
      const res = await new Browser().request(`${base}${path}`, {
        method: 'POST', body: 'a=1', headers: { 'Content-Type': FORM, ...SAME, ...headers },
      });
      assert.equal(res.status, 401, dump(res));
      assert.ok(!res.setCookies.some((c) => STATE_COOKIE_RE.test(c.name)), 'no sign-in started');
    });
  }

  it('metrics: kept, replayed and refused counted', async () => {
    const text = await metrics();
    assert.equal(metric(text, 'kept'), 6, text);
    assert.equal(metric(text, 'replayed'), 6, text);
    assert.equal(metric(text, 'refused'), 3, text);
    assert.equal(metric(text, 'lost'), 0, text);
  });

  // CSRF through the sign-in: another site's page posts to a protected
  // location of a browser without a session here (SameSite kept the
  // cookie off that POST). Kept, it would be posted again after a silent
  // sign-in, now with the session cookie.
  for (const [what, headers] of [
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site', Origin: 'http://evil.example' }],
    ['Sec-Fetch-Site: same-site (another origin of the site)', { 'Sec-Fetch-Site': 'same-site', Origin: 'http://127.0.0.2:1' }],
    ['no Sec-Fetch-Site, a foreign Origin', { Origin: 'http://evil.example' }],
    ['neither header (not a browser\'s form from here)', {}],
  ]) {
    it(`attack: a form posted from another site (${what}) is not kept: the 401, no sign-in started, nothing stored, FA01361`, async () => {
      const refusedBefore = metric(await metrics(), 'refused');
      const res = await new Browser().request(`${base}/p/keep/form.cgi`, {
        method: 'POST', body: 'amount=1000&to=mallory', headers: { 'Content-Type': FORM, ...headers },
      });
      assert.equal(res.status, 401, dump(res));
      assert.ok(!res.setCookies.some((c) => STATE_COOKIE_RE.test(c.name)), 'no sign-in started');
      assert.ok(!res.body.includes(HANDLER_MARK));
      assert.equal(metric(await metrics(), 'refused'), refusedBefore + 1);
      assert.match(site.errorLog(), /FA01361: POST to \/p\/keep\/form\.cgi not kept across the sign-in: it does not come from a page of this site/);
    });
  }

  it('a form of the site itself, told by its Origin alone (a browser without Sec-Fetch-Site), is kept', async () => {
    const res = await new Browser().request(`${base}/p/keep/form.cgi`, {
      method: 'POST', body: 'a=1', headers: { 'Content-Type': FORM, Origin: base },
    });
    assert.equal(res.status, 302, dump(res));
  });

  it('no crash, no trouble in the log', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), []);
  });
});

describe('FedAuthPreservePost under a flood: per-address limit, sessions survive', () => {
  let site;
  let base;
  let port;
  let alice;

  before(async () => {
    site = await startSite({
      serverConf: `FedAuthSessionStore shm:1M\n${METRICS_CONF}`,
      locationsConf: LOCATIONS,
    });
    base = site.base;
    port = Number(new URL(base).port);
    alice = new Browser();
    const r = await alice.login(`${base}/p/off/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('5 addresses x 12 POSTs of 60 KB (3.6 MB for a 1 MB store): 10 kept per address, the rest refused with today\'s 401 and FA01357; alice keeps her session', async () => {
    const body = `a=${'x'.repeat(60000)}`;
    const results = {};
    for (let a = 2; a <= 6; a++) {
      const addr = `127.0.0.${a}`;
      results[addr] = [];
      for (let i = 0; i < 12; i++) {
        const res = await postFrom(port, addr, '/p/keep/form.cgi', body);
        results[addr].push(res.status);
        if (i >= 10) {
          assert.equal(res.status, 401, res.body);
          assert.match(res.headers['www-authenticate'] || '', /FedAuth/);
          assert.ok(!(res.headers['set-cookie'] || []).some((c) => /^fedauth_session_state_/.test(c)));
        }
      }
    }
    for (const [addr, st] of Object.entries(results)) {
      assert.deepEqual(st, [...Array(10).fill(302), 401, 401], addr);
    }
    assert.match(site.errorLog(), /FA01357: POST to \/p\/keep\/form\.cgi not kept across the sign-in: client 127\.0\.0\.6 already has 10 bodies kept in 600 seconds/);
    const r = await alice.get(`${base}/p/off/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    assert.match(r.body, /REMOTE_USER=alice/);
    const m = (await new Browser().get(`${base}/fedauth/metrics`)).body;
    assert.equal(metric(m, 'kept'), 50, m);
    assert.equal(metric(m, 'refused'), 10, m);
    assert.match(m, /^fedauth_shm_sessions 1$/m, m);
  });

  it('a user from another address still gets a POST kept and posted again after the flood', async () => {
    const b = new Browser();
    const kept = await b.request(`${base}/p/keep/form.cgi`, { method: 'POST', body: 'a=1', headers: { 'Content-Type': FORM, ...SAME } });
    assert.equal(kept.status, 302, dump(kept));
    const page = await b.login(kept.location, 'bob', 'bob-pass-2', { formPost: false });
    assert.equal(page.status, 200, dump(page));
    assert.deepEqual(autoPost(page.body).fields, [['a', '1']]);
  });

  it('no crash', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), []);
  });
});

describe('FedAuthPreservePost with Redis: the body waits in pieces under the state\'s key, and is gone once posted again', { skip: !redisAvailable() && 'redis-server/redis-cli not installed' }, () => {
  const DB = 4;
  const PREFIX = 'pp:';
  let redis;
  let site;
  let base;

  before(async () => {
    redis = await startRedis();
    site = await startSite({
      serverConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/${DB}\nFedAuthRedisPrefix "${PREFIX}"\n${METRICS_CONF}`,
      locationsConf: LOCATIONS,
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    await redis?.stop();
    site?.cleanup();
    redis?.cleanup();
  });

  it('a 40 KB form: 3 pieces (TTL <= 660 s) and the client\'s count while at the IdP; none after the replay, which the handler gets whole', async () => {
    const b = new Browser();
    const body = `a=${'x'.repeat(20000)}&b=${'y'.repeat(20000)}`;
    const kept = await b.request(`${base}/p/keep/form.cgi`, { method: 'POST', body, headers: { 'Content-Type': FORM, ...SAME } });
    assert.equal(kept.status, 302, dump(kept));
    const pieces = (await redis.keys(DB, `${PREFIX}l:post:*`)).sort();
    assert.equal(pieces.length, 3, pieces.join(' '));
    assert.deepEqual(pieces.map((k) => k.slice(-2)), ['.0', '.1', '.2']);
    for (const k of pieces) {
      const ttl = Number(await redis.cli(['TTL', k], { db: DB }));
      assert.ok(ttl > 0 && ttl <= 660, `${k} TTL ${ttl}`);
    }
    const counts = await redis.keys(DB, `${PREFIX}l:pr:*`);
    assert.equal(counts.length, 2, 'one slot and the count');
    const page = await b.login(kept.location, 'alice', 'alice-pass-1', { formPost: false });
    assert.equal(page.status, 200, dump(page));
    assert.deepEqual(await redis.keys(DB, `${PREFIX}l:post:*`), [], 'taken');
    const { fields } = autoPost(page.body);
    const res = await b.request(`${base}/p/keep/form.cgi`, {
      method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'Content-Type': FORM, ...SAME },
    });
    assert.equal(/^BODY=(.*)$/m.exec(res.body)[1], body);
    assert.match(res.body, /^USER=alice$/m);
  });

  it('a body gone from the store before the callback (expired, pushed out): the sign-in ends in the usual redirect, a GET of the URL, FA01359 and lost counted', async () => {
    const b = new Browser();
    const kept = await b.request(`${base}/p/keep/form.cgi?gone=1`, { method: 'POST', body: 'a=1', headers: { 'Content-Type': FORM, ...SAME } });
    assert.equal(kept.status, 302, dump(kept));
    const pieces = await redis.keys(DB, `${PREFIX}l:post:*`);
    assert.equal(pieces.length, 1);
    await redis.cli(['DEL', pieces[0]], { db: DB });
    const atIdp = await b.login(kept.location, 'bob', 'bob-pass-2', { formPost: false, stopAt: (u) => u.startsWith(`${base}/signin-`) });
    const cb = await b.request(atIdp.stoppedAt);
    assert.equal(cb.status, 302, dump(cb));
    assert.equal(cb.location, `${base}/p/keep/form.cgi?gone=1`);
    assert.ok(!/type="hidden"/.test(cb.body));
    assert.match(site.errorLog(), /FA01359: the POST kept for \/p\/keep\/form\.cgi\?gone=1 is gone or changed/);
    const m = (await new Browser().get(`${base}/fedauth/metrics`)).body;
    assert.equal(metric(m, 'lost'), 1, m);
    assert.equal(metric(m, 'replayed'), 1, m);
  });

  it('no crash', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), []);
  });
});

describe('FedAuthPreservePost and FedAuthPreservePostMax in apache2 -t', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));
  const PROVIDER = `FedAuthSecret "a long enough test passphrase for config tests"
<FedAuthProvider test>
    Issuer        http://127.0.0.1:9
    ClientID      client-test
    ClientSecret  secret-test
</FedAuthProvider>`;
  async function check(location) {
    requireModule();
    const { dir, confFile } = await writeHttpdConfig({
      providersConf: PROVIDER,
      locationsConf: loc('/p/on/', location),
    });
    dirs.push(dir);
    const res = await configTest(confFile);
    return `${res.stdout}${res.stderr}`;
  }

  it('good values pass', async () => {
    const out = await check('    FedAuthPreservePost On\n    FedAuthPreservePostMax 1048576\n');
    assert.match(out, /Syntax OK/, out);
  });

  for (const [line, re] of [
    ['FedAuthPreservePost maybe', /FedAuthPreservePost /],
    ['FedAuthPreservePostMax 1023', /FedAuthPreservePostMax expects a whole number from 1024 to 1048576/],
    ['FedAuthPreservePostMax 1048577', /FedAuthPreservePostMax expects a whole number from 1024 to 1048576/],
    ['FedAuthPreservePostMax 64k', /FedAuthPreservePostMax expects a whole number/],
  ]) {
    it(`"${line}" stops apache2 -t naming the directive, file and line`, async () => {
      const out = await check(`    ${line}\n`);
      assert.match(out, re, out);
      assert.match(out, /Syntax error on line \d+ of \S+httpd\.conf/, out);
      assert.doesNotMatch(out, /Syntax OK/, out);
    });
  }
});
