// SPDX-License-Identifier: Apache-2.0
// Free TCP ports on 127.0.0.1.
import net from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (listen on 0, read, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Resolves true once a TCP connect to 127.0.0.1:port succeeds, false after timeoutMs. */
export async function waitForPort(port, timeoutMs = 10000, isAlive = () => true) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) return false;
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      const done = (v) => { s.destroy(); resolve(v); };
      s.setTimeout(500, () => done(false));
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
