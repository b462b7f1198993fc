// SPDX-License-Identifier: Apache-2.0
// 9. An administrator's ErrorDocument replaces mod_fedauth's error page and
// sees FEDAUTH_ERROR / FEDAUTH_ERROR_DESCRIPTION.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, dump, loginUntilCallback, sessionCookiesSet, parseEnv,
} from '../lib/index.mjs';

/** err.cgi prints NAME=value lines inside <pre id="env">. */
function errEnv(body) {
  const m = /<pre id="env">\n?([\s\S]*?)<\/pre>/.exec(body);
  return m ? parseEnv(m[1]) : {};
}

describe('ErrorDocument with FEDAUTH_ERROR', () => {
  let site;
  let base;
  const start = () => `${base}/protected/env.cgi`;

  before(async () => {
    site = await startSite({
      providers: [{ id: 'test' }],
      extraConf: 'ErrorDocument 401 /cgi-bin/err.cgi\nErrorDocument 400 /cgi-bin/err.cgi\nErrorDocument 502 /cgi-bin/err.cgi\n',
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('401 idp_error: the custom page, FEDAUTH_ERROR=idp_error, the description', async () => {
    const b = new Browser();
    const page = await b.get(start());
    const abort = /action="([^"]*\/abort)"/.exec(page.body);
    assert.ok(abort, page.body);
    const r = await b.post(new URL(abort[1], page.url).href, { error: 'access_denied', error_description: 'user said no' });
    assert.equal(r.status, 401, dump(r));
    assert.match(r.body, /id="custom-error-page"/, dump(r));
    const env = errEnv(r.body);
    assert.equal(env.FEDAUTH_ERROR, 'idp_error', `FEDAUTH_ERROR in the ErrorDocument's environment:\n${r.body}`);
    assert.match(env.FEDAUTH_ERROR_DESCRIPTION || '', /user said no/, r.body);
    assert.deepEqual(sessionCookiesSet(r.setCookies), []);
  });

  it('400 state_mismatch: the custom page, FEDAUTH_ERROR=state_mismatch', async () => {
    const b = new Browser();
    const cb = await loginUntilCallback(b, start(), base, 'test');
    const r = await new Browser().getOnce(cb); // no state cookie
    assert.equal(r.status, 400, dump(r));
    assert.match(r.body, /id="custom-error-page"/, dump(r));
    assert.equal(errEnv(r.body).FEDAUTH_ERROR, 'state_mismatch', r.body);
  });

  it('401 for POST without a session: the custom page', async () => {
    const r = await new Browser().request(start(), { method: 'POST', body: 'x=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 401, dump(r));
    assert.match(r.body, /id="custom-error-page"/, dump(r));
  });

  it('502 idp_unreachable: the custom page, FEDAUTH_ERROR=idp_unreachable', async () => {
    const b = new Browser();
    const cb = await loginUntilCallback(b, start(), base, 'test');
    await site.idp.stop();
    const r = await b.getOnce(cb);
    assert.equal(r.status, 502, dump(r));
    assert.match(r.body, /id="custom-error-page"/, dump(r));
    assert.equal(errEnv(r.body).FEDAUTH_ERROR, 'idp_unreachable', r.body);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
