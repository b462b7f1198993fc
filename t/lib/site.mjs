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
 *   providers: [{ id, auth?, alg?, secret?, extra?, issuer? (override), clientId? }],
 *   users?, idTokenTTL?, secret? (FedAuthSecret; false: none),
 *   httpTimeout? (FedAuthHTTPTimeout), locationsConf?, extraConf?, serverConf?,
 *   https? (serve over TLS with a throwaway self-signed certificate for
 *   127.0.0.1; clients must then accept it)
 * }) -> { idp, httpd, base, clients: {id: metadata}, stop(), errorLog(), troubles() }
 */
export async function startSite(opts = {}) {
  requireModule();
  const providers = opts.providers || [{ id: 'test' }];
  const httpdPort = await freePort();
  const base = `${opts.https ? 'https' : 'http'}://127.0.0.1:${httpdPort}`;
  const tls = opts.https ? selfSignedCert() : null;
  const clients = {};
  for (const p of providers) {
    clients[p.id] = clientFor({
      id: p.id,
      clientId: p.clientId,
      httpdBase: base,
      auth: p.auth || 'client_secret_basic',
      alg: p.alg || 'RS256',
      secret: p.secret,
    });
  }
  const site = { base, clients, idp: null, httpd: null };
  site.stop = async () => {
    await site.httpd?.stop();
    await site.idp?.stop();
  };
  site.cleanup = () => {
    site.httpd?.cleanup();
    site.idp?.cleanup();
    if (tls) fs.rmSync(tls.dir, { recursive: true, force: true });
  };
  try {
    site.idp = await startIdp({
      clients: Object.values(clients),
      users: opts.users || defaultUsers(),
      idTokenTTL: opts.idTokenTTL,
    });
    const secret = opts.secret === false ? null : (opts.secret || crypto.randomBytes(24).toString('hex'));
    const providersConf = [
      secret ? `FedAuthSecret "${secret}"` : '',
      `FedAuthHTTPTimeout ${opts.httpTimeout || 3}`,
      opts.serverConf || '',
      ...providers.map((p) => providerFromClient(p.id, p.issuer || site.idp.issuer, clients[p.id], p.extra || '')),
    ].join('\n');
    site.httpd = await startHttpd({
      port: httpdPort,
      providersConf,
      locationsConf: opts.locationsConf ?? protectedLocation(),
      extraConf: (tls ? tlsConf(tls) : '') + (opts.extraConf || ''),
    });
  } catch (e) {
    await site.stop();
    throw e;
  }
  site.errorLog = () => site.httpd?.errorLog() || '';
  site.troubles = (allowed = []) => checkErrorLog(site.httpd?.allLogs() || '', allowed);
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
