// SPDX-License-Identifier: Apache-2.0
// Requests on connections of their own (Connection: close), so that the
// event MPM may hand each to any worker process: what the tests of copies
// shared by a host's processes need (975, 977).
import http from 'node:http';
import { SESSION_COOKIE } from './fedauth.mjs';

/** GET url with the session cookie (none when cookie is empty) on a
 * connection of its own; { status, headers, location, body, url, hops }. */
export function getFresh(url, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'GET',
      agent: false,
      headers: { Connection: 'close', ...(cookie ? { Cookie: `${SESSION_COOKIE}=${cookie}` } : {}) },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers, location: res.headers.location, body, url, hops: [],
      }));
    });
    req.setTimeout(10000, () => req.destroy(new Error(`GET ${url}: no answer within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** n GETs on fresh connections, `at` at a time; their answers in order. */
export async function many(url, cookie, n, at) {
  const out = [];
  for (let i = 0; i < n; i += at) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + at); j++) batch.push(getFresh(url, cookie));
    out.push(...await Promise.all(batch));
  }
  return out;
}
