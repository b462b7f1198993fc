// SPDX-License-Identifier: Apache-2.0
// Stand-ins for the files a configuration names and httpd reads at start,
// for the `apache2 -t` checks of the sample configurations (75) and the
// manual's examples (76): a dummy secret, a chooser template, a P-256 and
// an RSA 2048 key (0600, owned by the user running the test, as
// ClientKeyFile wants) each with a self-signed certificate.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

import { makeTmpDir } from './httpd.mjs';

const DUMMY_SECRET = 'dummy-secret-for-config-checks-0123456789abcdefghij';
const TEMPLATE = '<!doctype html>\n<html><head><title>{{title}}</title></head>\n'
  + '<body><main>{{buttons}}</main></body></html>\n';

/**
 * Makes the files in a new temp dir (the caller removes `dir`):
 * { dir, secret, template, ecKey, ecCert, rsaKey, rsaCert }.
 */
export function makeSampleFiles(prefix = 'samples') {
  const dir = makeTmpDir(prefix);
  const f = (name) => path.join(dir, name);
  const files = {
    dir, secret: f('dummy.secret'), template: f('chooser.html'),
    ecKey: f('ec-key.pem'), ecCert: f('ec-cert.pem'),
    rsaKey: f('rsa-key.pem'), rsaCert: f('rsa-cert.pem'),
  };
  fs.writeFileSync(files.secret, `${DUMMY_SECRET}\n`, { mode: 0o600 });
  // FedAuthSecret's older values (a rotation) must differ from the first
  files.olderSecrets = [2, 3, 4].map((i) => f(`dummy-${i}.secret`));
  files.olderSecrets.forEach((file, i) => fs.writeFileSync(file, `${DUMMY_SECRET}-${i + 2}\n`, { mode: 0o600 }));
  fs.writeFileSync(files.template, TEMPLATE, { mode: 0o644 });
  const pairs = [
    ['ecKey', 'ecCert', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['rsaKey', 'rsaCert', crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ];
  for (const [key, cert, { privateKey }] of pairs) {
    fs.writeFileSync(files[key], privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    execFileSync('openssl', ['req', '-x509', '-new', '-key', files[key], '-subj', '/CN=sample',
      '-days', '2', '-out', files[cert]], { stdio: 'ignore', timeout: 15000 });
  }
  return files;
}

/**
 * The text with every file it names that httpd reads at start swapped for
 * one of `files`: each file:/path (secrets; the values of one FedAuthSecret
 * line each their own), ClientKeyFile (the RSA key
 * when the text gives an RS* or PS* alg, else the P-256 one),
 * ClientCertFile (that key's certificate), FedAuthChooserTemplate and the
 * FedAuthRedis* TLS files. "#Directive" lines are swapped too.
 */
export function swapSampleFiles(text, files) {
  const rsa = /^\s*#?ClientKeyFile\s+\S+\s+"?(RS|PS)\d/im.test(text);
  const swap = (name, file) => (t) => t.replace(
    new RegExp(`^(\\s*#?${name}\\s+)("?)[^\\s"]+\\2`, 'gim'), `$1"${file}"`);
  // file:/path: the dummy secret; the values of one FedAuthSecret line a
  // secret file each (the same secret twice is refused)
  const secrets = (t) => t.split('\n').map((line) => {
    const many = /^\s*#?FedAuthSecret\s/i.test(line);
    let n = 0;
    return line.replace(/file:\/[^\s"']+/g, () => `file:${many && n++ ? files.olderSecrets[(n - 2) % 3] : files.secret}`);
  }).join('\n');
  return [
    secrets,
    swap('ClientKeyFile', rsa ? files.rsaKey : files.ecKey),
    swap('ClientCertFile', rsa ? files.rsaCert : files.ecCert),
    swap('FedAuthChooserTemplate', files.template),
    swap('FedAuthRedisCAFile', files.ecCert),
    swap('FedAuthRedisClientCert', files.ecCert),
    swap('FedAuthRedisClientKey', files.ecKey),
  ].reduce((t, fn) => fn(t), text);
}

/**
 * text => swapSampleFiles(text, files), the files made on first use and
 * their dir pushed onto `dirs` (which the caller removes after the tests).
 */
export function sampleFileSwapper(prefix, dirs) {
  let files;
  return (text) => {
    if (!files) {
      files = makeSampleFiles(prefix);
      dirs.push(files.dir);
    }
    return swapSampleFiles(text, files);
  };
}

/**
 * The samples' convention: "#Directive value" (no space after '#') is a
 * suggested setting, "# text" an explanation. enableCommented turns the
 * former into "Directive value"; hasCommented says whether there is one.
 */
export const enableCommented = (text) => text.replace(/^(\s*)#(?=<?\/?[A-Za-z])/gm, '$1');
export const hasCommented = (text) => /^\s*#<?\/?[A-Za-z]/m.test(text);
