// SPDX-License-Identifier: Apache-2.0
// A subrequest or internal redirect meets everything its target location
// requires, as if the target were asked for directly (issue 20 item 5).
// Two IdPs: anna signs in through a, bruno through b. /onlyb/ offers only
// provider b, /idpb/ says Require fedauth-idp b. Pages under /inc/
// (any provider) and /pass/ (FedAuthUnauthenticated pass) try to reach
// them through mod_include, ErrorDocument, mod_rewrite ([PT] in the
// server, a per-directory rule) and mod_negotiation (a type map): anna
// must never get their content; bruno (control) gets it through the same
// pages.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  startSite, Browser, dump, perProviderLocations, USERS_A, USERS_B, ANNA, BRUNO,
  assertToIdp,
} from '../lib/index.mjs';

const SECRET_B = 'SECRET-ONLY-B-7f3a';
const SECRET_IDPB = 'SECRET-IDP-B-91c2';
const MODS = ['include', 'rewrite', 'negotiation'].map((m) => `<IfModule !${m}_module>
    LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so
</IfModule>`).join('\n');

const locations = ({ dir }) => `${perProviderLocations(['a', 'b'])}
<Location /onlyb/>
    AuthType FedAuth
    FedAuthProviders b
    Require valid-user
</Location>
<Location /idpb/>
    AuthType FedAuth
    Require fedauth-idp b
</Location>
<Location /inc/>
    AuthType FedAuth
    Require valid-user
    ErrorDocument 404 /onlyb/secret.txt
</Location>
<Location /pass/>
    AuthType FedAuth
    FedAuthUnauthenticated pass
    Require all granted
</Location>
<Directory "${dir}/htdocs/inc">
    Options +Includes +FollowSymLinks
    AddType text/html .shtml
    AddOutputFilter INCLUDES .shtml
    AddHandler type-map .var
    RewriteEngine On
    RewriteRule ^rw/(.*)$ /onlyb/$1 [L]
</Directory>
<Directory "${dir}/htdocs/pass">
    Options +Includes
    AddType text/html .shtml
    AddOutputFilter INCLUDES .shtml
</Directory>
RewriteEngine On
RewriteRule ^/pt/(.*)$ /onlyb/$1 [PT]
`;

function writePages(dir) {
  const put = (rel, text) => {
    const f = path.join(dir, 'htdocs', rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, text, { mode: 0o644 });
  };
  put('onlyb/secret.txt', `${SECRET_B}\n`);
  put('idpb/secret.txt', `${SECRET_IDPB}\n`);
  put('inc/onlyb.shtml', 'before <!--#include virtual="/onlyb/secret.txt" --> after\n');
  put('inc/idpb.shtml', 'before <!--#include virtual="/idpb/secret.txt" --> after\n');
  put('pass/onlyb.shtml', 'before <!--#include virtual="/onlyb/secret.txt" --> after\n');
  put('inc/map.var', 'URI: map\n\nURI: ../onlyb/secret.txt\nContent-Type: text/plain\n\n');
}

