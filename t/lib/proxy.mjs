// SPDX-License-Identifier: Apache-2.0
// A small forward / CONNECT proxy for FedAuthOutgoingProxy tests. It
// carries requests only to loopback hosts (anything else: 403), counts
// what it carried, and with `auth: 'user:password'` answers 407 with
// Proxy-Authenticate: Basic unless the request has those credentials. It
// runs inside the test process (like t/lib/backend.mjs), listening on
// 127.0.0.1 on a port the OS picks; close() stops it.
import http from 'node:http';
import net from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * startProxy({ auth? }) -> { port, url, carried: [{ method, target, auth }],
 *   refused: [{ method, target, why }], paths(), clear(), close() }
 * target: the absolute URL of a forwarded request, host:port of a CONNECT.
 */
export async function startProxy({ auth } = {}) {
  const carried = [];
  const refused = [];
  const sockets = new Set();
  const want = auth ? `Basic ${Buffer.from(auth).toString('base64')}` : null;
  const authorized = (req) => !want || req.headers['proxy-authorization'] === want;
  const authOf = (req) => (req.headers['proxy-authorization'] ? 'sent' : 'none');

  const server = http.createServer((req, res) => {
    let target;
    try { target = new URL(req.url); } catch { target = null; }
    if (!target || target.protocol !== 'http:') {
      refused.push({ method: req.method, target: req.url, why: 'not an absolute http URL' });
      res.writeHead(400).end();
      return;
    }
    if (!authorized(req)) {
      refused.push({ method: req.method, target: req.url, why: 'auth' });
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="test proxy"', 'Content-Length': 0 }).end();
      return;
    }
    if (!LOOPBACK.has(target.hostname)) {
      refused.push({ method: req.method, target: req.url, why: 'not loopback' });
      res.writeHead(403).end();
      return;
    }
    carried.push({ method: req.method, target: req.url, auth: authOf(req) });
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const up = http.request({
      host: target.hostname, port: target.port || 80, method: req.method,
      path: target.pathname + target.search, headers,
    }, (upRes) => {
      res.writeHead(upRes.statusCode, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => { if (!res.headersSent) res.writeHead(502).end(); else res.destroy(); });
    req.pipe(up);
  });

  server.on('connect', (req, client, head) => {
    const [host, port] = [req.url.replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(req.url)?.[1])];
    if (!authorized(req)) {
      refused.push({ method: 'CONNECT', target: req.url, why: 'auth' });
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test proxy"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!LOOPBACK.has(host) || !port) {
      refused.push({ method: 'CONNECT', target: req.url, why: 'not loopback' });
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    carried.push({ method: 'CONNECT', target: req.url, auth: authOf(req) });
    const up = net.connect(port, host.replace(/^\[|\]$/g, ''), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head?.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
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
    url: `http://127.0.0.1:${port}`,
    carried,
    refused,
    /** The paths of the forwarded requests. */
    paths: () => carried.filter((c) => c.method !== 'CONNECT').map((c) => new URL(c.target).pathname),
    clear: () => { carried.length = 0; refused.length = 0; },
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
