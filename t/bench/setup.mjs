// SPDX-License-Identifier: Apache-2.0
// Setting up the benchmark's servers: the test IdP with one client per
// server, a redis-server when needed, the httpd instances (t/bench/
// servers.mjs), and browser-like sign-ins, one at a time or many at once
// (signInMany, for the runs with --sessions N). Used by run.mjs,
// profile.mjs and soak.mjs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import {
  freePort, startIdp, defaultUsers, clientFor, moduleBuilt, modulePath, APACHE,
} from '../lib/index.mjs';
import { startRedis, startCluster, redisAvailable } from '../lib/redis.mjs';
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
  F: { name: 'F mod_fedauth redis, no local copy', short: 'fedauth-redis-nocopy' },
  G: { name: 'G mod_fedauth shm, account registry', short: 'fedauth-shm-registry' },
  H: { name: 'H mod_fedauth redis cluster', short: 'fedauth-redis-cluster' },
};
export const ALL = Object.keys(SERVERS);
/** Servers with mod_fedauth, with mod_auth_openidc, and those that use the redis-server. */
export const FEDAUTH = new Set(['B', 'C', 'F', 'G', 'H']);
export const OPENIDC = new Set(['D', 'E']);
export const USES_REDIS = new Set(['C', 'E', 'F']);

/**
 * Session lifetimes with --sessions N > 1: a day idle, two days in all, so
 * that no session of a long run (20,000 sign-ins per server take a while)
 * ends on its own. With one session, the defaults (FedAuthSessionIdleTimeout
 * 3600, FedAuthSessionMaxAge 28800, the same for mod_auth_openidc).
 */
export const MANY_IDLE_S = 86400;
export const MANY_MAX_AGE_S = 172800;
/**
 * mod_auth_openidc's shm cache with many sessions: OIDCCacheShmMax (the
 * number of fixed-size slots) 3 per session plus 100: a sign-in leaves
 * three entries (in E's Redis, keys s: the session, n: its nonce, kept
 * against replay, d: a small entry of 235 bytes), and the provider
 * metadata and JWKS take one each. OIDCCacheShmEntrySizeMax: the smallest
 * the module accepts, 8192 + 512 + 17 bytes (8 KiB of value after the
 * slot's 512-byte key); a session here is about 3 KiB. Every lookup scans
 * the slots one by one under a global lock, so a bigger cache costs D time
 * on every request (t/bench/README.md).
 */
export const openidcShmMax = (n) => 3 * n + 100;
export const OPENIDC_SHM_ENTRY = 8192 + 512 + 17;
/** FedAuthMaxSessionsPerUser for N sessions of one user. */
export const maxSessionsPerUser = (n) => Math.min(n, 1000);

/**
 * Which of `wanted` can run here: { wanted, notes }. Throws when httpd or
 * a built mod_fedauth (for B/C) is missing.
 */
export function available(wanted) {
  const notes = [];
  if (!fs.existsSync(APACHE)) throw new Error(`${APACHE} not found`);
  if (wanted.some((x) => FEDAUTH.has(x)) && !moduleBuilt()) {
    throw new Error(`mod_fedauth not built: ${modulePath()} is missing`);
  }
  let w = [...wanted];
  if (w.some((x) => x === 'D' || x === 'E') && !fs.existsSync(OIDC_MODULE)) {
    notes.push(`D/E skipped: ${OIDC_MODULE} is not installed (apt-get install libapache2-mod-auth-openidc).`);
    w = w.filter((x) => x !== 'D' && x !== 'E');
  }
  if (w.some((x) => USES_REDIS.has(x) || x === 'H') && !redisAvailable()) {
    notes.push('C/E/F/H skipped: redis-server / redis-cli not installed.');
    w = w.filter((x) => !USES_REDIS.has(x) && x !== 'H');
  }
  return { wanted: w, notes };
}

