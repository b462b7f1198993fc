// SPDX-License-Identifier: Apache-2.0
// A local certificate authority for one test (openssl, in a temp dir): a CA
// and a server certificate it signs for the names given (DNS names and
// 127.0.0.1), and what Chromium needs to trust that server certificate
// without touching any system store: the base64 SHA-256 of its public key
// for --ignore-certificate-errors-spki-list.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const OPENSSL_MS = 15000;
const openssl = (args, cwd) => execFileSync('openssl', args, { cwd, stdio: 'pipe', timeout: OPENSSL_MS });

/**
 * localCA({ names: ['rp.fedauth.test', ...] }) -> { dir, caCert, cert, key,
 *   spki (base64 sha256 of the server key's SubjectPublicKeyInfo),
 *   chromiumArgs: [...], apacheConf (SSLEngine ... for a server or vhost),
 *   cleanup() }
 */
export function localCA({ names = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-ca-'));
  fs.chmodSync(dir, 0o755);
  const p = (f) => path.join(dir, f);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-days', '1', '-subj', '/CN=fedauth test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign', '-keyout', p('ca.key'), '-out', p('ca.pem')], dir);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', `/CN=${names[0] || '127.0.0.1'}`, '-keyout', p('key.pem'), '-out', p('req.csr')], dir);
  const san = [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
  fs.writeFileSync(p('ext.cnf'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  openssl(['x509', '-req', '-in', p('req.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'),
    '-CAcreateserial', '-days', '1', '-extfile', p('ext.cnf'), '-out', p('cert.pem')], dir);
  fs.chmodSync(p('key.pem'), 0o644);
  const pub = crypto.createPublicKey(fs.readFileSync(p('key.pem')));
  const spki = crypto.createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('base64');
  return {
    dir,
    caCert: p('ca.pem'),
    cert: p('cert.pem'),
    key: p('key.pem'),
    spki,
    chromiumArgs: [`--ignore-certificate-errors-spki-list=${spki}`],
    apacheConf: `<IfModule !ssl_module>
    LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
</IfModule>
SSLEngine on
SSLCertificateFile "${p('cert.pem')}"
SSLCertificateKeyFile "${p('key.pem')}"
`,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
