// Setting up the benchmark's servers: the test IdP with one client per
// server, a redis-server when needed, the httpd instances (t/bench/
// servers.mjs), and browser-like sign-ins. Used by run.mjs and profile.mjs.
import crypto from 'node:crypto';
import fs from 'node:fs';

import {
  freePort, startIdp, defaultUsers, clientFor, moduleBuilt, modulePath, APACHE,
} from '../lib/index.mjs';
import { startRedis, redisAvailable } from '../lib/redis.mjs';
import { NavBrowser, closeAgent } from './browser.mjs';
import {
  startServer, plainConf, fedauthConf, openidcConf, OIDC_MODULE, FILE_BYTES,
} from './servers.mjs';

export const SERVERS = {
  A: { name: 'A plain httpd (no auth)', short: 'plain' },
  B: { name: 'B mod_fedauth shm', short: 'fedauth-shm' },
  C: { name: 'C mod_fedauth redis', short: 'fedauth-redis' },
  D: { name: 'D mod_auth_openidc shm', short: 'openidc-shm' },
  E: { name: 'E mod_auth_openidc redis', short: 'openidc-redis' },
};
export const ALL = Object.keys(SERVERS);

/**
 * Which of `wanted` can run here: { wanted, notes }. Throws when httpd or
 * a built mod_fedauth (for B/C) is missing.
 */
export function available(wanted) {
  const notes = [];
  if (!fs.existsSync(APACHE)) throw new Error(`${APACHE} not found`);
  if ((wanted.includes('B') || wanted.includes('C')) && !moduleBuilt()) {
    throw new Error(`mod_fedauth not built: ${modulePath()} is missing`);
  }
  let w = [...wanted];
  if (w.some((x) => x === 'D' || x === 'E') && !fs.existsSync(OIDC_MODULE)) {
    notes.push(`D/E skipped: ${OIDC_MODULE} is not installed (apt-get install libapache2-mod-auth-openidc).`);
    w = w.filter((x) => x !== 'D' && x !== 'E');
  }
  if (w.some((x) => x === 'C' || x === 'E') && !redisAvailable()) {
    notes.push('C/E skipped: redis-server / redis-cli not installed.');
    w = w.filter((x) => x !== 'C' && x !== 'E');
  }
  return { wanted: w, notes };
}

/**
 * startBench({ wanted: ['A', 'B', ...], serverCpus?, mutex?, commonConf?, serverOpts?: {
 *   K: { prefix, extraArgs } }, log? }) -> { idp, redis, srv: { K: server },
 *   stop(), cleanup() }. Every server serves FILE_PATH; srv[K].callbackPrefix
 * is its redirect URI.
 */
export async function startBench({ wanted, serverCpus = null, mutex = 'default', commonConf = '', serverOpts = {}, log = () => {} }) {
  const b = { idp: null, redis: null, srv: {}, started: [] };
  b.stop = async () => {
    closeAgent();
    for (const s of b.started) { try { await s.stop(); } catch { /* ignore */ } }
    if (b.redis) { try { await b.redis.stop(); } catch { /* ignore */ } }
    if (b.idp) { try { await b.idp.stop(); } catch { /* ignore */ } }
  };
  b.cleanup = () => {
    if (process.env.FEDAUTH_KEEP_TMP) return;
    for (const s of b.started) s.cleanup();
    b.redis?.cleanup();
    b.idp?.cleanup();
  };
  try {
    const ports = {};
    const used = new Set();
    for (const k of wanted) {
      let p;
      do { p = await freePort(); } while (used.has(p));
      used.add(p);
      ports[k] = p;
    }
    const base = (k) => `http://127.0.0.1:${ports[k]}`;
    const clients = {};
    for (const k of wanted) {
      if (k === 'B' || k === 'C') {
        clients[k] = clientFor({ id: 'bench', clientId: `bench-${k}`, httpdBase: base(k) });
      } else if (k === 'D' || k === 'E') {
        clients[k] = {
          client_id: `bench-${k}`,
          client_secret: `secret-${k}-${crypto.randomBytes(12).toString('hex')}`,
          redirect_uris: [`${base(k)}/bench/redirect_uri`],
          response_types: ['code'],
          grant_types: ['authorization_code'],
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'RS256',
        };
      }
    }
    if (Object.keys(clients).length) {
      log(`starting the test IdP (${Object.keys(clients).length} clients)`);
      b.idp = await startIdp({ clients: Object.values(clients), users: defaultUsers() });
    }
    if (wanted.includes('C') || wanted.includes('E')) {
      b.redis = await startRedis({});
      log(`redis-server on 127.0.0.1:${b.redis.port} (pid ${b.redis.pid})`);
    }
    const secret = crypto.randomBytes(24).toString('hex');
    const { idp, redis } = b;
    for (const k of wanted) {
      let conf;
      if (k === 'A') conf = plainConf();
      else if (k === 'B') conf = fedauthConf({ issuer: idp.issuer, client: clients.B, secret });
      else if (k === 'C') conf = fedauthConf({ issuer: idp.issuer, client: clients.C, secret, store: `redis://127.0.0.1:${redis.port}` });
      else if (k === 'D') conf = openidcConf({ issuer: idp.issuer, client: clients.D, base: base(k), passphrase: secret, cache: 'shm' });
      else conf = openidcConf({ issuer: idp.issuer, client: clients.E, base: base(k), passphrase: secret, cache: 'redis', redisPort: redis.port });
      const s = await startServer({
        name: k, port: ports[k], taskset: serverCpus, mutex, commonConf, ...(serverOpts[k] || {}), ...conf,
      });
      b.started.push(s);
      s.key = k;
      s.callbackPrefix = k === 'B' || k === 'C' ? `${base(k)}/signin-bench` : `${base(k)}/bench/redirect_uri`;
      b.srv[k] = s;
      log(`${SERVERS[k].name}: ${s.base} (pid ${s.pid})`);
    }
  } catch (e) {
    await b.stop();
    b.cleanup();
    throw e;
  }
  return b;
}

export const LOGIN_USER = ['alice', 'alice-pass-1'];

/** One sign-in in a fresh browser: { ok, why, ms, callbackMs, cookie }. */
export async function loginOnce(srv) {
  // as a browser's top-level navigation: mod_auth_openidc answers 401 to
  // what looks like a script (see browser.mjs)
  const b = new NavBrowser({
    timeoutMs: 20000,
    headers: { Accept: 'text/html,application/xhtml+xml', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' },
  });
  const t0 = process.hrtime.bigint();
  let res;
  try {
    res = await b.login(srv.url, ...LOGIN_USER);
  } catch (e) {
    return { ok: false, why: e.message };
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cb = res.hops.find((h) => h.url.startsWith(srv.callbackPrefix));
  const ok = res.status === 200 && res.body.length === FILE_BYTES && res.url === srv.url && !!cb;
  return {
    ok,
    why: ok ? '' : `final ${res.status} ${res.url} (${res.body.length} bytes); hops: ${res.hops.map((h) => `${h.status} ${h.url.slice(0, 90)}`).join(' -> ')}`,
    ms,
    callbackMs: cb?.ms,
    cookie: b.jar.header(srv.url),
  };
}
