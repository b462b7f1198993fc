// SPDX-License-Identifier: Apache-2.0
// App passwords with real clients (issue 23): a mod_dav + mod_dav_fs
// location with FedAuthBasic On used by curl (PUT, GET, PROPFIND, MKCOL,
// DELETE) and by rclone (a webdav remote from environment variables,
// copying a tree up and down), and git over http through
// git-http-backend as a CGI (clone, push). Each client first meets the
// 401 with a Basic challenge, as it would at a real site.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startSite, sleep } from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FEDAUTHCTL = process.env.FEDAUTHCTL || path.resolve(here, '../../fedauthctl');
const RCLONE = '/usr/bin/rclone';
const GIT_BACKEND = '/usr/lib/git-core/git-http-backend';
const have = (f) => fs.existsSync(f);

/** Runs a program: { code, out, err }; never throws. */
function run(cmd, args, { env = {}, cwd, timeout = 60000 } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, cwd, timeout }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out: String(out), err: String(err) });
    });
  });
}

async function ctlOk(site, args) {
  const conf = path.join(site.httpd.dir, 'fedauthctl.conf');
  const r = await run(FEDAUTHCTL, ['--conf', conf, '--json', ...args]);
  assert.equal(r.code, 0, `fedauthctl ${args.join(' ')}: ${r.out}${r.err}`);
  return JSON.parse(r.out);
}

