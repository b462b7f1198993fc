// SPDX-License-Identifier: Apache-2.0
// FedAuthOutgoingProxy / FedAuthOutgoingNoProxy (issue 22): every call to
// an IdP (and to Graph) goes through the configured proxy, never through
// one from httpd's environment; hosts in NoProxy go direct. The proxy is
// t/lib/proxy.mjs on loopback, counting what it carried. Credentials in
// the proxy URL are masked (***) in every log line; a proxy that is down
// or wants credentials ends the sign-in with 502 idp_unreachable and a log
// line naming the proxy.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  startSite, Browser, parseEnv, dump, errorCodes, freePort, writeHttpdConfig, configTest,
  requireModule, removeDir, locationFor, sessionCookiesSet,
} from '../lib/index.mjs';
import { startProxy } from '../lib/proxy.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';

const PASSWORD = 'pw-S3CRET-proxy-9';
// Require ip needs mod_authz_host, which the harness does not load.
const STATUS_ON = `<IfModule !authz_host_module>
    LoadModule authz_host_module ${MODULES_DIR}/mod_authz_host.so
</IfModule>
FedAuthStatus On
`;

describe('FedAuthOutgoingProxy: calls to the IdP through a proxy', () => {
  let site;
  let base;
  let proxy;
  let authProxy;
  let closedPort;
  const savedEnv = {};

  before(async () => {
    proxy = await startProxy();
    authProxy = await startProxy({ auth: `puser:${PASSWORD}` });
    closedPort = await freePort();
    site = await startSite({
      serverConf: `FedAuthOutgoingProxy ${proxy.url}\n`,
      locationsConf: locationFor('/p/'),
    });
    base = site.base;
  });
  after(async () => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
    await site?.stop();
    site?.cleanup();
    await proxy?.close();
    await authProxy?.close();
  });

  const id = () => site.providerIds[0];
  const url = () => `${base}/p/${id()}/env.cgi`;
  async function signIn() {
    const b = new Browser();
    const r = await b.login(url(), 'alice', 'alice-pass-1');
    return { r, b, env: parseEnv(r.body) };
  }
  const allLogs = () => site.httpd.allLogs();

  it('sign-in through the proxy: discovery, JWKS and token request carried by it', async () => {
    const { r, env } = await signIn();
    assert.equal(r.status, 200, dump(r));
    assert.equal(env.REMOTE_USER, 'alice', r.body);
    const paths = proxy.paths();
    assert.ok(paths.includes('/.well-known/openid-configuration'), paths.join(' '));
    assert.ok(paths.includes('/jwks'), paths.join(' '));
    assert.ok(paths.includes('/token'), paths.join(' '));
    assert.match(allLogs(), new RegExp(`FA01070: calls to identity providers and Microsoft Graph go through the proxy http://127\\.0\\.0\\.1:${proxy.port}`));
  });

  it('FedAuthOutgoingNoProxy 127.0.0.1: the IdP is called directly, the proxy carries nothing', async () => {
    await site.restartHttpd({ serverConf: `FedAuthOutgoingProxy ${proxy.url}\nFedAuthOutgoingNoProxy 127.0.0.1 .example.org\n` });
    proxy.clear();
    const { r } = await signIn();
    assert.equal(r.status, 200, dump(r));
    assert.equal(proxy.carried.length, 0, JSON.stringify(proxy.carried));
    assert.match(allLogs(), /FA01070: .* except to 127\.0\.0\.1,\.example\.org/);
  });

  it('http_proxy and friends in httpd\'s environment are not used without FedAuthOutgoingProxy', async () => {
    for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY']) savedEnv[k] = process.env[k];
    process.env.http_proxy = authProxy.url;
    process.env.HTTP_PROXY = authProxy.url;
    process.env.all_proxy = authProxy.url;
    process.env.ALL_PROXY = authProxy.url;
    delete process.env.no_proxy;
    delete process.env.NO_PROXY;
    try {
      await site.restartHttpd({ serverConf: '' });
    } finally {
      for (const [k, v] of Object.entries(savedEnv)) {
        if (v === undefined) delete process.env[k]; else process.env[k] = v;
      }
    }
    authProxy.clear();
    const { r } = await signIn();
    assert.equal(r.status, 200, dump(r));
    assert.equal(authProxy.carried.length + authProxy.refused.length, 0, 'the environment\'s proxy saw nothing');
  });

  it('proxy down: 502 idp_unreachable, the log names the proxy with its password masked', async () => {
    await site.restartHttpd({ serverConf: `FedAuthOutgoingProxy http://puser:${PASSWORD}@127.0.0.1:${closedPort}\n` });
    const r = await new Browser().getOnce(url());
    assert.equal(r.status, 502, dump(r));
    assert.ok(errorCodes(r.body).includes('idp_unreachable'), dump(r));
    assert.deepEqual(sessionCookiesSet(r.setCookies), []);
    assert.match(allLogs(), new RegExp(`through the proxy http://puser:\\*\\*\\*@127\\.0\\.0\\.1:${closedPort}`));
    assert.match(allLogs(), new RegExp(`FA01070: .*proxy http://puser:\\*\\*\\*@127\\.0\\.0\\.1:${closedPort}`));
    assert.ok(!allLogs().includes(PASSWORD), 'the password is in no log line');
    assert.ok(!r.body.includes(PASSWORD), 'nor in the page');
  });

  it('a proxy that wants credentials: 407 without them (502 idp_unreachable naming it), a sign-in with them', async () => {
    await site.restartHttpd({ serverConf: `FedAuthOutgoingProxy ${authProxy.url}\n` });
    authProxy.clear();
    const r = await new Browser().getOnce(url());
    assert.equal(r.status, 502, dump(r));
    assert.ok(errorCodes(r.body).includes('idp_unreachable'), dump(r));
    assert.ok(authProxy.refused.some((x) => x.why === 'auth'), JSON.stringify(authProxy.refused));
    assert.equal(authProxy.carried.length, 0);
    assert.match(allLogs(), new RegExp(`the proxy http://127\\.0\\.0\\.1:${authProxy.port} answered 407`));

    await site.restartHttpd({
      serverConf: `FedAuthOutgoingProxy http://puser:${PASSWORD}@127.0.0.1:${authProxy.port}\n${STATUS_ON}`,
      locationsConf: `${locationFor('/p/')}<Location /fedauth/status>\n    Require ip 127.0.0.1\n</Location>\n`,
    });
    authProxy.clear();
    const { r: ok, env } = await signIn();
    assert.equal(ok.status, 200, dump(ok));
    assert.equal(env.REMOTE_USER, 'alice');
    assert.ok(authProxy.carried.length >= 3, JSON.stringify(authProxy.carried));
    assert.ok(authProxy.carried.every((c) => c.auth === 'sent'));
    assert.ok(!allLogs().includes(PASSWORD), 'the password is in no log line');
    // the status page shows the proxy masked
    const page = await new Browser().request(`${base}/fedauth/status`);
    assert.equal(page.status, 200, dump(page));
    assert.ok(page.body.includes(`http://puser:***@127.0.0.1:${authProxy.port}`), page.body);
    const json = await new Browser().request(`${base}/fedauth/status?format=json`);
    assert.equal(JSON.parse(json.body).outgoing.proxy, `http://puser:***@127.0.0.1:${authProxy.port}`);
    assert.ok(!page.body.includes(PASSWORD) && !json.body.includes(PASSWORD), 'the password is not on the status page');
  });
});

