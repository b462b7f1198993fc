// SPDX-License-Identifier: Apache-2.0
// A whole test site: a test IdP with one client per provider, and an httpd
// with mod_fedauth configured for those providers. Everything is stopped by
// PID in stop(), which is safe to call more than once.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { freePort } from './ports.mjs';
import { startIdp, defaultUsers, clientFor } from './idp.mjs';
import { startHttpd, requireModule } from './httpd.mjs';
import { providerFromClient, protectedLocation } from './fedauth.mjs';
import { checkErrorLog } from './errorlog.mjs';

/**
 * startSite({
 *   providers: [{ id, auth?, alg?, secret?, extra?, issuer? (override: string or
 *                 function of ctx, below), clientId?, displayName? }],
 *   users?, idTokenTTL?, secret? (FedAuthSecret; false: none),
 *   httpTimeout? (FedAuthHTTPTimeout), locationsConf?, extraConf?, serverConf?,
 *   https? (serve over TLS with a throwaway self-signed certificate for
 *   127.0.0.1; clients must then accept it)
 * }) -> { idp, httpd, base, clients: {id: metadata}, stop(), errorLog(), troubles() }
 *
 * Several IdPs (each its own test IdP process: own issuer and port, own
 * signing keys, own users, one client per provider it serves):
 *   startSite({
 *     idps: [
 *       { name: 'a', users?, idTokenTTL?, setup?: async (idp) => {},
 *         providers: [{ id: 'a', displayName: 'Alpha', extra: 'SortOrder 2\n' }] },
 *       { name: 'b', users?, providers: [{ id: 'b' }, { id: 'b2' }] },
 *     ],
 *     extraPorts?: n,           // n more free ports for the config (ctx.ports)
 *     ...the other options above
 *   })
 * An IdP entry may also have clients: [more oidc-provider client metadata,
 * e.g. t/lib/tokens.mjs apiClient()] and idpConfig: {more IdP config
 * members, e.g. resourceServers (t/idp/server.mjs)}; a provider may have
 * clientExtra: {metadata} or (client) => {metadata} merged into its client
 * (e.g. another redirect URI for a node relying party).
 * `providers`/`users`/`idTokenTTL` at the top level are the same as one IdP
 * named 'default'. The providers are written in the order given (IdP by
 * IdP). setup(idp) runs after that IdP is up and before httpd starts (e.g.
 * idp.admin('/_admin/discovery', ...)).
 *
 * A provider's `extra` and the site's serverConf / locationsConf / extraConf
 * may be strings or functions of ctx:
 *   { id?, issuer?, idp?, client? (provider extra only), base, dir, port,
 *     ports (extraPorts), idps, clients, providerConf(id, extraText) }
 * providerConf(id, extra) is the full <FedAuthProvider id> block as the site
 * writes it, with `extra` appended (e.g. to redefine a provider in a
 * <VirtualHost>).
 *
 * Extra members of the site:
 *   idps: { name: idp handle (t/lib/idp.mjs) }, idpOf(providerId) -> idp,
 *   providerIds, ports, secret,
 *   restartHttpd({ providerExtra?: { id: extra }, serverConf?, locationsConf?,
 *     extraConf? }): stop httpd and start a new one on the same port with the
 *     same FedAuthSecret, IdPs and clients; providerExtra is appended to those
 *     providers' blocks. troubles() covers the logs of every httpd started.
 */