/**
 * startBench({ wanted: ['A', 'B', ...], serverCpus?, mutex?, commonConf?, serverOpts?: {
 *   K: { prefix, extraArgs } }, sessions?, distinctUsers?, shmSize?, log? }) ->
 *   { idp, redis, srv: { K: server }, stop(), cleanup() }. Every server serves
 * FILE_PATH; srv[K].callbackPrefix is its redirect URI.
 * sessions (default 1) > 1 sets up for that many sessions per server: long
 * session lifetimes, mod_auth_openidc's shm cache sized for them, and with
 * distinctUsers the IdP accounts benchUser(1..sessions); without it,
 * FedAuthMaxSessionsPerUser in B, C and F. shmSize: FedAuthSessionStore
 * shm:<shmSize> in B (default: the module's default size). hostCache:
 * FedAuthSessionHostCache <hostCache> in H.
 */
export async function startBench({
  wanted, serverCpus = null, mutex = 'default', commonConf = '', serverOpts = {}, log = () => {},
  sessions = 1, distinctUsers = false, shmSize = null, users: idpUsers = null, hostCache = null,
}) {
  const b = {
    idp: null, redis: null, cluster: null, srv: {}, started: [], registryDir: null,
  };
  b.shmSize = shmSize;
  b.stop = async () => {
    closeAgent();
    for (const s of b.started) { try { await s.stop(); } catch { /* ignore */ } }
    if (b.redis) { try { await b.redis.stop(); } catch { /* ignore */ } }
    if (b.cluster) { try { await b.cluster.stop(); } catch { /* ignore */ } }
    if (b.idp) { try { await b.idp.stop(); } catch { /* ignore */ } }
  };
  b.cleanup = () => {
    if (process.env.FEDAUTH_KEEP_TMP) return;
    for (const s of b.started) s.cleanup();
    b.redis?.cleanup();
    b.cluster?.cleanup();
    b.idp?.cleanup();
    if (b.registryDir) fs.rmSync(b.registryDir, { recursive: true, force: true });
  };
  const many = sessions > 1;
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
      if (FEDAUTH.has(k)) {
        clients[k] = clientFor({ id: 'bench', clientId: `bench-${k}`, httpdBase: base(k) });
      } else if (OPENIDC.has(k)) {
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
      // the many-session accounts go into the IdP's config file (POST
      // /_admin/users takes at most 1 MiB)
      // idpUsers (--seed): the accounts of the real sign-ins only
      const users = idpUsers ? [...defaultUsers(), ...idpUsers]
        : many ? [...defaultUsers(), ...benchUsers(distinctUsers ? sessions : 1)] : defaultUsers();
      log(`starting the test IdP (${Object.keys(clients).length} clients, ${users.length} users)`);
      b.idp = await startIdp({ clients: Object.values(clients), users, readyTimeoutMs: 60000 });
    }
    if (wanted.some((k) => USES_REDIS.has(k))) {
      b.redis = await startRedis({});
      log(`redis-server on 127.0.0.1:${b.redis.port} (pid ${b.redis.pid})`);
    }
    if (wanted.includes('H')) {
      // H: a Redis Cluster of 3 masters (no replicas), per-process copies
      b.cluster = await startCluster({ masters: 3, replicasPerMaster: 0 });
      log(`redis cluster: masters on ${b.cluster.nodes.map((n) => n.port).join(', ')}`);
    }
    const secret = crypto.randomBytes(24).toString('hex');
    b.secret = secret;
    const { idp, redis } = b;
    // with many sessions: lifetimes beyond the run; N sessions of one user
    // need mod_fedauth to keep that many per user (a directive still being
    // added: without it B, C and F fail their config check in that mode)
    const fedMore = (k) => [
      many ? `FedAuthSessionIdleTimeout ${MANY_IDLE_S}\nFedAuthSessionMaxAge ${MANY_MAX_AGE_S}` : '',
      many && !distinctUsers ? `FedAuthMaxSessionsPerUser ${maxSessionsPerUser(sessions)}` : '',
      // F: its own keys in the Redis that C uses too
      k === 'F' ? 'FedAuthSessionLocalCache 0\nFedAuthRedisPrefix "benchF:"' : '',
    ].filter(Boolean).join('\n');
    const oidcLife = many ? { idle: MANY_IDLE_S, maxAge: MANY_MAX_AGE_S } : {};
    const redisUrl = redis ? `redis://127.0.0.1:${redis.port}` : null;
    for (const k of wanted) {
      let conf;
      if (k === 'A') conf = plainConf();
      else if (k === 'B') conf = fedauthConf({ issuer: idp.issuer, client: clients.B, secret, store: shmSize ? `shm:${shmSize}` : null, more: fedMore(k) });
      else if (k === 'G') {
        // B with FedAuthRegistry On: every sign-in registers an account;
        // a request with a session must cost what B's does
        b.registryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-bench-registry-'));
        conf = fedauthConf({
          issuer: idp.issuer, client: clients.G, secret, store: shmSize ? `shm:${shmSize}` : null,
          more: `${fedMore(k)}\nFedAuthRegistry On\nFedAuthRegistryDir "${b.registryDir}"`,
        });
      } else if (k === 'C' || k === 'F') conf = fedauthConf({ issuer: idp.issuer, client: clients[k], secret, store: redisUrl, more: fedMore(k) });
      else if (k === 'H') {
        b.clusterUrl = `redis-cluster://${b.cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
        // hostCache: FedAuthSessionHostCache <size> (one copy per host)
        conf = fedauthConf({
          issuer: idp.issuer, client: clients[k], secret, store: b.clusterUrl,
          more: `${fedMore(k)}${hostCache ? `\nFedAuthSessionHostCache ${hostCache}` : ''}`,
        });
      }
      else if (k === 'D') {
        conf = openidcConf({
          issuer: idp.issuer, client: clients.D, base: base(k), passphrase: secret, cache: 'shm', ...oidcLife,
          ...(many ? { shmMax: openidcShmMax(sessions), shmEntrySizeMax: OPENIDC_SHM_ENTRY } : {}),
        });
      } else conf = openidcConf({ issuer: idp.issuer, client: clients.E, base: base(k), passphrase: secret, cache: 'redis', redisPort: redis.port, ...oidcLife });
      let s;
      try {
        s = await startServer({
          name: k, port: ports[k], taskset: serverCpus, mutex, commonConf, ...(serverOpts[k] || {}), ...conf,
        });
      } catch (e) {
        if (/Invalid command 'FedAuthMaxSessionsPerUser'/.test(e.message)) {
          e.message += `\n${k}: this mod_fedauth has no FedAuthMaxSessionsPerUser yet, which N sessions of one user need; `
            + 'use --distinct-users, or leave B, C and F out (--only A,D,E)';
        }
        throw e;
      }
      b.started.push(s);
      s.key = k;
      s.callbackPrefix = FEDAUTH.has(k) ? `${base(k)}/signin-bench` : `${base(k)}/bench/redirect_uri`;
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

/**
 * IdP account i (1, 2, ...) of the many-session runs: user00001 with
 * password user00001-pass-bench, its own sub, a verified email, name,
 * given and family name, locale and two groups: what an ordinary session
 * holds (user, roles, about 6 attributes, the ID token).
 */
export function benchUser(i) {
  const id = String(i).padStart(5, '0');
  return {
    username: `user${id}`,
    password: `user${id}-pass-bench`,
    claims: {
      sub: `bench-sub-${id}`,
      email: `user${id}@bench.example.org`,
      email_verified: true,
      preferred_username: `user${id}`,
      name: `Bench User ${id}`,
      given_name: 'Bench',
      family_name: `User ${id}`,
      locale: ['en-GB', 'de-DE', 'fr-FR', 'nl-NL'][i % 4],
      groups: ['staff', `team-${String(i % 50).padStart(2, '0')}`],
    },
  };
}
export const benchUsers = (n) => Array.from({ length: n }, (_, i) => benchUser(i + 1));
/** [username, password] of session i (0-based) of a many-session run. */
export const sessionLogin = (i, distinctUsers) => {
  const u = benchUser(distinctUsers ? i + 1 : 1);
  return [u.username, u.password];
};

/** One sign-in in a fresh browser: { ok, why, ms, callbackMs, cookie }. */
/*
 * The Cookie header a browser sends to the site after signing in: the
 * site's own cookies. The test IdP shares 127.0.0.1 with httpd, and
 * cookies are not kept apart by port, so the jar would also send the
 * IdP's (oidc-provider's _interaction* and _session*, about 250 bytes);
 * a real IdP lives on a host of its own and a browser sends them only
 * there. Every server, plain httpd included, gets headers of this shape.
 */
export function siteCookies(jar, url) {
  return jar.cookiesFor(url).filter((c) => !/^_(interaction|session)/.test(c.name))
    .map((c) => `${c.name}=${c.value}`).join('; ');
}

export async function loginOnce(srv, login = LOGIN_USER) {
  // as a browser's top-level navigation: mod_auth_openidc answers 401 to
  // what looks like a script (see browser.mjs)
  const b = new NavBrowser({
    timeoutMs: 20000,
    headers: { Accept: 'text/html,application/xhtml+xml', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' },
  });
  const t0 = process.hrtime.bigint();
  let res;
  try {
    res = await b.login(srv.url, ...login);
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
    cookie: siteCookies(b.jar, srv.url),
  };
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Signs in n sessions at srv, `concurrency` at a time (each a fresh
 * browser through the IdP's login form, as loginOnce), session i as
 * login(i) = [username, password]. A failed sign-in is tried once more;
 * after more than maxFailed failures it stops and throws, with the first
 * failure's story. Logs progress about every 5 s. Resolves { cookies (in
 * the order of i), seconds, perSecond, failed, retried, callbackMs (median),
 * loginMs (median) }.
 */
export async function signInMany(srv, {
  n, login = () => LOGIN_USER, concurrency = 16, maxFailed = 5, log = () => {}, label = srv.name,
  deadlineMs = 6 * 3600 * 1000,
}) {
  const cookies = new Array(n).fill(null);
  const cbMs = [];
  const loginMs = [];
  const failures = [];
  let next = 0;
  let done = 0;
  let retried = 0;
  const t0 = Date.now();
  let lastLog = t0;
  const stop = () => failures.length > maxFailed || Date.now() - t0 > deadlineMs;
  const progress = (force) => {
    const now = Date.now();
    if (!force && now - lastLog < 5000) return;
    lastLog = now;
    const s = (now - t0) / 1000;
    log(`${label}: ${done}/${n} signed in, ${(done / Math.max(s, 1e-3)).toFixed(1)}/s, ${failures.length} failed, ${s.toFixed(0)} s`);
  };
  const worker = async () => {
    while (next < n && !stop()) {
      const i = next++;
      let r = await loginOnce(srv, login(i));
      if (!r.ok) {
        retried++;
        r = await loginOnce(srv, login(i));
      }
      if (r.ok) {
        cookies[i] = r.cookie;
        cbMs.push(r.callbackMs);
        loginMs.push(r.ms);
      } else failures.push({ i, why: r.why });
      done++;
      progress(false);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
  progress(true);
  const seconds = (Date.now() - t0) / 1000;
  if (failures.length > maxFailed) {
    throw new Error(`${label}: ${failures.length} sign-ins failed (after ${done} of ${n}; at most ${maxFailed} may), the first (session ${failures[0].i + 1}): ${failures[0].why}\n--- error.log:\n${srv.errorLog().slice(-3000)}`);
  }
  if (done < n) throw new Error(`${label}: only ${done} of ${n} sign-ins within ${deadlineMs / 1000} s`);
  return {
    cookies: cookies.filter((c) => c !== null),
    seconds,
    perSecond: (n - failures.length) / Math.max(seconds, 1e-3),
    failed: failures.length,
    failures,
    retried,
    callbackMs: median(cbMs),
    loginMs: median(loginMs),
  };
}

/**
 * Asks for url once with each cookie, in the order of the list (up to
 * `concurrency` requests in flight over keep-alive connections; no
 * redirect followed). Resolves { asked, bad (not a 200 with the file),
 * statuses: { status: count } of the bad ones, firstBad: { i, status,
 * location } | null, retried (requests asked again after a closed
 * keep-alive connection), seconds }.
 */
export async function checkSessions(url, cookies, { concurrency = 8, timeoutMs = 30000 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses = {};
  let bad = 0;
  let firstBad = null;
  let next = 0;
  const t0 = Date.now();
  let retried = 0;
  const one = (cookie, fresh = false) => new Promise((resolve) => {
    // fresh: a connection of its own (agent false), closed after the answer
    const req = http.get(url, { agent: fresh ? false : agent, headers: { Cookie: cookie }, timeout: timeoutMs }, (res) => {
      let bytes = 0;
      res.on('data', (d) => { bytes += d.length; });
      res.on('end', () => resolve({ status: res.statusCode, bytes, location: res.headers.location }));
      res.on('error', () => resolve({ status: 0, bytes }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, error: e.message }));
  });
  const worker = async () => {
    while (next < cookies.length) {
      const i = next++;
      let r = await one(cookies[i]);
      // a keep-alive connection the server closed as the request went out
      // (status 0, "socket hang up") says nothing of the session: once more,
      // as a browser does, on a new connection (the agent's other idle ones
      // may have been closed in the same instant: httpd's event MPM closes
      // a child's idle keep-alive connections when none of its workers is
      // free)
      if (r.status === 0) { retried++; r = await one(cookies[i], true); }
      if (r.status !== 200 || r.bytes !== FILE_BYTES) {
        bad++;
        const key = r.status === 200 ? '200 (short)' : String(r.status || r.error);
        statuses[key] = (statuses[key] || 0) + 1;
        if (!firstBad || i < firstBad.i) firstBad = { i, status: r.status, location: r.location, error: r.error };
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, cookies.length)) }, worker));
  } finally {
    agent.destroy();
  }
  return { asked: cookies.length, bad, statuses, firstBad, retried, seconds: (Date.now() - t0) / 1000 };
}

/**
 * Writes the cookie list for report.lua (one Cookie header value a line)
 * into dir (made 0700 by the caller: the cookies are live sessions), as
 * cookies-<name>.txt; returns the path.
 */
export function writeCookieFile(dir, name, cookies) {
  const f = path.join(dir, `cookies-${name}.txt`);
  fs.writeFileSync(f, `${cookies.join('\n')}\n`, { mode: 0o600 });
  return f;
}

/**
 * n cookies shaped like mod_fedauth's, for a plain server when no
 * authenticated server ran (it ignores them; they only make the client's
 * work the same).
 */
export function fakeCookies(n) {
  // the shape of mod_fedauth's session cookie: 256-bit id "." 128-bit tag
  return Array.from({ length: n }, () => `fedauth_session=${crypto.randomBytes(32).toString('base64url')}.${crypto.randomBytes(16).toString('base64url')}`);
}

/** The module file's time, size and hash: the build measured. */
export function moduleId() {
  try {
    const st = fs.statSync(modulePath());
    const sha = crypto.createHash('sha256').update(fs.readFileSync(modulePath())).digest('hex').slice(0, 16);
    return `${st.mtime.toISOString()}, ${st.size} bytes, sha256 ${sha}...`;
  } catch { return 'missing'; }
}
