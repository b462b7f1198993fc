// SPDX-License-Identifier: Apache-2.0
// 7. An unreachable IdP: 502 idp_unreachable within FedAuthHTTPTimeout
// (+1 s), no crash, no hung worker.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import {
  startSite, Browser, dump, errorCodes, freePort, loginUntilCallback, sessionCookiesSet,
} from '../lib/index.mjs';

const TIMEOUT = 2; // FedAuthHTTPTimeout in this suite
const LIMIT_MS = (TIMEOUT + 1) * 1000;

function assertUnreachable(r, started) {
  const ms = Date.now() - started;
  assert.equal(r.status, 502, dump(r));
  assert.ok(errorCodes(r.body).includes('idp_unreachable'), dump(r));
  assert.deepEqual(sessionCookiesSet(r.setCookies), []);
  assert.ok(ms < LIMIT_MS, `answered after ${ms} ms, limit ${LIMIT_MS} ms`);
}

describe('IdP unreachable', () => {
  let site;
  let base;
  let blackhole;
  const sockets = new Set();
  let closedPort;
  let holePort;

  before(async () => {
    // a port where nothing listens
    closedPort = await freePort();
    // a server that accepts connections and never answers
    blackhole = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); });
    await new Promise((r) => blackhole.listen(0, '127.0.0.1', r));
    holePort = blackhole.address().port;
    site = await startSite({
      httpTimeout: TIMEOUT,
      providers: [
        { id: 'test' },
        { id: 'closed', issuer: `http://127.0.0.1:${closedPort}` },
        { id: 'hole', issuer: `http://127.0.0.1:${holePort}` },
      ],
      locationsConf: ['test', 'closed', 'hole'].map((id) => `<Location /p/${id}/>
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
    for (const s of sockets) s.destroy();
    await new Promise((r) => (blackhole ? blackhole.close(r) : r()));
  });

  it('Issuer on a closed port: 502 idp_unreachable, quickly', async () => {
    const t = Date.now();
    const r = await new Browser().getOnce(`${base}/p/closed/env.cgi`);
    assertUnreachable(r, t);
    assert.match(site.errorLog(), /idp_unreachable/);
  });

  it(`Issuer that accepts but never answers: 502 idp_unreachable within ${TIMEOUT}+1 s`, async () => {
    const t = Date.now();
    const r = await new Browser({ timeoutMs: 20000 }).getOnce(`${base}/p/hole/env.cgi`);
    assertUnreachable(r, t);
  });

  it('several hung requests at once do not block other requests', async () => {
    const t = Date.now();
    const hung = Array.from({ length: 5 }, () => new Browser({ timeoutMs: 20000 }).getOnce(`${base}/p/hole/env.cgi`));
    const other = await new Browser().getOnce(`${base}/somewhere.html`);
    assert.equal(other.status, 200);
    assert.ok(Date.now() - t < 1500, 'a static page is served while IdP calls hang');
    for (const r of await Promise.all(hung)) assert.equal(r.status, 502, dump(r));
  });

  it('IdP stopped between login and callback: 502 idp_unreachable at the callback', async () => {
    const b = new Browser();
    const cb = await loginUntilCallback(b, `${base}/p/test/env.cgi`, base, 'test');
    await site.idp.stop();
    const t = Date.now();
    const r = await b.getOnce(cb);
    assertUnreachable(r, t);
  });

  it('IdP stopped: a new login attempt answers within the limit (cached metadata may still redirect)', async () => {
    const t = Date.now();
    const r = await new Browser().getOnce(`${base}/p/test/env.cgi`);
    assert.ok(Date.now() - t < LIMIT_MS, `answered after ${Date.now() - t} ms`);
    if (r.status !== 302) assertUnreachable(r, t);
  });

  it('httpd stops cleanly; the error log has no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