export async function startSite(opts = {}) {
  requireModule();
  const idpSpecs = opts.idps || [{
    name: 'default', providers: opts.providers || [{ id: 'test' }], users: opts.users, idTokenTTL: opts.idTokenTTL,
  }];
  const httpdPort = await freePort();
  const ports = [];
  for (let i = 0; i < (opts.extraPorts || 0); i++) ports.push(await freePort());
  const base = `${opts.https ? 'https' : 'http'}://127.0.0.1:${httpdPort}`;
  const tls = opts.https ? selfSignedCert() : null;
  const clients = {};
  const providerList = [];
  for (const spec of idpSpecs) {
    for (const p of spec.providers) {
      if (clients[p.id]) throw new Error(`provider id ${p.id} given twice`);
      clients[p.id] = clientFor({
        id: p.id,
        clientId: p.clientId,
        httpdBase: base,
        auth: p.auth || 'client_secret_basic',
        alg: p.alg || 'RS256',
        secret: p.secret,
      });
      // clientExtra: more client metadata (object, or function of the client metadata)
      if (p.clientExtra) {
        clients[p.id] = { ...clients[p.id], ...(typeof p.clientExtra === 'function' ? p.clientExtra(clients[p.id]) : p.clientExtra) };
      }
      providerList.push({ spec: p, idpName: spec.name });
    }
  }
  const site = {
    base, clients, ports, idp: null, httpd: null, idps: {}, providerIds: providerList.map((p) => p.spec.id),
  };
  const previousHttpds = [];
  site.idpOf = (id) => {
    const p = providerList.find((x) => x.spec.id === id);
    return p ? site.idps[p.idpName] : undefined;
  };
  site.stop = async () => {
    await site.httpd?.stop();
    for (const idp of Object.values(site.idps)) await idp?.stop();
  };
  site.cleanup = () => {
    for (const h of [...previousHttpds, site.httpd]) h?.cleanup();
    for (const idp of Object.values(site.idps)) idp?.cleanup();
    if (tls) fs.rmSync(tls.dir, { recursive: true, force: true });
  };
  const secret = opts.secret === false ? null : (opts.secret || crypto.randomBytes(24).toString('hex'));
  site.secret = secret;

  const ctxBase = () => ({ base, ports, idps: site.idps, clients, providerConf: (id, extra = '') => providerConf(id, extra) });
  const resolve = (v, ctx) => (typeof v === 'function' ? v(ctx) : (v || ''));
  let current = {
    serverConf: opts.serverConf, locationsConf: opts.locationsConf, extraConf: opts.extraConf, providerExtra: {},
  };
  const providerConf = (id, appended = '', httpdCtx = {}) => {
    const entry = providerList.find((x) => x.spec.id === id);
    if (!entry) throw new Error(`no provider ${id}`);
    const p = entry.spec;
    const idp = site.idps[entry.idpName];
    const ctx = { ...ctxBase(), ...httpdCtx, id, issuer: idp.issuer, idp, client: clients[id] };
    const lines = (v) => {
      const t = resolve(v, ctx);
      return t && !t.endsWith('\n') ? `${t}\n` : t;
    };
    const extra = lines(p.extra) + lines(current.providerExtra[id]) + lines(appended);
    return providerFromClient(id, resolve(p.issuer, ctx) || idp.issuer, clients[id], extra,
      p.displayName ? { displayName: p.displayName } : {});
  };
  const launch = () => startHttpd({
    port: httpdPort,
    providersConf: (hc) => [
      secret ? `FedAuthSecret "${secret}"` : '',
      `FedAuthHTTPTimeout ${opts.httpTimeout || 3}`,
      resolve(current.serverConf, { ...ctxBase(), ...hc }),
      ...providerList.map((p) => providerConf(p.spec.id, '', hc)),
    ].join('\n'),
    locationsConf: (hc) => (current.locationsConf === undefined
      ? protectedLocation() : resolve(current.locationsConf, { ...ctxBase(), ...hc })),
    extraConf: (hc) => (tls ? tlsConf(tls) : '') + resolve(current.extraConf, { ...ctxBase(), ...hc }),
  });
  site.restartHttpd = async (changes = {}) => {
    await site.httpd?.stop();
    if (site.httpd) previousHttpds.push(site.httpd);
    site.httpd = null;
    current = {
      ...current,
      ...Object.fromEntries(['serverConf', 'locationsConf', 'extraConf'].filter((k) => k in changes).map((k) => [k, changes[k]])),
      providerExtra: changes.providerExtra || {},
    };
    site.httpd = await launch();
    return site.httpd;
  };
  try {
    for (const spec of idpSpecs) {
      const own = providerList.filter((p) => p.idpName === spec.name).map((p) => clients[p.spec.id]);
      const idp = await startIdp({
        // spec.clients: more clients of this IdP (not providers of httpd)
        clients: [...own, ...(spec.clients || [])],
        users: spec.users || defaultUsers(),
        idTokenTTL: spec.idTokenTTL,
        // spec.idpConfig: more IdP config members (e.g. resourceServers)
        extraConfig: spec.idpConfig || {},
      });
      site.idps[spec.name] = idp;
      if (!site.idp) site.idp = idp;
      if (spec.setup) await spec.setup(idp);
    }
    site.httpd = await launch();
  } catch (e) {
    await site.stop();
    site.cleanup();
    throw e;
  }
  site.errorLog = () => site.httpd?.errorLog() || '';
  site.troubles = (allowed = []) => checkErrorLog(
    [...previousHttpds, site.httpd].map((h) => h?.allLogs() || '').join('\n'), allowed,
  );
  return site;
}

/** Location blocks /p/<id>/ (CGI) each limited to one provider. */
export function perProviderLocations(ids) {
  return ids.map((id) => `<Location /p/${id}/>
    AuthType FedAuth
    FedAuthProviders ${id}
    Require valid-user
</Location>
`).join('\n');
}

/** A key and self-signed certificate for 127.0.0.1, in a temp dir. */
function selfSignedCert() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-tls-'));
  fs.chmodSync(dir, 0o755);
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec',
    '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', key, '-out', cert], { stdio: 'ignore', timeout: 15000 });
  fs.chmodSync(key, 0o644);
  return { dir, key, cert };
}

function tlsConf({ key, cert }) {
  return `<IfModule !ssl_module>
    LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
</IfModule>
SSLEngine on
SSLCertificateFile "${cert}"
SSLCertificateKeyFile "${key}"
`;
}
