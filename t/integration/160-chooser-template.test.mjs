// SPDX-License-Identifier: Apache-2.0
// issue3.md, FedAuthChooserTemplate: a template file (read at startup) with
// {{title}}, {{buttons}} (the complete chooser form) and {{return_to}}
// (escaped); unknown {{...}} stay as they are. A template without
// {{buttons}} stops `apache2 -t` with a message naming the directive.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  startSite, Browser, parseEnv, dump, parseChooser, chooserSubmitUrl, htmlText, locationFor,
  writeHttpdConfig, configTest, removeDir, FIXTURES, USERS_A, USERS_B, BRUNO,
} from '../lib/index.mjs';

const TEMPLATE = path.join(FIXTURES, 'chooser', 'template.html');
const NO_BUTTONS = path.join(FIXTURES, 'chooser', 'no-buttons.html');

/** A copy of a fixture in a fresh temp dir (readable by httpd's workers too). */
function tmpCopy(src) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-tpl-'));
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, path.basename(src));
  fs.copyFileSync(src, file);
  fs.chmodSync(file, 0o644);
  return { dir, file };
}

describe('FedAuthChooserTemplate', () => {
  let site;
  let base;
  let tpl;

  before(async () => {
    tpl = tmpCopy(TEMPLATE);
    site = await startSite({
      idps: [
        { name: 'A', users: USERS_A, providers: [{ id: 'a', displayName: 'Alpha', extra: 'SortOrder 2\n' }] },
        { name: 'B', users: USERS_B, providers: [{ id: 'b', displayName: 'Beta', extra: 'SortOrder 1\n' }] },
      ],
      serverConf: `FedAuthChooserTemplate "${tpl.file}"\nFedAuthRememberChoice On\n`,
      locationsConf: locationFor('/protected'),
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    if (tpl) fs.rmSync(tpl.dir, { recursive: true, force: true });
  });

  let page;
  it('the chooser is the template: {{title}} is "Sign in", the page around the form is the template\'s', async () => {
    const r = await new Browser().get(`${base}/protected/env.cgi`);
    assert.equal(r.status, 200, dump(r));
    assert.match(r.headers.get('content-type') || '', /^text\/html;\s*charset=utf-8$/i);
    assert.match(r.headers.get('cache-control') || '', /no-store/i);
    page = r.body;
    assert.match(page, /<header id="portal-header">Example Portal<\/header>/, page);
    assert.match(page, /<footer id="portal-footer">template v1<\/footer>/);
    assert.match(page, /<title>Sign in - Example Portal<\/title>/);
    assert.match(page, /<h1 id="custom-title">Sign in<\/h1>/);
    assert.doesNotMatch(page, /\{\{(title|buttons|return_to)\}\}/, 'every known placeholder replaced');
  });

  it('{{buttons}} is the complete chooser form: return_to, the buttons in SortOrder, the remember checkbox', () => {
    assert.ok(page, 'page fetched');
    const ch = parseChooser(page);
    assert.ok(ch, page);
    assert.equal(ch.action, '/fedauth/login');
    assert.equal(ch.hidden.return_to, '/protected/env.cgi');
    assert.deepEqual(ch.buttons.map((b) => [b.idp, b.text]), [['b', 'Continue with Beta'], ['a', 'Continue with Alpha']]);
    assert.ok(ch.remember, 'the remember checkbox (FedAuthRememberChoice On) is part of the form');
    assert.match(page, /<main id="custom-chooser">[\s\S]*<form\b[^>]*fedauth-chooser[\s\S]*<\/form>[\s\S]*<\/main>/, 'the form where {{buttons}} was');
  });

  it('{{return_to}} is filled in HTML-escaped', async () => {
    const rt = '/protected/env.cgi?x="><script>alert(1)</script>&y=1';
    const r = await new Browser().getOnce(`${base}/fedauth/login?return_to=${encodeURIComponent(rt)}`);
    assert.equal(r.status, 200, dump(r));
    assert.doesNotMatch(r.body, /<script>alert\(1\)/, r.body);
    const m = /<code id="return-to">([\s\S]*?)<\/code>/.exec(r.body);
    assert.ok(m, r.body);
    assert.doesNotMatch(m[1], /[<>"]/, `escaped: ${m[1]}`);
    assert.equal(htmlText(m[1]), rt);
    assert.equal(parseChooser(r.body)?.hidden.return_to, rt);
  });

  it('an unknown {{...}} is left as it is', () => {
    assert.ok(page, 'page fetched');
    assert.match(page, /<p id="unknown-placeholder">\{\{unknown\}\}<\/p>/);
  });

  it('the template is read at startup: changing or removing the file does not change the page', async () => {
    fs.writeFileSync(tpl.file, '<html><body id="changed">{{buttons}}</body></html>\n');
    const r1 = await new Browser().get(`${base}/protected/env.cgi`);
    assert.equal(r1.status, 200, dump(r1));
    assert.match(r1.body, /id="portal-header"/);
    assert.doesNotMatch(r1.body, /id="changed"/);
    fs.rmSync(tpl.file);
    const r2 = await new Browser().get(`${base}/protected/env.cgi`);
    assert.equal(r2.status, 200, dump(r2));
    assert.match(r2.body, /id="portal-header"/);
  });

  it('a button of the templated chooser signs in', async () => {
    const b = new Browser();
    const p = await b.get(`${base}/protected/env.cgi`);
    const ch = parseChooser(p.body);
    assert.ok(ch, p.body);
    const r = await b.login(chooserSubmitUrl(ch, p.url, 'b'), BRUNO.username, BRUNO.password);
    assert.equal(r.status, 200, dump(r));
    assert.equal(r.url, `${base}/protected/env.cgi`);
    assert.equal(parseEnv(r.body).FEDAUTH_IDP, 'b');
    assert.equal(parseEnv(r.body).REMOTE_USER, 'bruno');
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});

describe('FedAuthChooserTemplate: apache2 -t', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));

  const PROVIDERS = `FedAuthSecret "a long enough test passphrase for config tests"
<FedAuthProvider a>
    Issuer        http://127.0.0.1:9
    ClientID      client-a
    DisplayName   "A"
</FedAuthProvider>
<FedAuthProvider b>
    Issuer        http://127.0.0.1:10
    ClientID      client-b
    DisplayName   "B"
</FedAuthProvider>`;

  async function check(directiveLine) {
    const { dir, confFile } = await writeHttpdConfig({
      providersConf: `${PROVIDERS}\n${directiveLine}\n`,
      locationsConf: locationFor('/protected'),
    });
    dirs.push(dir);
    const res = await configTest(confFile);
    const lines = fs.readFileSync(confFile, 'utf8').split('\n');
    return { res, out: `${res.stdout}${res.stderr}`, confFile, line: lines.findIndex((l) => l.includes(directiveLine)) + 1 };
  }

  it('control: the good template passes (Syntax OK)', async () => {
    const c = await check(`FedAuthChooserTemplate "${TEMPLATE}"`);
    assert.equal(c.res.code, 0, c.out);
    assert.match(c.out, /Syntax OK/);
  });

  it('a template without {{buttons}}: apache2 -t fails naming FedAuthChooserTemplate and file:line', async () => {
    const c = await check(`FedAuthChooserTemplate "${NO_BUTTONS}"`);
    assert.notEqual(c.res.code, 0, c.out);
    assert.doesNotMatch(c.out, /Syntax OK/);
    assert.match(c.out, /FedAuthChooserTemplate/, c.out);
    const name = path.basename(c.confFile);
    assert.ok(c.out.includes(`${name}:${c.line}`) || c.out.includes(`line ${c.line} of`), `names ${name}:${c.line}:\n${c.out}`);
  });

  it('a template file that does not exist: apache2 -t fails naming FedAuthChooserTemplate', async () => {
    const c = await check('FedAuthChooserTemplate "/nonexistent/fedauth/chooser.html"');
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /FedAuthChooserTemplate/, c.out);
    const name = path.basename(c.confFile);
    assert.ok(c.out.includes(`${name}:${c.line}`) || c.out.includes(`line ${c.line} of`), `names ${name}:${c.line}:\n${c.out}`);
  });
});
