// SPDX-License-Identifier: Apache-2.0
// UserInfo (issue4.md): at login the userinfo endpoint is fetched with the
// access token and its claims merged (the ID token wins on conflict), by
// default when discovery lists it; UserInfo Off skips it. The test IdP
// serves a user's `userinfoOnly` claims from userinfo only. A userinfo with
// another sub -> 401 userinfo_sub_mismatch and no session; a broken or
// unreachable userinfo endpoint -> 502 idp_bad_response / idp_unreachable.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, errorCodes, freePort, sessionCookiesSet, assertToIdp,
} from '../lib/index.mjs';

const UMA = {
  username: 'uma',
  password: 'uma-pw',
  claims: {
    sub: 'uma-sub',
    preferred_username: 'uma',
    email: 'uma@example.org',
    email_verified: true,
    name: 'Uma from the ID token',
  },
  userinfoOnly: {
    name: 'Uma from userinfo',
    family_name: 'Userinfo',
    department: 'Sales',
    groups: ['ui-admins'],
  },
};

const PROVIDER_CONF = `    GroupsClaim groups
    GroupMap "ui-admins" admin
    ClaimMap department DEPARTMENT
    ClaimMap name FULL_NAME
`;

// AuthzSendForbiddenOnFailure On: these tests are about UserInfo; whether
// a refused user gets 403 without it is 210-authz's business.
const loc = (path, id, requireLine = 'Require valid-user') => `<Location ${path}>
    AuthType FedAuth
    FedAuthProviders ${id}
    AuthzSendForbiddenOnFailure On
    ${requireLine}
</Location>
`;