describe('FedAuthOutgoingProxy: Microsoft Graph through the proxy too', () => {
  let site;
  let proxy;

  before(async () => {
    proxy = await startProxy();
    site = await startSite({
      idps: [{
        name: 'main',
        users: [{
          username: 'hans', password: 'hans-pw',
          claims: { sub: 'hans-sub', preferred_username: 'hans', hasgroups: true },
        }],
        providers: [{
          id: 'ent',
          extra: (ctx) => `    GroupsClaim groups\n    GroupMap "g-1" admin\n    GroupsSource graph ${ctx.idps.main.issuer}/graph/v1.0\n`,
        }],
        idpConfig: { graph: { groups: { 'hans-sub': ['g-1'] } } },
      }],
      serverConf: `FedAuthOutgoingProxy ${proxy.url}\n`,
      locationsConf: locationFor('/p/'),
    });
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    await proxy?.close();
  });

  it('the group lookup of an overage user goes through the proxy', async () => {
    const r = await new Browser().login(`${site.base}/p/ent/env.cgi`, 'hans', 'hans-pw');
    assert.equal(r.status, 200, dump(r));
    assert.equal(parseEnv(r.body).FEDAUTH_ROLES, 'admin', r.body);
    assert.ok(proxy.paths().includes('/graph/v1.0/me/getMemberObjects'), proxy.paths().join(' '));
  });
});