describe('subrequests and internal redirects meet the target location', () => {
  let site;
  let base;
  let anna;
  let bruno;

  before(async () => {
    site = await startSite({
      idps: [
        { name: 'a', users: USERS_A, providers: [{ id: 'a' }] },
        { name: 'b', users: USERS_B, providers: [{ id: 'b' }] },
      ],
      serverConf: MODS,
      locationsConf: locations,
    });
    base = site.base;
    writePages(site.httpd.dir);
    anna = new Browser();
    let r = await anna.login(`${base}/p/a/env.cgi`, ANNA.username, ANNA.password);
    assert.equal(r.status, 200, dump(r));
    bruno = new Browser();
    r = await bruno.login(`${base}/p/b/env.cgi`, BRUNO.username, BRUNO.password);
    assert.equal(r.status, 200, dump(r));
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  const noSecret = (r, msg) => {
    assert.doesNotMatch(r.body, new RegExp(`${SECRET_B}|${SECRET_IDPB}`), `${msg}\n${dump(r)}`);
  };

  it('asked directly: anna is sent to sign in at b, bruno reads', async () => {
    const r = await anna.getOnce(`${base}/onlyb/secret.txt`);
    await assertToIdp(r, site, 'b');
    noSecret(r, 'direct');
    const d = await anna.getOnce(`${base}/idpb/secret.txt`);
    assert.equal(d.status, 403, dump(d));
    noSecret(d, 'direct idpb');
    const ok = await bruno.getOnce(`${base}/onlyb/secret.txt`);
    assert.equal(ok.status, 200, dump(ok));
    assert.match(ok.body, new RegExp(SECRET_B));
  });

  it('mod_include: <!--#include virtual--> of a location not offering the session\'s provider gives nothing', async () => {
    const r = await anna.getOnce(`${base}/inc/onlyb.shtml`);
    assert.equal(r.status, 200, dump(r));
    assert.match(r.body, /before/);
    noSecret(r, 'include of /onlyb/ by a session from a');
    const ok = await bruno.getOnce(`${base}/inc/onlyb.shtml`);
    assert.match(ok.body, new RegExp(`before ${SECRET_B}`), dump(ok));
  });

  it('mod_include: the target\'s Require fedauth-idp runs with the session', async () => {
    const r = await anna.getOnce(`${base}/inc/idpb.shtml`);
    assert.equal(r.status, 200, dump(r));
    noSecret(r, 'include of /idpb/ by a session from a');
    const ok = await bruno.getOnce(`${base}/inc/idpb.shtml`);
    assert.match(ok.body, new RegExp(`before ${SECRET_IDPB}`), dump(ok));
  });

  it('mod_include under FedAuthUnauthenticated pass: neither anna nor anonymous gets the target', async () => {
    const r = await anna.getOnce(`${base}/pass/onlyb.shtml`);
    assert.equal(r.status, 200, dump(r));
    noSecret(r, 'pass page, session from a');
    const anon = await new Browser().getOnce(`${base}/pass/onlyb.shtml`);
    assert.equal(anon.status, 200, dump(anon));
    noSecret(anon, 'pass page, anonymous');
    const ok = await bruno.getOnce(`${base}/pass/onlyb.shtml`);
    assert.match(ok.body, new RegExp(`before ${SECRET_B}`), dump(ok));
  });

  it('ErrorDocument pointing into another location: its rules apply', async () => {
    const r = await anna.getOnce(`${base}/inc/missing.html`);
    assert.notEqual(r.status, 200, dump(r));
    noSecret(r, 'ErrorDocument 404 /onlyb/secret.txt');
  });

  it('mod_rewrite [PT] in the server and a per-directory rule: the target location decides', async () => {
    const pt = await anna.getOnce(`${base}/pt/secret.txt`);
    assert.notEqual(pt.status, 200, dump(pt));
    noSecret(pt, '[PT]');
    const okPt = await bruno.getOnce(`${base}/pt/secret.txt`);
    assert.match(okPt.body, new RegExp(SECRET_B), dump(okPt));
    const rw = await anna.getOnce(`${base}/inc/rw/secret.txt`);
    assert.notEqual(rw.status, 200, dump(rw));
    noSecret(rw, 'per-directory rewrite');
    const okRw = await bruno.getOnce(`${base}/inc/rw/secret.txt`);
    assert.match(okRw.body, new RegExp(SECRET_B), dump(okRw));
  });

  it('mod_negotiation: a type map naming a file of another location gives nothing', async () => {
    const r = await anna.getOnce(`${base}/inc/map.var`);
    noSecret(r, 'type map');
    const ok = await bruno.getOnce(`${base}/inc/map.var`);
    assert.match(ok.body, new RegExp(SECRET_B), `control: bruno reads it through the map\n${dump(ok)}`);
  });

  it('no crash, and the refusals are logged', async () => {
    await site.httpd.stop();
    assert.deepEqual(site.troubles([/AH01630|AH01631|AH01797|AH00126|AH01215/]), []);
    assert.match(site.errorLog(), /FA00420: subrequest for \/onlyb\/secret.txt refused: a session from provider a/);
  });
});
