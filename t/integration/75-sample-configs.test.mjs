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
// Only what a real server would need is swapped in (t/lib/sample-files.mjs,
// shared with 76-doc-snippets): every file:/path (the FedAuthSecret and
// ClientSecret files) points at a temp file holding a dummy secret,
// FedAuthChooserTemplate at a temp template, ClientKeyFile and
// ClientCertFile at a key (0600, RSA for an RS*/PS* alg, else P-256) and
// its certificate, the FedAuthRedis* TLS files at a certificate and key.
// Icon values are URLs, never read at start, so they stay as written.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { writeHttpdConfig, configTest, requireModule, removeDir, REPO } from '../lib/index.mjs';
import { sampleFileSwapper, enableCommented, hasCommented } from '../lib/sample-files.mjs';

const EXAMPLES_DIR = path.join(REPO, 'conf.d', 'examples');
const SAMPLES = [
  path.join(REPO, 'conf.d', 'fedauth.conf'),
  path.join(REPO, 'conf.d', 'fedauth-redis.conf'),
  ...(fs.existsSync(EXAMPLES_DIR)
    ? fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.conf')).sort()
      .map((f) => path.join(EXAMPLES_DIR, f))
    : []),
];

const dirs = [];
after(() => dirs.forEach(removeDir));

/** The sample's text with the files read at start swapped for temp files. */
const adapt = sampleFileSwapper('samples', dirs);

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
