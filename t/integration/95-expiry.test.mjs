// SPDX-License-Identifier: Apache-2.0
// Sessions end: after FedAuthSessionIdleTimeout without a request (the
// clock slides with use), and after FedAuthSessionMaxAge in any case.
// Both scenarios run at the same time on two sites to keep the wait short.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';

import { startSite, Browser, dump, sleep } from '../lib/index.mjs';

const sites = [];
after(async () => {
  for (const s of sites) { await s.stop(); s.cleanup(); }
});

async function site(serverConf) {
  const s = await startSite({ serverConf });
  sites.push(s);
  return s;
}

async function signedIn(s) {
  const b = new Browser();
  const res = await b.login(`${s.base}/protected/env.cgi`, 'alice', 'alice-pass-1');
  assert.equal(res.status, 200, dump(res));
  return b;
}

/** One request without following redirects: 200, or 302 to the IdP. */
async function probe(s, b) {
  const r = await b.getOnce(`${s.base}/protected/env.cgi`);
  return r.status === 302 && r.location.startsWith(s.idp.issuer) ? 'idp' : r.status;
}

describe('session expiry', () => {
  it('idle timeout slides with use, then ends the session; max age ends it while in use', async () => {
    const [idleSite, maxSite] = await Promise.all([
      site('FedAuthSessionIdleTimeout 10\nFedAuthSessionMaxAge 3600'),
      site('FedAuthSessionIdleTimeout 3600\nFedAuthSessionMaxAge 12'),
    ]);
    const [a, b] = await Promise.all([signedIn(idleSite), signedIn(maxSite)]);

    const idle = (async () => {
      const seen = [];
      await sleep(6000);
      seen.push(await probe(idleSite, a)); // 6 s after sign-in
      await sleep(6000);
      seen.push(await probe(idleSite, a)); // 12 s after sign-in, 6 s idle
      await sleep(11500);
      seen.push(await probe(idleSite, a)); // 11.5 s idle
      return seen;
    })();
    const max = (async () => {
      const seen = [];
      await sleep(6000);
      seen.push(await probe(maxSite, b)); // 6 s after sign-in
      await sleep(7500);
      seen.push(await probe(maxSite, b)); // 13.5 s after sign-in, in use
      return seen;
    })();
    assert.deepEqual(await idle, [200, 200, 'idp'], 'idle timeout');
    assert.deepEqual(await max, [200, 'idp'], 'max age');
    const s = await a.getOnce(`${idleSite.base}/fedauth/session`);
    assert.equal(s.status, 401, dump(s));
  });

  it('the error logs have no crash lines', async () => {
    for (const s of sites) {
      await s.httpd.stop();
      assert.deepEqual(s.troubles(), [], `trouble:\n${s.troubles().join('\n')}\n--- error log ---\n${s.errorLog()}`);
    }
  });
});
