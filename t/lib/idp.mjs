// SPDX-License-Identifier: Apache-2.0
// Start / stop the test IdP (t/idp/server.mjs) as a child process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { spawnTracked, stopChild, isRunning } from './procs.mjs';
import { removeDir, makeTmpDir } from './httpd.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const IDP_SERVER = path.resolve(here, '../idp/server.mjs');

/**
 * startIdp({ clients, users, idTokenTTL, port }) ->
 *   { issuer, port, pid, dir, admin(path, opts), events(), stop(), log() }
 * port 0 (default) lets the IdP pick a free port itself, so there is no race.
 */
export async function startIdp({ clients = [], users = [], idTokenTTL, port = 0, readyTimeoutMs = 15000, extraConfig = {} } = {}) {
  const dir = makeTmpDir('idp', 0o700);
  const adminToken = crypto.randomBytes(16).toString('hex');
  const cfgFile = path.join(dir, 'idp.json');
  // extraConfig: more members of the IdP's config (e.g. resourceServers, see t/idp/server.mjs)
  fs.writeFileSync(cfgFile, JSON.stringify({ ...extraConfig, port, clients, users, idTokenTTL, adminToken }, null, 2));
  const logFile = path.join(dir, 'idp.log');
  const logFd = fs.openSync(logFile, 'a');

  const child = spawnTracked(process.execPath, [IDP_SERVER, '--config', cfgFile], {
    stdio: ['ignore', 'pipe', logFd],
    env: { ...process.env, NODE_ENV: 'test', DEBUG: '' },
  });
  fs.closeSync(logFd);

  const issuer = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(
      `IdP did not print READY within ${readyTimeoutMs} ms; log:\n${readLog(logFile)}`,
    )), readyTimeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /^READY (\S+)$/m.exec(buf);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.exited.then((info) => {
      clearTimeout(timer);
      reject(new Error(`IdP exited before READY (${JSON.stringify(info)}); log:\n${readLog(logFile)}`));
    });
  }).catch(async (e) => { await stopChild(child); removeDir(dir); throw e; });

  const actualPort = Number(new URL(issuer).port);
  const admin = async (p, { method = 'GET', body } = {}) => {
    const res = await fetch(issuer + p, {
      method,
      headers: { 'X-Admin-Token': adminToken, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`IdP admin ${p}: ${res.status}`);
    return res.json();
  };
  return {
    issuer,
    port: actualPort,
    pid: child.pid,
    dir,
    child,
    running: () => isRunning(child),
    log: () => readLog(logFile),
    admin,
    events: () => admin('/_admin/events'),
    clearEvents: () => admin('/_admin/events/clear', { method: 'POST' }),
    setUsers: (u) => admin('/_admin/users', { method: 'POST', body: u }),
    /** Make the IdP misbehave (t/idp/server.mjs TAMPER_MODES); null: behave. */
    tamper: (mode, more = {}) => admin('/_admin/tamper', { method: 'POST', body: { ...more, mode } }),
    /**
     * Every ID token from now on has these claims set (null: removed) and is
     * re-signed with the IdP's own key; "{issuer}" in a string value is this
     * IdP's issuer. tamperClaims(null): behave.
     */
    tamperClaims: (claims) => admin('/_admin/tamper', {
      method: 'POST', body: claims ? { mode: 'claims', claims } : { mode: null },
    }),
    /**
     * Serve the discovery document with `overrides` merged in (null: as it
     * is); stripIssParam: no iss parameter in authorization responses and
     * authorization_response_iss_parameter_supported false (as Entra ID).
     */
    discoveryOverride: (overrides, { stripIssParam = false } = {}) => admin('/_admin/discovery', {
      method: 'POST', body: { overrides, stripIssParam },
    }),
    stop: () => stopChild(child, 5000),
    cleanup: () => removeDir(dir),
  };
}

function readLog(f) {
  try { return fs.readFileSync(f, 'utf8'); } catch { return ''; }
}

// ------------------------------------------------------------------ fixtures

/** The standard test users. */
export function defaultUsers() {
  return [
    {
      username: 'alice',
      password: 'alice-pass-1',
      claims: {
        sub: 'alice-sub-0001',
        email: 'alice@example.org',
        email_verified: true,
        preferred_username: 'alice',
        name: 'Alice Liddell',
        given_name: 'Alice',
        family_name: 'Liddell',
        locale: 'en-GB',
        groups: ['staff', 'wonderland-admins'],
      },
    },
    {
      // no preferred_username, verified email: the user name is the email
      username: 'bob',
      password: 'bob-pass-2',
      claims: {
        sub: 'bob-sub-0002',
        email: 'bob@example.org',
        email_verified: true,
        name: 'Bob Builder',
        given_name: 'Bob',
        family_name: 'Builder',
        groups: ['staff'],
      },
    },
    {
      // neither preferred_username nor a verified email: <sub>@<idp id>
      username: 'carol',
      password: 'carol-pass-3',
      claims: {
        sub: 'carol-sub-0003',
        email: 'carol@example.org',
        email_verified: false,
        name: 'Carol Unverified',
        groups: [],
      },
    },
  ];
}

/**
 * A test user of one IdP: password `<username>-pass-<idpName>`, sub
 * `<username>-sub-<idpName>`, preferred_username = username, a verified
 * email <username>@<idpName>.example; `claims` are merged over that.
 */
export function testUser(username, idpName, claims = {}) {
  return {
    username,
    password: `${username}-pass-${idpName}`,
    claims: {
      sub: `${username}-sub-${idpName}`,
      preferred_username: username,
      email: `${username}@${idpName}.example`,
      email_verified: true,
      name: `${username[0].toUpperCase()}${username.slice(1)} of ${idpName}`,
      groups: [],
      ...claims,
    },
  };
}

/**
 * Client metadata for provider id `id` of an httpd at `httpdBase`
 * (http://127.0.0.1:PORT). auth: client_secret_basic | client_secret_post | none.
 */
export function clientFor({ id, clientId = `client-${id}`, httpdBase, auth = 'client_secret_basic', secret, alg = 'RS256' }) {
  const c = {
    client_id: clientId,
    redirect_uris: [`${httpdBase}/signin-${id}`],
    post_logout_redirect_uris: [`${httpdBase}/`],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: auth,
    id_token_signed_response_alg: alg,
    backchannel_logout_uri: `${httpdBase}/signin-${id}/backchannel`,
    backchannel_logout_session_required: false,
  };
  if (auth !== 'none' || secret) c.client_secret = secret || `secret-${id}-${crypto.randomBytes(12).toString('hex')}`;
  return c;
}
