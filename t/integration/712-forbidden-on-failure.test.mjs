// SPDX-License-Identifier: Apache-2.0
// A signed-in user refused by a Require fedauth-* line gets the module's
// 403 page (never a new sign-in), without the module changing
// AuthzSendForbiddenOnFailure (issue 20 item 11): where a refusal comes
// from another Require line (Require user), the administrator's setting
// decides, as in any other httpd: Off (the default) gives 401, On 403.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, dump, errorCodes, SESSION_COOKIE,
} from '../lib/index.mjs';

const loc = (name, body) => `<Location /p/${name}/>
    AuthType FedAuth
${body.trim().split('\n').map((l) => `    ${l.trim()}`).join('\n')}
</Location>
`;

const LOCATIONS = [
  loc('ok', 'FedAuthProviders test\nRequire valid-user'),
  // the administrator's Off next to a line of ours that grants and
  // httpd's Require user that refuses
  loc('offuser', `AuthzSendForbiddenOnFailure Off
<RequireAll>
Require fedauth-idp test
Require fedauth-claim email_verified:true
Require user nobody
</RequireAll>`),
  // httpd's default (Off), a line of ours granting first
  loc('defaultuser', `<RequireAll>
Require fedauth-idp test other
Require user nobody
</RequireAll>`),
  loc('granted', 'Require fedauth-idp test'),
  loc('onuser', `AuthzSendForbiddenOnFailure On
Require user nobody`),
  // a line of ours refuses: 403 whatever the setting
  loc('offidp', `AuthzSendForbiddenOnFailure Off
Require fedauth-idp other`),
  loc('offclaim', `AuthzSendForbiddenOnFailure Off
Require fedauth-claim email_verified:false`),
  loc('none', `<RequireAll>
Require valid-user
<RequireNone>
Require fedauth-idp test
</RequireNone>
</RequireAll>`),
  loc('not', `<RequireAll>
Require valid-user
Require not fedauth-claim email_verified:true
</RequireAll>`),
].join('\n');

describe('403 for refusals by Require fedauth-*, AuthzSendForbiddenOnFailure left alone', () => {
  let site;
  let base;
  let alice;

  before(async () => {
    site = await startSite({ providers: [{ id: 'test' }, { id: 'other' }], locationsConf: LOCATIONS });
    base = site.base;
    alice = new Browser();
    const r = await alice.login(`${base}/p/ok/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
    assert.match(r.body, /REMOTE_USER=alice/, 'signed in');
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const refusedByUs = (r, what) => {
    assert.equal(r.status, 403, `${what}\n${dump(r)}`);
    assert.equal(r.location, undefined, 'no redirect');
    assert.ok(errorCodes(r.body).includes('access_denied'), `${what}: the module's page\n${dump(r)}`);
    assert.match(r.body, /signed in as <strong>alice<\/strong>/);
    assert.doesNotMatch(r.body, /REMOTE_USER=/);
  };

  it("AuthzSendForbiddenOnFailure Off next to a Require user that refuses: httpd's 401, as the administrator set", async () => {
    for (const name of ['offuser', 'defaultuser']) {
      const r = await alice.getOnce(`${base}/p/${name}/env.cgi`);
      assert.equal(r.status, 401, `${name}\n${dump(r)}`);
      assert.equal(r.location, undefined, 'no redirect');
      assert.doesNotMatch(r.body, /REMOTE_USER=/);
      assert.ok(!r.setCookies.some((c) => c.name === SESSION_COOKIE), 'the session cookie is left alone');
    }
  });

  it('AuthzSendForbiddenOnFailure On next to a Require user: 403', async () => {
    const r = await alice.getOnce(`${base}/p/onuser/env.cgi`);
    assert.equal(r.status, 403, dump(r));
    assert.doesNotMatch(r.body, /REMOTE_USER=/);
  });

  it('a Require fedauth-* line that refuses: the 403 page, also under AuthzSendForbiddenOnFailure Off, <RequireNone> and Require not', async () => {
    for (const name of ['offidp', 'offclaim', 'none', 'not']) {
      refusedByUs(await alice.getOnce(`${base}/p/${name}/env.cgi`), name);
    }
  });

  it('the session still works after every refusal', async () => {
    const r = await alice.getOnce(`${base}/p/ok/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    assert.match(r.body, /REMOTE_USER=alice/);
  });

  it('a page a Require fedauth-* line grants has no FEDAUTH_ERROR in its environment', async () => {
    const r = await alice.getOnce(`${base}/p/granted/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    assert.match(r.body, /REMOTE_USER=alice/);
    assert.doesNotMatch(r.body, /FEDAUTH_ERROR/);
  });

  it('no crash', async () => {
    await site.httpd.stop();
    assert.deepEqual(site.troubles([/AH01630|AH01631|AH01797|AH00571|AH01796/]), []);
  });
});
