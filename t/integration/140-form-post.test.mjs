// SPDX-License-Identifier: Apache-2.0
// issue3.md, ResponseMode form_post: the authorization request carries
// response_mode=form_post, the IdP answers with an auto-submitting form that
// POSTs code and state to /signin-<id>, and the sign-in succeeds. The state
// cookie is SameSite=Lax on http and SameSite=None; Secure on https. The
// POSTed callback gets the same checks as the query one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, errorCodes, sessionCookiesSet, assertToIdp, locationFor,
  STATE_COOKIE_RE, SESSION_COOKIE, REMEMBER_COOKIE, USERS_A, ANNA,
} from '../lib/index.mjs';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('ResponseMode form_post (http)', () => {
  let site;
  let base;
  const fp = () => `${base}/p/fp/env.cgi`;

  before(async () => {
    site = await startSite({
      idps: [{
        name: 'A',
        users: USERS_A,
        providers: [
          { id: 'fp', extra: 'ResponseMode form_post\n' },
          { id: 'qm', extra: 'ResponseMode query\n' },
          { id: 'dm' },
        ],
      }],
      locationsConf: ['fp', 'qm', 'dm'].map((id) => locationFor(`/p/${id}/`, [id])).join('\n'),
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('the authorization request carries response_mode=form_post; the state cookie is SameSite=Lax on http', async () => {
    const r = await new Browser().getOnce(fp());
    const q = await assertToIdp(r, site, 'fp');
    assert.equal(q.get('response_mode'), 'form_post');
    assert.equal(q.getAll('response_mode').length, 1);
    const st = r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name));
    assert.equal(st.length, 1, r.setCookies.map((c) => c.header).join(' | '));
    assert.equal(String(st[0].attrs.samesite).toLowerCase(), 'lax', st[0].header);
    assert.equal(st[0].attrs.secure, undefined, st[0].header);
    assert.equal(st[0].attrs.httponly, true, st[0].header);
  });

  it('ResponseMode query and the default: no response_mode=form_post', async () => {
    for (const id of ['qm', 'dm']) {
      const q = await assertToIdp(await new Browser().getOnce(`${base}/p/${id}/env.cgi`), site, id);
      assert.ok([null, 'query'].includes(q.get('response_mode')), `${id}: response_mode=${q.get('response_mode')}`);
    }
  });

  let formSeen;
  it('the IdP POSTs code and state to /signin-fp; the sign-in succeeds and lands on the page', async () => {
    const b = new Browser();
    const r = await b.login(fp(), ANNA.username, ANNA.password);
    assert.equal(r.formPosts?.length, 1, `one auto-submitted form:\n${dump(r)}`);
    formSeen = r.formPosts[0];
    assert.equal(formSeen.action, `${base}/signin-fp`);
    assert.equal(formSeen.method, 'POST');
    assert.ok(formSeen.fields.code && formSeen.fields.state, JSON.stringify(formSeen.fields));
    const post = r.hops.find((h) => h.method === 'POST' && h.url === `${base}/signin-fp`);
    assert.ok(post, dump(r));
    assert.equal(post.status, 302, dump(r));
    assert.equal(new URL(post.location, post.url).href, fp());
    assert.ok(!r.hops.some((h) => h.method === 'GET' && h.url.startsWith(`${base}/signin-fp`)), 'no query callback');
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.url, fp());
    const env = parseEnv(r.body);
    assert.equal(env.FEDAUTH_IDP, 'fp', r.body);
    assert.equal(env.REMOTE_USER, 'anna', r.body);
    assert.equal(env.FEDAUTH_SUB, ANNA.sub, r.body);
    assert.equal(sessionCookiesSet(r.setCookiesAll.filter((c) => c.url === `${base}/signin-fp`)).length, 1, 'session cookie set by the POST');
    assert.equal(b.jar.all().filter((c) => STATE_COOKIE_RE.test(c.name)).length, 0, 'state cookie gone');
  });

  it('the posted form, replayed: 400 state_mismatch, no session', async () => {
    assert.ok(formSeen, 'a form was seen');
    const b = new Browser();
    const r = await b.post(formSeen.action, formSeen.fields, { follow: false });
    assert.equal(r.status, 400, dump(r));
    assert.ok(errorCodes(r.body).includes('state_mismatch'), dump(r));
    assert.deepEqual(sessionCookiesSet(r.setCookies), []);
  });

  it('POST without state: 400 state_missing; with a changed state: 400 state_mismatch', async () => {
    const b = new Browser();
    const r = await b.login(fp(), ANNA.username, ANNA.password, { stopAt: (u) => u.startsWith(`${base}/signin-fp`) });
    assert.ok(r.stoppedForm, `stopped before the POST:\n${dump(r)}`);
    const { code, state } = r.stoppedForm.fields;
    const miss = await b.request(`${base}/signin-fp`, { method: 'POST', headers: FORM, body: new URLSearchParams({ code }).toString() });
    assert.equal(miss.status, 400, dump(miss));
    assert.ok(errorCodes(miss.body).includes('state_missing'), dump(miss));
    const bad = `${state[0] === 'A' ? 'B' : 'A'}${state.slice(1)}`;
    const mm = await b.request(`${base}/signin-fp`, { method: 'POST', headers: FORM, body: new URLSearchParams({ code, state: bad }).toString() });
    assert.equal(mm.status, 400, dump(mm));
    assert.ok(errorCodes(mm.body).includes('state_mismatch'), dump(mm));
  });

  it('Cancel at the IdP: the IdP POSTs error=access_denied, httpd 401 idp_error', async () => {
    const b = new Browser();
    const page = await b.get(fp());
    const abort = /action="([^"]*\/abort)"/.exec(page.body);
    assert.ok(abort, page.body);
    const r0 = await b.post(new URL(abort[1], page.url).href, { error: 'access_denied', error_description: 'no thanks' });
    const r = await b.submitAutoPost(r0);
    assert.equal(r.formPosts?.[0]?.fields.error, 'access_denied', dump(r));
    assert.equal(r.status, 401, dump(r));
    assert.ok(errorCodes(r.body).includes('idp_error'), dump(r));
    assert.equal(b.jar.get(SESSION_COOKIE), undefined);
  });

  it('an oversized POST to /signin-fp is refused (4xx) and httpd keeps serving', async () => {
    const body = `code=x&state=${'A'.repeat(2 * 1024 * 1024)}`;
    let status;
    try {
      const r = await new Browser().request(`${base}/signin-fp`, { method: 'POST', headers: FORM, body });
      status = r.status;
    } catch (e) {
      status = `connection closed (${e.cause?.code || e.message})`;
    }
    assert.ok(typeof status !== 'number' || (status >= 400 && status < 500), `status ${status}`);
    const after2 = await new Browser().getOnce(fp());
    assert.equal(after2.status, 302, dump(after2));
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});

describe('ResponseMode form_post (https)', () => {
  let site;
  let tlsBefore;

  before(async () => {
    // the site's certificate is a throwaway self-signed one for 127.0.0.1
    tlsBefore = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    process.removeAllListeners('warning');
    site = await startSite({
      https: true,
      serverConf: 'FedAuthRememberChoice On\n',
      idps: [{ name: 'A', users: USERS_A, providers: [{ id: 'fp', extra: 'ResponseMode form_post\n' }, { id: 'qm' }] }],
      locationsConf: ['fp', 'qm'].map((id) => locationFor(`/p/${id}/`, [id])).join('\n'),
    });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    if (tlsBefore === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = tlsBefore;
  });

  it('the state cookie is SameSite=None; Secure; HttpOnly for form_post, Lax for query', async () => {
    const r = await new Browser().getOnce(`${site.base}/p/fp/env.cgi`);
    await assertToIdp(r, site, 'fp');
    const st = r.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name));
    assert.equal(st.length, 1, r.setCookies.map((c) => c.header).join(' | '));
    assert.equal(String(st[0].attrs.samesite).toLowerCase(), 'none', st[0].header);
    assert.equal(st[0].attrs.secure, true, st[0].header);
    assert.equal(st[0].attrs.httponly, true, st[0].header);
    const rq = await new Browser().getOnce(`${site.base}/p/qm/env.cgi`);
    const sq = rq.setCookies.filter((c) => STATE_COOKIE_RE.test(c.name));
    assert.equal(String(sq[0]?.attrs.samesite).toLowerCase(), 'lax', sq[0]?.header);
  });

  it('the form_post sign-in succeeds over https', async () => {
    const b = new Browser();
    const r = await b.login(`${site.base}/p/fp/env.cgi`, ANNA.username, ANNA.password);
    assert.equal(r.formPosts?.[0]?.action, `${site.base}/signin-fp`, dump(r));
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).FEDAUTH_IDP, 'fp');
    assert.equal(parseEnv(r.body).REMOTE_USER, 'anna');
  });

  it('over https the remembered-choice cookie is Secure too (every cookie mod_fedauth sets, as in 45-https)', async () => {
    const r = await new Browser().getOnce(`${site.base}/fedauth/login?idp=qm&remember=1&return_to=%2F`);
    await assertToIdp(r, site, 'qm');
    const c = r.setCookies.find((x) => x.name === REMEMBER_COOKIE);
    assert.ok(c, r.setCookies.map((x) => x.header).join(' | '));
    assert.equal(c.attrs.secure, true, c.header);
    assert.equal(c.attrs.httponly, true, c.header);
    assert.equal(String(c.attrs.samesite).toLowerCase(), 'lax', c.header);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