describe('FedAuthOutgoingProxy / FedAuthOutgoingNoProxy: apache2 -t', () => {
  const dirs = [];
  after(() => dirs.forEach(removeDir));

  async function check(serverConf) {
    requireModule();
    const { dir, confFile } = await writeHttpdConfig({
      providersConf: `${serverConf}
<FedAuthProvider ent>
    Issuer        http://127.0.0.1:9/ent
    ClientID      client-ent
</FedAuthProvider>`,
      locationsConf: locationFor('/protected'),
    });
    dirs.push(dir);
    const res = await configTest(confFile);
    const text = fs.readFileSync(confFile, 'utf8').split('\n');
    return { res, out: `${res.stdout}${res.stderr}`, line: (s) => text.findIndex((l) => l.includes(s)) + 1, name: path.basename(confFile) };
  }

  for (const good of ['FedAuthOutgoingProxy http://proxy.corp:3128', `FedAuthOutgoingProxy https://u:${PASSWORD}@proxy.corp:8443/`,
    'FedAuthOutgoingProxy http://proxy.corp:3128\nFedAuthOutgoingNoProxy localhost .corp.example 10.0.0.1 ::1']) {
    it(`control: ${good.replace(/\n/g, ' / ')} passes`, async () => {
      const c = await check(good);
      assert.equal(c.res.code, 0, c.out);
    });
  }
  for (const bad of ['FedAuthOutgoingProxy socks5://proxy.corp:1080', 'FedAuthOutgoingProxy proxy.corp:3128',
    `FedAuthOutgoingProxy http://u:${PASSWORD}@proxy.corp:3128/path`, 'FedAuthOutgoingProxy http://proxy.corp:99999',
    'FedAuthOutgoingNoProxy bad/host', 'FedAuthOutgoingNoProxy "a b"']) {
    it(`refused: ${bad}`, async () => {
      const c = await check(bad);
      assert.notEqual(c.res.code, 0, c.out);
      assert.match(c.out, bad.startsWith('FedAuthOutgoingProxy') ? /FedAuthOutgoingProxy/ : /FedAuthOutgoingNoProxy/);
      assert.match(c.out, new RegExp(`line ${c.line(bad)} of [^\\s:]*${c.name.replace('.', '\\.')}`), c.out);
      assert.ok(!c.out.includes(PASSWORD), `the password is not shown: ${c.out}`);
    });
  }
  it('refused in a <VirtualHost>: the proxy is server-wide', async () => {
    const c = await check('<VirtualHost 127.0.0.1:9>\n    FedAuthOutgoingProxy http://proxy.corp:3128\n</VirtualHost>');
    assert.notEqual(c.res.code, 0, c.out);
    assert.match(c.out, /FedAuthOutgoingProxy cannot occur within <VirtualHost> section/);
  });
});
