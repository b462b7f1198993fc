// SPDX-License-Identifier: Apache-2.0
// The sample configurations: conf.d/fedauth.conf, conf.d/fedauth-redis.conf
// and every
// conf.d/examples/*.conf must pass `apache2 -t` with the module loaded,
// pasted into the harness's base config (which loads the modules, as
// fedauth.load would). Each is checked twice: as shipped, and with every
// commented-out directive enabled. The samples write those as "#Directive
// value" (no space after '#'), explanations as "# text", so the optional
// settings they suggest are checked too.
//
// Only what a real server would need is swapped in: every file:/path (the
// FedAuthSecret and ClientSecret files) points at a temp file holding a
// dummy secret, FedAuthChooserTemplate at a temp template, ClientKeyFile
// and ClientCertFile at a key (0600) and certificate made here. Icon values
// are URLs, never read at start, so they stay as written.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { writeHttpdConfig, configTest, requireModule, removeDir, REPO } from '../lib/index.mjs';
import { makeTmpDir } from '../lib/httpd.mjs';

const EXAMPLES_DIR = path.join(REPO, 'conf.d', 'examples');
const SAMPLES = [
  path.join(REPO, 'conf.d', 'fedauth.conf'),
  path.join(REPO, 'conf.d', 'fedauth-redis.conf'),
  ...(fs.existsSync(EXAMPLES_DIR)
    ? fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.conf')).sort()
      .map((f) => path.join(EXAMPLES_DIR, f))
    : []),
];

const DUMMY_SECRET = 'dummy-secret-for-sample-config-checks-0123456789';
const TEMPLATE = '<!doctype html>\n<html><head><title>{{title}}</title></head>\n'
  + '<body><main>{{buttons}}</main></body></html>\n';

const dirs = [];
after(() => dirs.forEach(removeDir));

let fixtures;
function fixtureFiles() {
  if (!fixtures) {
    const dir = makeTmpDir('samples');
    dirs.push(dir);
    fixtures = {
      secret: path.join(dir, 'dummy.secret'),
      template: path.join(dir, 'chooser.html'),
      key: path.join(dir, 'client-key.pem'),
      cert: path.join(dir, 'client-cert.pem'),
    };
    fs.writeFileSync(fixtures.secret, `${DUMMY_SECRET}\n`, { mode: 0o600 });
    fs.writeFileSync(fixtures.template, TEMPLATE, { mode: 0o644 });
    // ClientKeyFile / ClientCertFile: a key of the user reading the config, 0600
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fs.writeFileSync(fixtures.key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    execFileSync('openssl', ['req', '-x509', '-new', '-key', fixtures.key, '-subj', '/CN=sample',
      '-days', '2', '-out', fixtures.cert], { stdio: 'ignore', timeout: 15000 });
  }
  return fixtures;
}

/** The sample's text with secret files and the chooser template swapped for temp files. */
function adapt(text) {
  const { secret, template, key, cert } = fixtureFiles();
  return text
    .replace(/file:\/[^\s"']+/g, `file:${secret}`)
    .replace(/^(\s*#?ClientKeyFile\s+)("?)[^\s"]+\2/gm, `$1"${key}"`)
    .replace(/^(\s*#?ClientCertFile\s+)("?)[^\s"]+\2/gm, `$1"${cert}"`)
    .replace(/^(\s*#?FedAuthChooserTemplate\s+)("?)[^\s"]+\2/gm, `$1"${template}"`);
}

/** "#Directive value" lines (no space after '#') become "Directive value". */
const enableCommented = (text) => text.replace(/^(\s*)#(?=<?\/?[A-Za-z])/gm, '$1');
const hasCommented = (text) => /^\s*#<?\/?[A-Za-z]/m.test(text);

/** Lines of apache2 -t output that name a directive httpd or the module refused. */
function refusals(out) {
  return out.split('\n').filter((l) => /Invalid command|is not a directive|AH00526|Syntax error/i.test(l)).join('\n');
}

async function check(text) {
  requireModule();
  const { dir, confFile } = await writeHttpdConfig({ providersConf: text });
  dirs.push(dir);
  const res = await configTest(confFile);
  return { res, out: `${res.stdout}${res.stderr}` };
}

describe('sample configurations pass apache2 -t', () => {
  it('conf.d/examples holds sample files', () => {
    assert.ok(SAMPLES.length > 1, `no *.conf in ${EXAMPLES_DIR}`);
  });

  for (const file of SAMPLES) {
    const rel = path.relative(REPO, file);
    const original = fs.readFileSync(file, 'utf8');

    it(`${rel}: no LoadModule, Listen or ServerRoot (it is included into a running server)`, () => {
      assert.doesNotMatch(original, /^\s*(LoadModule|Listen|ServerRoot)\b/m);
    });

    it(`${rel}: as shipped`, async () => {
      const { res, out } = await check(adapt(original));
      assert.equal(res.code, 0, `apache2 -t refused ${rel}:\n${refusals(out) || out}`);
      assert.match(out, /Syntax OK/);
    });

    if (hasCommented(original)) {
      it(`${rel}: with its commented-out directives enabled`, async () => {
        const { res, out } = await check(adapt(enableCommented(original)));
        assert.equal(res.code, 0, `apache2 -t refused ${rel} with its "#Directive" lines enabled:\n${refusals(out) || out}`);
        assert.match(out, /Syntax OK/);
      });
    }
  }
});
