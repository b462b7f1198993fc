// SPDX-License-Identifier: Apache-2.0
// FedAuthProviders and Require fedauth-* in .htaccess (issue 20 item 10).
// httpd reads an .htaccess file for every request, in many threads at
// once: what it names is checked against the server's configuration and
// kept in the request's pool; nothing that outlives the request grows. A
// provider id no <FedAuthProvider> defines, or a claim that no Require
// fedauth-claim of the server's configuration names (sessions do not keep
// it), is refused with a 500 and a log line naming it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { startSite, Browser, dump } from '../lib/index.mjs';

const IDS = 200; // ids per line: each request of the memory test names 400

const repeat = (words) => Array.from({ length: IDS }, (_, i) => words[i % words.length]).join(' ');

const HTACCESS = {
  // the memory test: every request reads 400 provider ids
  mem: `AuthType FedAuth
FedAuthProviders ${repeat(['test', 'other'])}
Require fedauth-idp ${repeat(['test', 'other'])}
Require fedauth-claim ${repeat(['email_verified:true', 'email_verified:yes'])}
`,
  // control: as many words, no directive of this module but AuthType
  ctl: `AuthType FedAuth
Require user ${repeat(['alice', 'bob'])}
Require user ${repeat(['carol', 'dave'])}
Require user ${repeat(['erin', 'frank'])}
`,
  ok: 'AuthType FedAuth\nFedAuthProviders test\nRequire fedauth-idp test\n',
  claim: 'AuthType FedAuth\nRequire fedauth-claim email_verified:true\n',
  other: 'AuthType FedAuth\nRequire fedauth-idp other\n',
  badprov: 'AuthType FedAuth\nFedAuthProviders test nosuch\nRequire valid-user\n',
  badidp: 'AuthType FedAuth\nRequire fedauth-idp nosuch2\n',
  badclaim: 'AuthType FedAuth\nRequire fedauth-claim department:x\n',
};

/** Resident memory (kB) of httpd's worker processes (the children of pid). */
function childrenRss(pid) {
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8', timeout: 5000 });
  let kb = 0;
  for (const p of out.split('\n').map((s) => s.trim()).filter(Boolean)) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
  }
  return kb;
}

/** n GETs of url over `conns` parallel keep-alive connections; the statuses seen. */
async function hammer(url, n, conns = 6) {
  const seen = new Set();
  let left = n;
  await Promise.all(Array.from({ length: conns }, async () => {
    while (left-- > 0) {
      const r = await fetch(url, { redirect: 'manual' });
      await r.arrayBuffer();
      seen.add(r.status);
    }
  }));
  return [...seen];
}

describe('.htaccess with FedAuthProviders and Require fedauth-*', () => {
  let site;
  let base;
  let alice;

  before(async () => {
    site = await startSite({
      providers: [{ id: 'test' }, { id: 'other' }],
      locationsConf: ({ dir }) => `<Location /protected>
    AuthType FedAuth
    FedAuthProviders test
    Require valid-user
</Location>
<Location /kept/>
    AuthType FedAuth
    Require fedauth-claim email_verified:true
</Location>
<Directory "${dir}/htdocs/h">
    AllowOverride AuthConfig
</Directory>
`,
    });
    base = site.base;
    for (const [name, text] of Object.entries(HTACCESS)) {
      const d = path.join(site.httpd.dir, 'htdocs', 'h', name);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, '.htaccess'), text, { mode: 0o644 });
      fs.writeFileSync(path.join(d, 'index.html'), `page ${name}\n`, { mode: 0o644 });
    }
    alice = new Browser();
    const r = await alice.login(`${base}/protected/env.cgi`, 'alice', 'alice-pass-1');
    assert.equal(r.status, 200, dump(r));
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  it('FedAuthProviders, Require fedauth-idp and fedauth-claim in .htaccess grant and refuse', async () => {
    for (const name of ['ok', 'claim', 'mem']) {
      const r = await alice.getOnce(`${base}/h/${name}/index.html`);
      assert.equal(r.status, 200, `${name}\n${dump(r)}`);
      assert.match(r.body, new RegExp(`page ${name}`));
    }
    const other = await alice.getOnce(`${base}/h/other/index.html`);
    assert.equal(other.status, 403, dump(other));
    assert.doesNotMatch(other.body, /page other/);
    const anon = await new Browser().getOnce(`${base}/h/ok/index.html`);
    assert.equal(anon.status, 302, dump(anon));
  });

  it('an unknown provider id or a claim sessions do not keep: 500 and a log line naming it', async () => {
    for (const name of ['badprov', 'badidp', 'badclaim']) {
      const r = await alice.getOnce(`${base}/h/${name}/index.html`);
      assert.equal(r.status, 500, `${name}\n${dump(r)}`);
      assert.doesNotMatch(r.body, new RegExp(`page ${name}`));
    }
    const log = site.errorLog();
    assert.match(log, /h\/badprov\/\.htaccess: FA00421: FedAuthProviders names nosuch, but no <FedAuthProvider nosuch> is defined/);
    assert.match(log, /h\/badidp\/\.htaccess: FA00421: Require fedauth-idp names nosuch2/);
    assert.match(log, /h\/badclaim\/\.htaccess: FA00422: Require fedauth-claim names the claim department/);
  });

  it('memory of the worker processes stays flat over many requests to an .htaccess directory (control: one without our directives)', async () => {
    const N = 1500;
    // warm up: every thread pool and allocator sized for both kinds
    await hammer(`${base}/h/ctl/index.html`, 300);
    await hammer(`${base}/h/mem/index.html`, 300);
    const r0 = childrenRss(site.httpd.pid);
    const ctlStatuses = await hammer(`${base}/h/ctl/index.html`, N);
    const r1 = childrenRss(site.httpd.pid);
    const memStatuses = await hammer(`${base}/h/mem/index.html`, N);
    const r2 = childrenRss(site.httpd.pid);
    const control = r1 - r0;
    const grown = r2 - r1;
    console.log(`# RSS of httpd's children: ${r0} kB, after ${N} control requests ${r1} kB (${control}), after ${N} .htaccess requests ${r2} kB (${grown})`);
    assert.deepEqual(ctlStatuses, [302]);
    assert.deepEqual(memStatuses, [302]);
    assert.ok(grown < Math.max(control, 0) + 4096, `children grew by ${grown} kB over ${N} requests (control ${control} kB)`);
  });

  it('no crash', async () => {
    await site.httpd.stop();
    assert.deepEqual(site.troubles([/FA0042[12]:/, /AH01630|AH01631|AH01797/]), []);
  });
});
