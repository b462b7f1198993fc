// SPDX-License-Identifier: Apache-2.0
// issue3.md, Enabled Off: "an existing session from it is treated as no
// session (the browser is sent to sign in again)".
//
// Two ways to hold a session from a provider that is then disabled:
// 1. a <VirtualHost> on a second port redefines provider a with Enabled Off.
//    The session store and the FedAuthSecret are shared, and the browser
//    sends its 127.0.0.1 cookies to both ports, so a session made on the
//    main server reaches the virtual host; a session from b (still enabled
//    there) is the control that sessions do cross.
// 2. httpd is restarted with the same FedAuthSecret and a Enabled Off. The
//    sessions live in a real Redis (the embedded shm store would not keep
//    them across a restart), so b's session surviving the restart is the
//    control, asserted, and a's session must be no session.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, errorCodes, assertToIdp, locationFor,
  USERS_A, USERS_B, ANNA, BRUNO,
} from '../lib/index.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';

/** err.cgi prints NAME=value lines inside <pre id="env">. */
function errEnv(body) {
  const m = /<pre id="env">\n?([\s\S]*?)<\/pre>/.exec(body);
  return m ? parseEnv(m[1]) : {};
}

describe('Enabled Off: sessions from a disabled provider', { skip: !redisAvailable() && 'redis-server/redis-cli not installed (build/deps.sh installs them)' }, () => {
  let redis;
  let site;
  let base;
  let vbase;
  const asSite = () => ({ ...site, base: vbase });

  before(async () => {
    redis = await startRedis();
    site = await startSite({
      idps: [
        { name: 'A', users: USERS_A, providers: [{ id: 'a', displayName: 'Alpha' }] },
        { name: 'B', users: USERS_B, providers: [{ id: 'b', displayName: 'Beta' }] },
      ],
      extraPorts: 1,
      // sessions in Redis: they outlive the httpd restart below
      serverConf: `FedAuthSessionStore redis://127.0.0.1:${redis.port}/0
FedAuthRedisTimeout 1`,
      locationsConf: locationFor('/protected'),
      extraConf: ({ ports, providerConf }) => `
ErrorDocument 403 /cgi-bin/err.cgi
Listen 127.0.0.1:${ports[0]}
<VirtualHost 127.0.0.1:${ports[0]}>
    ServerName 127.0.0.1:${ports[0]}
${providerConf('a', 'Enabled Off')}
</VirtualHost>
`,
    });
    base = site.base;
    vbase = `http://127.0.0.1:${site.ports[0]}`;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    await redis?.stop();
    redis?.cleanup();
  });

  const bA = new Browser();
  const bB = new Browser();
  it('on the main server both providers sign in (sessions for a and for b)', async () => {
    const ra = await bA.login(`${base}/fedauth/login?idp=a&return_to=%2Fprotected%2Fenv.cgi`, ANNA.username, ANNA.password);
    assert.equal(ra.status, 200, dump(ra));
    assert.equal(parseEnv(ra.body).FEDAUTH_IDP, 'a');
    const rb = await bB.login(`${base}/fedauth/login?idp=b&return_to=%2Fprotected%2Fenv.cgi`, BRUNO.username, BRUNO.password);
    assert.equal(rb.status, 200, dump(rb));
    assert.equal(parseEnv(rb.body).FEDAUTH_IDP, 'b');
  });

  it('virtual host with a disabled: no session there goes straight to IdP B (the only provider offered)', async () => {
    await assertToIdp(await new Browser().getOnce(`${vbase}/protected/env.cgi`), asSite(), 'b');
  });

  it('control: the session from b works on the virtual host too (sessions cross the two ports)', async () => {
    const r = await bB.getOnce(`${vbase}/protected/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'bruno');
    assert.equal(parseEnv(r.body).FEDAUTH_IDP, 'b');
  });

  it('the session from a is no session on the virtual host: the browser is sent to IdP B', async () => {
    const r = await bA.getOnce(`${vbase}/protected/env.cgi`);
    await assertToIdp(r, asSite(), 'b', 'session from disabled a: ');
  });

  it('/fedauth/session on the virtual host: 401 no_session for the session from a, 200 for b', async () => {
    const ra = await bA.getOnce(`${vbase}/fedauth/session`);
    assert.equal(ra.status, 401, dump(ra));
    assert.deepEqual(JSON.parse(ra.body), { error: 'no_session' });
    const rb = await bB.getOnce(`${vbase}/fedauth/session`);
    assert.equal(rb.status, 200, dump(rb));
    assert.equal(JSON.parse(rb.body).idp, 'b');
  });

  it('the main server (a enabled) still accepts the session from a', async () => {
    const r = await bA.getOnce(`${base}/protected/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).REMOTE_USER, 'anna');
  });

  it('virtual host: /fedauth/login?idp=a is 404 unknown_provider', async () => {
    const r = await new Browser().getOnce(`${vbase}/fedauth/login?idp=a&return_to=%2F`);
    assert.equal(r.status, 404, dump(r));
    assert.ok(errorCodes(r.body).includes('unknown_provider'), dump(r));
  });

  it('virtual host: /signin-a?code=x&state=y is 403, the ErrorDocument sees FEDAUTH_ERROR=provider_disabled', async () => {
    const r = await new Browser().getOnce(`${vbase}/signin-a?code=x&state=y`);
    assert.equal(r.status, 403, dump(r));
    assert.match(r.body, /id="custom-error-page"/, dump(r));
    assert.equal(errEnv(r.body).FEDAUTH_ERROR, 'provider_disabled', r.body);
  });

  it('restart with the same FedAuthSecret and a Enabled Off: the session from a no longer works (b\'s, in Redis, still does)', async () => {
    await site.restartHttpd({ providerExtra: { a: 'Enabled Off' } });
    // control first: the session from b (still enabled) survived the restart
    const ctl = await bB.getOnce(`${base}/protected/env.cgi`);
    assert.equal(ctl.status, 200, `control: b's session after the restart: ${dump(ctl)}`);
    assert.equal(parseEnv(ctl.body).FEDAUTH_IDP, 'b');
    const r = await bA.getOnce(`${base}/protected/env.cgi`);
    await assertToIdp(r, site, 'b', 'after restart with a disabled: ');
    const s = await bA.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 401, dump(s));
    assert.deepEqual(JSON.parse(s.body), { error: 'no_session' });
  });

  it('after the restart: /fedauth/login?idp=a 404 unknown_provider, /signin-a 403 provider_disabled, login via b works', async () => {
    const l = await new Browser().getOnce(`${base}/fedauth/login?idp=a&return_to=%2F`);
    assert.equal(l.status, 404, dump(l));
    assert.ok(errorCodes(l.body).includes('unknown_provider'), dump(l));
    const cb = await new Browser().getOnce(`${base}/signin-a?code=x&state=y`);
    assert.equal(cb.status, 403, dump(cb));
    assert.equal(errEnv(cb.body).FEDAUTH_ERROR, 'provider_disabled', cb.body);
    const b = new Browser();
    const r = await b.login(`${base}/protected/env.cgi`, BRUNO.username, BRUNO.password);
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).FEDAUTH_IDP, 'b');
  });

  it('httpd stops cleanly; the error logs (both runs) have no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