describe('UserInfo', () => {
  let site;
  let base;
  let closedPort;

  before(async () => {
    closedPort = await freePort(); // nothing listens there
    site = await startSite({
      idps: [
        {
          name: 'main',
          users: [UMA],
          providers: [
            { id: 'ui', extra: PROVIDER_CONF }, // UserInfo by default
            { id: 'on', extra: `${PROVIDER_CONF}    UserInfo On\n` },
            { id: 'off', extra: `${PROVIDER_CONF}    UserInfo Off\n` },
          ],
        },
        {
          // discovery names a userinfo endpoint where nothing listens
          name: 'down',
          users: [UMA],
          providers: [{ id: 'down', extra: PROVIDER_CONF }],
          setup: (idp) => idp.discoveryOverride({ userinfo_endpoint: `http://127.0.0.1:${closedPort}/me` }),
        },
      ],
      locationsConf: [
        loc('/p/ui/', 'ui'),
        loc('/p/on/', 'on'),
        loc('/p/off/', 'off'),
        loc('/p/down/', 'down'),
        loc('/p/uiadmin/', 'ui off', 'Require fedauth-role admin'),
        loc('/p/sales/', 'ui off', 'Require fedauth-claim department:Sales'),
      ].join('\n'),
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const idp = () => site.idps.main;

  async function signIn(id, b = new Browser()) {
    const r = await b.login(`${base}/p/${id}/env.cgi`, 'uma', 'uma-pw');
    return { r, b, env: parseEnv(r.body) };
  }

  describe('userinfo claims reach the session', () => {
    for (const id of ['ui', 'on']) {
      it(`${id === 'ui' ? 'UserInfo not set (discovery lists userinfo_endpoint)' : 'UserInfo On'}: claims only in userinfo reach FEDAUTH_* and the roles`, async () => {
        const { r, env } = await signIn(id);
        assert.equal(r.status, 200, dump(r));
        assert.equal(env.REMOTE_USER, 'uma', r.body);
        assert.equal(env.FEDAUTH_DEPARTMENT, 'Sales', r.body);
        assert.equal(env.HTTP_X_FEDAUTH_DEPARTMENT, 'Sales', r.body);
        assert.equal(env.FEDAUTH_FAMILY_NAME, 'Userinfo', `automatic FAMILY_NAME from userinfo\n${r.body}`);
        assert.equal(env.FEDAUTH_ROLES, 'admin', `groups from userinfo map to roles\n${r.body}`);
        assert.equal(env.HTTP_X_FEDAUTH_ROLES, 'admin', r.body);
      });
    }

    it('on conflict the ID token wins (name)', async () => {
      const { r, env } = await signIn('ui');
      assert.equal(r.status, 200, dump(r));
      assert.equal(env.FEDAUTH_FULL_NAME, 'Uma from the ID token', r.body);
    });

    it('Require fedauth-role / fedauth-claim see the userinfo claims', async () => {
      const { r, b } = await signIn('ui');
      assert.equal(r.status, 200, dump(r));
      for (const p of ['/p/uiadmin/env.cgi', '/p/sales/env.cgi']) {
        const x = await b.getOnce(`${base}${p}`);
        assert.equal(x.status, 200, `${p}\n${dump(x)}`);
        assert.equal(parseEnv(x.body).REMOTE_USER, 'uma');
      }
    });
  });

  describe('UserInfo Off', () => {
    it('claims only in userinfo do not reach FEDAUTH_* or the roles', async () => {
      const { r, env } = await signIn('off');
      assert.equal(r.status, 200, dump(r));
      assert.equal(env.REMOTE_USER, 'uma', r.body);
      assert.equal(env.FEDAUTH_DEPARTMENT, undefined, r.body);
      assert.equal(env.HTTP_X_FEDAUTH_DEPARTMENT, undefined, r.body);
      assert.equal(env.FEDAUTH_FAMILY_NAME, undefined, r.body);
      assert.equal(env.FEDAUTH_ROLES, '', r.body);
      assert.equal(env.FEDAUTH_FULL_NAME, 'Uma from the ID token', r.body);
    });

    it('Require fedauth-role admin / fedauth-claim department:Sales refuse that session', async () => {
      const { r, b } = await signIn('off');
      assert.equal(r.status, 200, dump(r));
      for (const p of ['/p/uiadmin/env.cgi', '/p/sales/env.cgi']) {
        const x = await b.getOnce(`${base}${p}`);
        assert.equal(x.status, 403, `${p}\n${dump(x)}`);
        assert.ok(errorCodes(x.body).includes('access_denied'), dump(x));
      }
    });

    it('a userinfo endpoint that would answer with another sub does not matter', async () => {
      await idp().tamper('userinfo_sub');
      try {
        const { r, env } = await signIn('off');
        assert.equal(r.status, 200, dump(r));
        assert.equal(env.REMOTE_USER, 'uma', r.body);
      } finally {
        await idp().tamper(null);
      }
    });
  });

  describe('a misbehaving userinfo endpoint', () => {
    after(async () => { await idp().tamper(null); });

    it('userinfo with another sub: 401 <code>userinfo_sub_mismatch</code>, no session', async () => {
      await idp().tamper('userinfo_sub');
      const b = new Browser();
      const { r } = await signIn('ui', b);
      assert.equal(r.status, 401, dump(r));
      assert.ok(errorCodes(r.body).includes('userinfo_sub_mismatch'), `error code in\n${dump(r)}`);
      assert.deepEqual(sessionCookiesSet(r.setCookiesAll).map((c) => c.header), [], `no session cookie\n${dump(r)}`);
      assert.equal(b.jar.get('fedauth_session'), undefined, 'no session cookie in the jar');
      // and indeed no session: the protected page sends the browser to sign in
      await idp().tamper(null);
      const again = await b.getOnce(`${base}/p/ui/env.cgi`);
      await assertToIdp(again, site, 'ui', 'after the refused login: ');
    });

    it('userinfo answers 500: 502 <code>idp_bad_response</code>, no session', async () => {
      await idp().tamper('userinfo_500');
      const { r } = await signIn('ui');
      assert.equal(r.status, 502, dump(r));
      assert.ok(errorCodes(r.body).includes('idp_bad_response'), dump(r));
      assert.deepEqual(sessionCookiesSet(r.setCookiesAll).map((c) => c.header), [], dump(r));
    });

    it('userinfo answers something that is not JSON: 502 <code>idp_bad_response</code>, no session', async () => {
      await idp().tamper('userinfo_bad_json');
      const { r } = await signIn('ui');
      assert.equal(r.status, 502, dump(r));
      assert.ok(errorCodes(r.body).includes('idp_bad_response'), dump(r));
      assert.deepEqual(sessionCookiesSet(r.setCookiesAll).map((c) => c.header), [], dump(r));
    });

    it('userinfo endpoint unreachable: 502 <code>idp_unreachable</code> within FedAuthHTTPTimeout, no session', async () => {
      const t0 = Date.now();
      const { r } = await signIn('down');
      assert.equal(r.status, 502, dump(r));
      assert.ok(errorCodes(r.body).includes('idp_unreachable'), dump(r));
      assert.deepEqual(sessionCookiesSet(r.setCookiesAll).map((c) => c.header), [], dump(r));
      assert.ok(Date.now() - t0 < 10000, `took ${Date.now() - t0} ms`);
    });

    it('the IdP behaves again: the login works', async () => {
      await idp().tamper(null);
      const { r, env } = await signIn('ui');
      assert.equal(r.status, 200, dump(r));
      assert.equal(env.FEDAUTH_DEPARTMENT, 'Sales', r.body);
    });
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
