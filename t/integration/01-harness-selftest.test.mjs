// SPDX-License-Identifier: Apache-2.0
// The harness's own pieces: cookie jar, form parser, error-log filter,
// process handling. No httpd, no IdP.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { CookieJar, parseForm, parseSetCookie, checkErrorLog, freePort, tsanFound } from '../lib/index.mjs';
import { spawnTracked, stopChild, isRunning } from '../lib/procs.mjs';
import { errorCodes, isDeletion, parseEnv } from '../lib/fedauth.mjs';

describe('harness', () => {
  it('cookie jar: host-only across ports, Path, Max-Age, Expires, deletion', () => {
    const j = new CookieJar();
    const t0 = 1_700_000_000_000;
    j.store('http://127.0.0.1:1000/a/b', 'x=1; Path=/; HttpOnly; SameSite=Lax', t0);
    j.store('http://127.0.0.1:1000/a/b', 'dflt=2', t0); // default path /a
    j.store('http://127.0.0.1:1000/', 'p=3; Path=/interaction/abc', t0);
    j.store('http://127.0.0.1:1000/', 'short=4; Max-Age=10', t0);
    j.store('http://127.0.0.1:1000/', 'old=5; Expires=Thu, 01 Jan 1970 00:00:00 GMT', t0);
    j.store('http://127.0.0.1:1000/', 'sec=6; Secure', t0);
    j.store('http://localhost:1000/', 'other=7', t0);
    const names = (url, now = t0) => j.cookiesFor(url, now).map((c) => c.name).sort();
    assert.deepEqual(names('http://127.0.0.1:2000/'), ['short', 'x']); // other port, same host
    assert.deepEqual(names('http://127.0.0.1:2000/a/zz'), ['dflt', 'short', 'x']);
    assert.deepEqual(names('http://127.0.0.1:2000/ab'), ['short', 'x']); // /a does not match /ab
    assert.deepEqual(names('http://127.0.0.1:2000/interaction/abc/login'), ['p', 'short', 'x']);
    assert.deepEqual(names('https://127.0.0.1:2000/'), ['short', 'x']); // Secure never stored from http
    assert.deepEqual(names('http://127.0.0.1:2000/', t0 + 11_000), ['x']); // Max-Age over
    j.store('http://127.0.0.1:1000/', 'x=; Path=/; Max-Age=0', t0);
    assert.deepEqual(names('http://127.0.0.1:2000/'), []);
    j.store('http://127.0.0.1:1000/', 'short=new; Max-Age=100', t0);
    assert.equal(j.cookiesFor('http://127.0.0.1:1/', t0)[0].value, 'new');
    assert.equal(j.header('http://localhost:5/'), 'other=7');
  });

  it('parseSetCookie and isDeletion', () => {
    const c = parseSetCookie('fedauth_session=abc.def; Path=/; HttpOnly; SameSite=Lax');
    assert.equal(c.name, 'fedauth_session');
    assert.equal(c.value, 'abc.def');
    assert.equal(c.attrs.path, '/');
    assert.equal(c.attrs.httponly, true);
    assert.equal(c.attrs.samesite, 'Lax');
    assert.equal(isDeletion(c), false);
    assert.equal(isDeletion(parseSetCookie('a=; Max-Age=0')), true);
    assert.equal(isDeletion(parseSetCookie('a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT')), true);
  });

  it('parseForm finds the login form, its action and fields', () => {
    const html = `<form id="x" method="post" action="/other"><input name="q"></form>
<form method="post" action="/interaction/u1/login?a=1&amp;b=2"><input type="hidden" name="t" value="v&quot;1">
<input type="text" name="username"><input type="password" name="password"></form>`;
    const f = parseForm(html, 'http://127.0.0.1:9/interaction/u1');
    assert.equal(f.action, 'http://127.0.0.1:9/interaction/u1/login?a=1&b=2');
    assert.equal(f.method, 'POST');
    assert.deepEqual(f.fields, { t: 'v"1', username: '', password: '' });
  });

  it('errorCodes and parseEnv', () => {
    assert.deepEqual(errorCodes('<p>Error code: <code>state_mismatch</code></p>'), ['state_mismatch']);
    assert.deepEqual(parseEnv('A=1\nB=x=y\n\n'), { A: '1', B: 'x=y' });
  });

  it('checkErrorLog flags crashes and sanitizer reports, honours allowed patterns', () => {
    const log = [
      '[core:notice] [pid 1] AH00094: Command line: ...',
      '[core:notice] [pid 1] AH00052: child pid 42 exit signal Segmentation fault (11)',
      '==42==ERROR: AddressSanitizer: heap-use-after-free on address 0x1',
      'mod_fedauth/fa_jwt.c:10:5: runtime error: signed integer overflow',
      '[fedauth:warn] FA00201: sign-in through test refused: state_mismatch',
      '[core:error] [pid 2] AH00124: Request exceeded the limit of 10 internal redirects',
    ].join('\n');
    const t = checkErrorLog(log);
    assert.equal(t.length, 4, t.join('\n'));
    assert.equal(checkErrorLog(log, [/AH00124/]).length, 3);
  });

  it('a ThreadSanitizer report is trouble, and tsanFound cuts it out whole', () => {
    const report = [
      'WARNING: ThreadSanitizer: data race (pid=7)',
      '  Write of size 8 at 0x1 by thread T2:',
      '    #0 fedauth_x mod_fedauth/mod_fedauth.c:1 (mod_fedauth.so+0x1)',
      'SUMMARY: ThreadSanitizer: data race mod_fedauth/mod_fedauth.c:1 in fedauth_x',
    ].join('\n');
    const log = `[core:notice] [pid 1] AH00094: Command line: ...\n==================\n${report}\n==================\n[mpm_event:notice] AH00491: caught SIGTERM`;
    assert.equal(checkErrorLog(log).length, 2);
    assert.deepEqual(tsanFound(log), [report]);
    assert.deepEqual(tsanFound('[core:notice] AH00094'), []);
  });

  it('a ThreadSanitizer report wholly inside httpd and APR (no frame, file or memory of the module) is not trouble; one that names the module is', () => {
    const apr = [
      'WARNING: ThreadSanitizer: data race (pid=9)',
      '  Write of size 8 at 0x7f by thread T21:',
      '    #0 memcpy sanitizer_common_interceptors.inc:827 (libtsan.so.2+0x5dda6)',
      '    #1 apr_brigade_writev <null> (libaprutil-1.so.0+0xae01)',
      '  Previous read of size 8 at 0x7f by thread T17:',
      '    #0 writev sanitizer_common_interceptors.inc:1200 (libtsan.so.2+0x4f198)',
      '    #1 apr_socket_sendv <null> (libapr-1.so.0+0x25c07)',
      'SUMMARY: ThreadSanitizer: data race (/lib/x86_64-linux-gnu/libaprutil-1.so.0+0xae01) in apr_brigade_writev',
    ].join('\n');
    const ours = [
      'WARNING: ThreadSanitizer: data race (pid=9)',
      '  Write of size 4 at 0x7f by thread T3 (mutexes: write M359):',
      '    #0 memcpy sanitizer_common_interceptors.inc:827 (libtsan.so.2+0x5dda6)',
      '    #1 apr_pmemdup <null> (libapr-1.so.0+0x17486)',
      '  Location is global \'<null>\' at 0x0 (fedauth-sessions.shm+0x8c)',
      'SUMMARY: ThreadSanitizer: data race in apr_pmemdup',
    ].join('\n');
    assert.deepEqual(checkErrorLog(`${apr}\n[core:notice] AH00094`), []);
    assert.deepEqual(tsanFound(apr), []);
    assert.equal(checkErrorLog(`${apr}\n${ours}`).length, 2);
    assert.deepEqual(tsanFound(`${apr}\n${ours}`), [ours]);
  });

  it('freePort gives a bindable port; stopChild ends a child by PID within bounds', async () => {
    const port = await freePort();
    const srv = net.createServer();
    await new Promise((r) => srv.listen(port, '127.0.0.1', r));
    await new Promise((r) => srv.close(r));
    // The child says when its SIGTERM handler is in place (a fixed wait is
    // too short on a loaded machine).
    const child = spawnTracked(process.execPath, ['-e', "process.on('SIGTERM',()=>{}); process.stdout.write('ready\\n'); setInterval(()=>{},1000)"], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('child not ready in 10 s')), 10000);
      child.stdout.on('data', (d) => { if (String(d).includes('ready')) { clearTimeout(timer); resolve(); } });
    });
    assert.equal(isRunning(child), true);
    const t = Date.now();
    const info = await stopChild(child, 500); // ignores SIGTERM: SIGKILL after 0.5 s
    assert.equal(info.signal, 'SIGKILL');
    assert.ok(Date.now() - t < 3000);
    assert.equal(isRunning(child), false);
  });
});
