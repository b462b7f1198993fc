// SPDX-License-Identifier: Apache-2.0
// UsernameClaim and IdentifyingClaim (issue4.md): the first claim of the
// chain with a value wins, email only when email_verified is true;
// lower-cased, spaces to dots ("John Doe" -> john.doe); none -> <sub>@<id>.
// IdentifyingClaim (default sub) is FEDAUTH_SUB.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSite, Browser, parseEnv, dump } from '../lib/index.mjs';

const user = (username, claims) => ({ username, password: `${username}-pw`, claims: { sub: `${username}-sub`, ...claims } });

const USERS = [
  user('john', { preferred_username: 'John Doe', email: 'john@example.org', email_verified: true }),
  user('mixed', { preferred_username: 'MiXeD.Case@Example.ORG' }),
  // upn first, then a verified email
  user('upnuser', { upn: 'J.Smith@Corp.Example', preferred_username: 'ignored-by-chain', email: 'smith@example.org', email_verified: true }),
  user('mailonly', { preferred_username: 'also-ignored', email: 'Mail.Only@Example.org', email_verified: true }),
  // an unverified email does not count: <sub>@<id>
  user('unverified', { email: 'unverified@example.org', email_verified: false }),
  // email_verified as the string "true" is not the boolean true
  user('strverified', { email: 'str@example.org', email_verified: 'true' }),
  // empty preferred_username has no value: the next claim of the chain
  user('emptyname', { preferred_username: '', email: 'empty@example.org', email_verified: true }),
  // Entra ID style: oid identifies the user
  user('entra', { oid: '00000000-0000-0000-0000-00000000a11c', preferred_username: 'entra@tenant.example' }),
];

describe('UsernameClaim and IdentifyingClaim', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({
      users: USERS,
      providers: [
        { id: 'dflt' }, // default chain: preferred_username email
        { id: 'chain', extra: '    UsernameClaim upn email\n' },
        { id: 'oid', extra: '    IdentifyingClaim oid\n' },
      ],
      locationsConf: ['dflt', 'chain', 'oid'].map((id) => `<Location /p/${id}/>
    AuthType FedAuth
    FedAuthProviders ${id}
    Require valid-user
</Location>
`).join('\n'),
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  async function signIn(id, username) {
    const r = await new Browser().login(`${base}/p/${id}/env.cgi`, username, `${username}-pw`);
    assert.equal(r.status, 200, `login of ${username} through ${id}\n${dump(r)}`);
    const env = parseEnv(r.body);
    env.body = r.body;
    return env;
  }

  function assertUser(env, name, what) {
    assert.equal(env.REMOTE_USER, name, `${what}: REMOTE_USER\n${env.body}`);
    assert.equal(env.FEDAUTH_USER, name, `${what}: FEDAUTH_USER\n${env.body}`);
    assert.equal(env.HTTP_X_FEDAUTH_USER, name, `${what}: X-FedAuth-User\n${env.body}`);
  }

  it('"John Doe" as preferred_username -> john.doe', async () => {
    assertUser(await signIn('dflt', 'john'), 'john.doe', 'john');
  });

  it('preferred_username is lower-cased', async () => {
    assertUser(await signIn('dflt', 'mixed'), 'mixed.case@example.org', 'mixed');
  });

  it('default chain, no preferred_username, unverified email -> <sub>@<id>', async () => {
    assertUser(await signIn('dflt', 'unverified'), 'unverified-sub@dflt', 'unverified');
  });

  it('email_verified "true" (a string) is not verified -> <sub>@<id>', async () => {
    assertUser(await signIn('dflt', 'strverified'), 'strverified-sub@dflt', 'strverified');
  });

  it('an empty preferred_username has no value: the verified email', async () => {
    assertUser(await signIn('dflt', 'emptyname'), 'empty@example.org', 'emptyname');
  });

  it('UsernameClaim upn email: the upn, lower-cased, even with a preferred_username', async () => {
    assertUser(await signIn('chain', 'upnuser'), 'j.smith@corp.example', 'upnuser via chain');
  });

  it('UsernameClaim upn email: no upn -> the verified email (preferred_username is not in the chain)', async () => {
    assertUser(await signIn('chain', 'mailonly'), 'mail.only@example.org', 'mailonly via chain');
  });

  it('UsernameClaim upn email: a verified email without upn; neither -> <sub>@<id>', async () => {
    assertUser(await signIn('chain', 'john'), 'john@example.org', 'john via chain: no upn, a verified email');
    assertUser(await signIn('chain', 'unverified'), 'unverified-sub@chain', 'unverified via chain');
  });

  it('FEDAUTH_SUB is sub by default', async () => {
    const env = await signIn('dflt', 'entra');
    assert.equal(env.FEDAUTH_SUB, 'entra-sub', env.body);
    assert.equal(env.HTTP_X_FEDAUTH_SUB, 'entra-sub', env.body);
  });

  it('IdentifyingClaim oid: FEDAUTH_SUB / X-FedAuth-Sub is the oid', async () => {
    const env = await signIn('oid', 'entra');
    assert.equal(env.FEDAUTH_SUB, '00000000-0000-0000-0000-00000000a11c', env.body);
    assert.equal(env.HTTP_X_FEDAUTH_SUB, '00000000-0000-0000-0000-00000000a11c', env.body);
    assertUser(env, 'entra@tenant.example', 'entra via oid');
  });

  it('/fedauth/session shows the same user name', async () => {
    const b = new Browser();
    const r = await b.login(`${base}/p/dflt/env.cgi`, 'john', 'john-pw');
    assert.equal(r.status, 200, dump(r));
    const s = await b.getOnce(`${base}/fedauth/session`);
    assert.equal(s.status, 200, dump(s));
    assert.equal(JSON.parse(s.body).user, 'john.doe', s.body);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