describe('app passwords with WebDAV clients, rclone and git', () => {
  let site;
  let tmp;
  let davDir;
  let secret;
  let url;

  const curl = (args) => run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', ...args]);
  const status = (r) => Number(r.out.trim().split('\n').at(-1));

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-t941-'));
    fs.chmodSync(tmp, 0o755);
    davDir = path.join(tmp, 'dav');
    fs.mkdirSync(davDir, { mode: 0o777 });
    fs.chmodSync(davDir, 0o777);
    fs.mkdirSync(path.join(tmp, 'lock'), { mode: 0o777 });
    fs.chmodSync(path.join(tmp, 'lock'), 0o777);
    fs.mkdirSync(path.join(tmp, 'git'), { mode: 0o777 });
    fs.chmodSync(path.join(tmp, 'git'), 0o777);
    const bare = path.join(tmp, 'git', 'repo.git');
    const init = await run('git', ['init', '-q', '--bare', bare]);
    assert.equal(init.code, 0, init.err);
    await run('git', ['--git-dir', bare, 'config', 'http.receivepack', 'true']);
    await run('chmod', ['-R', 'a+rwX', bare]);
    site = await startSite({
      providers: [{ id: 'corp' }],
      serverConf: `<IfModule !dav_module>
    LoadModule dav_module ${MODULES_DIR}/mod_dav.so
</IfModule>
<IfModule !dav_fs_module>
    LoadModule dav_fs_module ${MODULES_DIR}/mod_dav_fs.so
</IfModule>
DavLockDB "${path.join(tmp, 'lock', 'davlock')}"
FedAuthRegistry On
FedAuthRegister Off
FedAuthRegistryDir "${path.join(tmp, 'registry')}"
`,
      locationsConf: `Alias /dav "${davDir}"
<Directory "${davDir}">
    Dav On
    AuthType FedAuth
    FedAuthBasic On
    Require valid-user
</Directory>
ScriptAlias /git/ "${GIT_BACKEND}/"
<Location /git/>
    SetEnv GIT_PROJECT_ROOT "${path.join(tmp, 'git')}"
    SetEnv GIT_HTTP_EXPORT_ALL 1
    # the repository belongs to the test's user, the CGI runs as httpd's
    SetEnv GIT_CONFIG_COUNT 1
    SetEnv GIT_CONFIG_KEY_0 safe.directory
    SetEnv GIT_CONFIG_VALUE_0 *
    AuthType FedAuth
    FedAuthBasic On
    Require valid-user
</Location>
<Directory "/usr/lib/git-core">
    Options +ExecCGI
    Require all granted
</Directory>
`,
    });
    const conf = path.join(site.httpd.dir, 'fedauthctl.conf');
    for (let i = 0; i < 200 && !fs.existsSync(conf); i++) await sleep(50);
    await ctlOk(site, ['users', 'add', 'carol']);
    secret = (await ctlOk(site, ['passwords', 'add', 'carol', '--name', 'laptop-dav'])).secret;
    url = `${site.base}/dav/`;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('curl: PROPFIND without credentials gets the Basic challenge', async () => {
    const r = await run('curl', ['-sS', '-o', '/dev/null', '-D', '-', '-X', 'PROPFIND', '-H', 'Depth: 1', url]);
    assert.match(r.out, /^HTTP\/1\.1 401/m, r.out);
    assert.match(r.out, /^WWW-Authenticate: Basic realm=/mi, r.out);
  });

  it('curl: PUT, GET, PROPFIND, MKCOL, DELETE with the app password', async () => {
    const auth = ['-u', `carol:${secret}`];
    const body = path.join(tmp, 'hello.txt');
    fs.writeFileSync(body, 'hello over webdav\n');
    assert.equal(status(await curl([...auth, '-T', body, `${url}hello.txt`])), 201);
    assert.equal(fs.readFileSync(path.join(davDir, 'hello.txt'), 'utf8'), 'hello over webdav\n');
    const got = await curl([...auth, `${url}hello.txt`]);
    assert.equal(status(got), 200);
    assert.match(got.out, /^hello over webdav$/m);
    const list = await curl([...auth, '-X', 'PROPFIND', '-H', 'Depth: 1', url]);
    assert.equal(status(list), 207, list.out);
    assert.match(list.out, /hello\.txt/);
    assert.equal(status(await curl([...auth, '-X', 'MKCOL', `${url}sub/`])), 201);
    assert.equal(status(await curl([...auth, '-X', 'DELETE', `${url}hello.txt`])), 204);
    assert.ok(!fs.existsSync(path.join(davDir, 'hello.txt')));
    // a wrong password writes nothing
    const wrong = await curl(['-u', 'carol:fap_nope', '-T', body, `${url}evil.txt`]);
    assert.equal(status(wrong), 401);
    assert.ok(!fs.existsSync(path.join(davDir, 'evil.txt')));
  });

  it('a directory index (a subrequest of mod_dir) is served to the account of the app password', async () => {
    const auth = ['-u', `carol:${secret}`];
    const page = path.join(tmp, 'index.html');
    fs.writeFileSync(page, '<p>the index</p>\n');
    assert.equal(status(await curl([...auth, '-X', 'MKCOL', `${url}idx/`])), 201);
    assert.equal(status(await curl([...auth, '-T', page, `${url}idx/index.html`])), 201);
    const r = await curl([...auth, `${url}idx/`]);
    assert.equal(status(r), 200, r.out);
    assert.match(r.out, /the index/);
  });

  it('rclone copies a tree up and down through a webdav remote from the environment', { skip: !have(RCLONE) && 'rclone not installed' }, async () => {
    const obscured = await run(RCLONE, ['obscure', secret]);
    assert.equal(obscured.code, 0, obscured.err);
    const env = {
      RCLONE_CONFIG: path.join(tmp, 'rclone.conf'),
      RCLONE_CONFIG_FA_TYPE: 'webdav',
      RCLONE_CONFIG_FA_URL: url,
      RCLONE_CONFIG_FA_VENDOR: 'other',
      RCLONE_CONFIG_FA_USER: 'carol',
      RCLONE_CONFIG_FA_PASS: obscured.out.trim(),
    };
    fs.writeFileSync(env.RCLONE_CONFIG, '');
    const up = path.join(tmp, 'up');
    fs.mkdirSync(path.join(up, 'nested'), { recursive: true });
    fs.writeFileSync(path.join(up, 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(up, 'nested', 'b.bin'), Buffer.alloc(200000, 7));
    const copyUp = await run(RCLONE, ['copy', up, 'fa:tree', '--low-level-retries', '2', '--retries', '1'], { env });
    assert.equal(copyUp.code, 0, copyUp.err);
    assert.equal(fs.readFileSync(path.join(davDir, 'tree', 'a.txt'), 'utf8'), 'alpha\n');
    const lsf = await run(RCLONE, ['lsf', '-R', 'fa:tree'], { env });
    assert.equal(lsf.code, 0, lsf.err);
    assert.deepEqual(lsf.out.split('\n').filter(Boolean).sort(), ['a.txt', 'nested/', 'nested/b.bin']);
    const down = path.join(tmp, 'down');
    const copyDown = await run(RCLONE, ['copy', 'fa:tree', down], { env });
    assert.equal(copyDown.code, 0, copyDown.err);
    assert.ok(fs.readFileSync(path.join(down, 'nested', 'b.bin')).equals(Buffer.alloc(200000, 7)));
    // with a wrong password rclone gets nothing
    const bad = await run(RCLONE, ['lsf', 'fa:tree', '--low-level-retries', '1', '--retries', '1'], {
      env: { ...env, RCLONE_CONFIG_FA_PASS: (await run(RCLONE, ['obscure', 'wrong'])).out.trim() },
    });
    assert.notEqual(bad.code, 0);
  });

  it('git clones and pushes over http through git-http-backend', { skip: !have(GIT_BACKEND) && 'git-http-backend not installed' }, async () => {
    const remote = `${site.base.replace('http://', `http://carol:${secret}@`)}/git/repo.git`;
    const work = path.join(tmp, 'work');
    const gitEnv = { GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: tmp };
    const clone = await run('git', ['clone', '-q', remote, work], { env: gitEnv });
    assert.equal(clone.code, 0, clone.err);
    fs.writeFileSync(path.join(work, 'README'), 'pushed with an app password\n');
    for (const args of [['add', 'README'], ['-c', 'user.name=Carol', '-c', 'user.email=c@example.org', 'commit', '-q', '-m', 'first'],
      ['push', '-q', 'origin', 'HEAD:refs/heads/main']]) {
      const r = await run('git', args, { env: gitEnv, cwd: work });
      assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.err}`);
    }
    const again = await run('git', ['clone', '-q', '-b', 'main', remote, path.join(tmp, 'again')], { env: gitEnv });
    assert.equal(again.code, 0, again.err);
    assert.equal(fs.readFileSync(path.join(tmp, 'again', 'README'), 'utf8'), 'pushed with an app password\n');
    const denied = await run('git', ['ls-remote', remote.replace(secret, 'fap_wrong')], { env: gitEnv });
    assert.notEqual(denied.code, 0);
  });

  it('no crash, no unexpected line in the error log', () => {
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog().slice(-4000)}`);
  });
});
