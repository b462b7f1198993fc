// A whole test site: a test IdP with one client per provider, and an httpd
// with mod_fedauth configured for those providers. Everything is stopped by
// PID in stop(), which is safe to call more than once.
import crypto from 'node:crypto';

import { freePort } from './ports.mjs';
import { startIdp, defaultUsers, clientFor } from './idp.mjs';
import { startHttpd, requireModule } from './httpd.mjs';
import { providerFromClient, protectedLocation } from './fedauth.mjs';
import { checkErrorLog } from './errorlog.mjs';

/**
 * startSite({
 *   providers: [{ id, auth?, alg?, secret?, extra?, issuer? (override), clientId? }],
 *   users?, idTokenTTL?, secret? (FedAuthSecret; false: none),
 *   httpTimeout? (FedAuthHTTPTimeout), locationsConf?, extraConf?, serverConf?
 * }) -> { idp, httpd, base, clients: {id: metadata}, stop(), errorLog(), troubles() }
 */
export async function startSite(opts = {}) {
  requireModule();
  const providers = opts.providers || [{ id: 'test' }];
  const httpdPort = await freePort();
  const base = `http://127.0.0.1:${httpdPort}`;
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
  site.cleanup = () => { site.httpd?.cleanup(); site.idp?.cleanup(); };
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
      extraConf: opts.extraConf || '',
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
