// SPDX-License-Identifier: Apache-2.0
// A small HTTP backend for tests behind httpd's mod_proxy: it answers every
// request with the request line and the headers it received, as JSON, and
// remembers the requests. Listens on 127.0.0.1 on a port of its own (the
// OS picks a free one); close() stops it. It runs inside the test process,
// so nothing outlives the test.
import http from 'node:http';

/**
 * startEchoBackend() -> { port, url, requests: [echo], last(), close() }
 * echo = { method, url, headers: { lowercased name: value (joined ", ") },
 *          rawHeaders: [[name as sent, value], ...] }
 */
export async function startEchoBackend() {
  const requests = [];
  const sockets = new Set();
  // Large enough for the 8 KiB attribute headers plus the rest.
  const server = http.createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    const rawHeaders = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    const echo = { method: req.method, url: req.url, headers: { ...req.headers }, rawHeaders };
    requests.push(echo);
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify(echo);
      res.writeHead(200, {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  let closed = false;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    requests,
    last: () => requests[requests.length - 1],
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise((resolve) => {
        const t = setTimeout(resolve, 3000);
        t.unref();
        server.close(() => { clearTimeout(t); resolve(); });
        for (const s of sockets) s.destroy();
      });
    },
  };
}

/** The X-FedAuth-* headers of an echo: { lowercased name: value }. */
export function fedauthHeaders(echo) {
  return Object.fromEntries(Object.entries(echo.headers).filter(([k]) => k.startsWith('x-fedauth-')));
}

/** Header names (as sent by httpd) of an echo's X-FedAuth-* headers. */
export function fedauthHeaderNames(echo) {
  return echo.rawHeaders.map(([k]) => k).filter((k) => /^x-fedauth-/i.test(k));
}
