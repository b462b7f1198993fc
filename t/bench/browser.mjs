// SPDX-License-Identifier: Apache-2.0
// t/lib's Browser over node:http instead of fetch: undici's fetch always
// sends `Sec-Fetch-Mode: cors`, and mod_auth_openidc answers such a request
// without a session with 401 instead of sending it to the IdP (it takes it
// for a script). This one sends exactly the headers given, like a browser's
// top-level navigation does. Same cookie jar, redirects and login flow.
import http from 'node:http';

import { Browser, parseSetCookie } from '../lib/browser.mjs';

// up to 32 sockets per origin: signInMany runs 16 sign-ins at a time
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

export class NavBrowser extends Browser {
  async request(url, { method = 'GET', headers = {}, body, cookies = true } = {}) {
    const h = { ...this.defaultHeaders, ...headers };
    if (cookies) {
      const c = this.jar.header(url);
      if (c) h.Cookie = c;
    }
    if (body !== undefined) h['Content-Length'] = Buffer.byteLength(body);
    const started = Date.now();
    const t0 = process.hrtime.bigint();
    const res = await new Promise((resolve, reject) => {
      const req = http.request(url, { method, headers: h, agent, timeout: this.timeoutMs }, (r) => {
        const chunks = [];
        r.on('data', (d) => chunks.push(d));
        r.on('end', () => resolve({ r, text: Buffer.concat(chunks).toString('utf8') }));
        r.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`timeout after ${this.timeoutMs} ms: ${method} ${url}`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const headersOut = new Headers();
    const raw = [];
    const rh = res.r.rawHeaders;
    for (let i = 0; i + 1 < rh.length; i += 2) {
      if (rh[i].toLowerCase() === 'set-cookie') raw.push(rh[i + 1]);
      else headersOut.append(rh[i], rh[i + 1]);
    }
    for (const sc of raw) this.jar.store(url, sc);
    const hop = {
      method,
      url,
      status: res.r.statusCode,
      location: res.r.headers.location || undefined,
      setCookies: raw,
      ms,
      started,
    };
    this.history.push(hop);
    return {
      status: hop.status,
      headers: headersOut,
      url,
      body: res.text,
      location: hop.location,
      setCookies: raw.map(parseSetCookie),
      hops: [hop],
      ms,
    };
  }
}

export function closeAgent() { agent.destroy(); }
