// SPDX-License-Identifier: Apache-2.0
// The manual's configuration examples must work as written: every fenced
// ```apache block of README.md and docs/*.md, and every "Example:" line of
// docs/directives.md, passes `apache2 -t` with the module loaded (pasted
// into the harness's base config, which loads the modules as
// fedauth.load would). Each case is named file:line.
//
// A block is made to stand alone the way a reader would use it, and no
// further:
//   - a line that is only "..." inside a <FedAuthProvider> stands for
//     what the reader has there already (the minimal provider's Issuer,
//     ClientID and ClientSecret the block lacks); elsewhere it is dropped;
//   - mod_authz_host (Require ip), on by default in Debian's httpd, is
//     loaded;
//   - a block with no <FedAuthProvider> gets a minimal provider before it
//     (named as its FedAuthProviders line says, else "corp");
//   - placeholders for files the server reads at start are swapped for
//     temp files, as 75-sample-configs does (t/lib/sample-files.mjs: every
//     file:/path, ClientKeyFile with a key of the type its alg asks for,
//     ClientCertFile, FedAuthChooserTemplate, the FedAuthRedis* TLS files);
//   - Issuer and other https URLs stay as written (nothing is fetched at
//     -t).
// A block with "#Directive" lines (no space after '#', the samples'
// convention for a suggested setting) is checked a second time with them
// enabled.
//
// A block that cannot stand alone is marked in the markdown by an HTML
// comment on the line before its fence: <!-- snippet: fragment --> (not
// checked) or <!-- snippet: refused --> (an example of what the module
// refuses: apache2 -t must fail).
//
// directives.md examples are placed in the context of their section: inside
// a <FedAuthProvider> with Issuer, ClientID and ClientSecret; module-wide
// next to a FedAuthSecret; or inside a <Location> with AuthType FedAuth.
// Where an entry says the directive needs another one, NEEDS adds it. Each
// is checked again in every other context its "- Context:" line names (a
// <VirtualHost>; a <Directory>, the server config for per-location ones),
// and must be refused in those it does not name (a module-wide directive
// for the server config alone in a <VirtualHost>, a per-location one
// outside <Location>/<Directory>). (.htaccess is read only at request
// time: not checked here.)
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { writeHttpdConfig, configTest, requireModule, removeDir, REPO } from '../lib/index.mjs';
import { MODULES_DIR } from '../lib/httpd.mjs';
import { sampleFileSwapper, enableCommented, hasCommented } from '../lib/sample-files.mjs';

const DOC_FILES = [
  'README.md',
  ...fs.readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')).sort()
    .map((f) => `docs/${f}`),
];

const dirs = [];
after(() => dirs.forEach(removeDir));

/** The text with the files read at start swapped (t/lib/sample-files.mjs). */
const adapt = sampleFileSwapper('snippets', dirs);

/** A provider that passes -t: what a reader has already configured. */
function minimalProvider(id) {
  return `<FedAuthProvider ${id}>\n    Issuer https://idp.example.com/realms/${id}\n`
    + `    ClientID my-app\n    ClientSecret file:/etc/apache2/fedauth-${id}.secret\n`
    + '</FedAuthProvider>\n';
}

/** The ids a block's FedAuthProviders lines name, else ["corp"]. */
function providerIds(text) {
  const ids = [...text.matchAll(/^\s*FedAuthProviders\s+(.+)$/gm)]
    .flatMap((m) => m[1].trim().split(/\s+/));
  return ids.length ? [...new Set(ids)] : ['corp'];
}

const ELLIPSIS = /^\s*(\.\.\.|…)\s*$/;
const BASE_PROVIDER_LINES = ['Issuer', 'ClientID', 'ClientSecret'];

/**
 * "..." inside a <FedAuthProvider id> stands for the lines the reader has
 * there already: the minimal provider's Issuer, ClientID and ClientSecret
 * that the block does not give itself. Anywhere else it is dropped.
 */
function fillEllipsis(text) {
  const lines = text.split('\n');
  const out = [];
  let provider = null;
  lines.forEach((l, i) => {
    const open = /^\s*<FedAuthProvider\s+([^\s>]+)\s*>/i.exec(l);
    if (open) provider = { id: open[1], start: i };
    if (/^\s*<\/FedAuthProvider>/i.test(l)) provider = null;
    if (!ELLIPSIS.test(l)) {
      out.push(l);
      return;
    }
    if (!provider) return;
    const rest = lines.slice(provider.start + 1);
    const end = rest.findIndex((x) => /^\s*<\/FedAuthProvider>/i.test(x));
    const body = rest.slice(0, end < 0 ? rest.length : end);
    const indent = /^\s*/.exec(l)[0];
    minimalProvider(provider.id).split('\n').map((x) => x.trim())
      .filter((x) => BASE_PROVIDER_LINES.includes(x.split(' ')[0]))
      .filter((x) => !body.some((b) => new RegExp(`^\\s*${x.split(' ')[0]}\\s`, 'i').test(b)))
      .forEach((x) => out.push(`${indent}${x}`));
  });
  return out.join('\n');
}

/**
 * The stock modules a reader's server has on (Debian enables them by
 * default) that the harness's base config does not load.
 */
const STOCK_MODULES = ['authz_host'].map((m) => `<IfModule !${m}_module>\n`
  + `    LoadModule ${m}_module ${MODULES_DIR}/mod_${m}.so\n</IfModule>\n`).join('');

/** A block as a reader would paste it into a server: see the top. */
function standalone(text) {
  let out = fillEllipsis(text);
  if (!/<FedAuthProvider\s/i.test(out)) {
    out = providerIds(out).map(minimalProvider).join('') + out;
  }
  return adapt(out);
}

/** Every fenced ```apache block: { file, line (of the fence), text, mark }. */
function apacheBlocks() {
  const blocks = [];
  for (const file of DOC_FILES) {
    const lines = fs.readFileSync(path.join(REPO, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^(\s*)(`{3,})\s*(\S*)/.exec(lines[i]);
      if (!open) continue;
      let j = i + 1;
      while (j < lines.length && !new RegExp(`^\\s*${open[2]}\\s*$`).test(lines[j])) j++;
      if (open[3] === 'apache') {
        let k = i - 1;
        while (k >= 0 && !lines[k].trim()) k--;
        const mark = k >= 0 ? /<!--\s*snippet:\s*(\w+)\s*-->/.exec(lines[k])?.[1] : undefined;
        const body = lines.slice(i + 1, j).map((l) => l.slice(open[1].length)).join('\n');
        blocks.push({ file, line: i + 1, text: `${body}\n`, mark });
      }
      i = j;
    }
  }
  return blocks;
}

const CONFIG_LINE = /^\s*(<\/?(FedAuthProvider|Location|Directory)\b|FedAuth[A-Z]\w*\s+\S)/;

/**
 * Configuration outside ```apache blocks, which nothing would check: lines
 * of other fenced blocks, and indented (code block) lines outside fences,
 * that open a <FedAuthProvider>, <Location> or <Directory> or set a
 * FedAuth* directive. "file:line: text" each.
 */
function configOutsideApacheBlocks() {
  const found = [];
  for (const file of DOC_FILES) {
    let fence = null;
    fs.readFileSync(path.join(REPO, file), 'utf8').split('\n').forEach((l, i) => {
      const f = /^\s*(`{3,})\s*(\S*)/.exec(l);
      if (f && (!fence || f[1] === fence.ticks)) {
        fence = fence ? null : { ticks: f[1], lang: f[2] };
        return;
      }
      const indented = !fence && /^ {4,}\S/.test(l);
      if ((fence?.lang !== 'apache' && fence) || indented) {
        if (CONFIG_LINE.test(l)) found.push(`${file}:${i + 1}: ${l.trim()}`);
      }
    });
  }
  return found;
}

/**
 * directives.md's entries with an example: { name, line, example, section,
 * context } where context is the "- Context:" line's text and section is 'provider', 'module' or 'location' (from the "## "
 * heading the entry is under).
 */
function directiveExamples() {
  const lines = fs.readFileSync(path.join(REPO, 'docs/directives.md'), 'utf8').split('\n');
  const out = [];
  let section;
  let name;
  let context;
  lines.forEach((l, i) => {
    if (/^## /.test(l)) {
      section = /FedAuthProvider/.test(l) ? 'provider'
        : /^## Module-wide/.test(l) ? 'module'
          : /^## Per location/.test(l) ? 'location' : undefined;
    }
    const h = /^### (\S+)/.exec(l);
    if (h) {
      name = h[1];
      context = undefined;
    }
    const c = /^- Context:\s*(.*)$/.exec(l);
    if (c) context = c[1];
    const ex = /^Example:\s*`([^`]+)`\s*$/.exec(l);
    if (ex) out.push({ name, line: i + 1, example: ex[1], section, context });
  });
  return out;
}

/**
 * What an entry's own text says the directive needs next to it, keyed by
 * the example's first two words (or its name alone).
 */
const NEEDS = {
  'TokenEndpointAuth private_key_jwt': ['ClientKeyFile /etc/apache2/fedauth/corp-key.pem'],
  ClientCertFile: ['ClientKeyFile /etc/apache2/fedauth/corp-key.pem'],
  'GroupsSource graph': ['GroupMap "app-admins" admin'],
  FedAuthAttemptStream: ['FedAuthSessionStore redis://127.0.0.1:6379/0'],
  FedAuthRedisCAFile: ['FedAuthSessionStore rediss://127.0.0.1:6380/0'],
  FedAuthRedisClientCert: ['FedAuthSessionStore rediss://127.0.0.1:6380/0',
    'FedAuthRedisClientKey /etc/apache2/redis-client.key'],
  FedAuthRedisClientKey: ['FedAuthSessionStore rediss://127.0.0.1:6380/0',
    'FedAuthRedisClientCert /etc/apache2/redis-client.pem'],
  FedAuthRedisServerName: ['FedAuthSessionStore rediss://127.0.0.1:6380/0'],
};

function needs({ name, example }) {
  const two = example.split(/\s+/).slice(0, 2).join(' ');
  return NEEDS[two] || NEEDS[name] || [];
}

/**
 * The contexts an entry's "- Context:" line names, as places to check its
 * example: 'main' (the section's own: inside a provider, module-wide, or
 * inside a <Location>), 'vhost', and for per-location directives
 * 'directory' and 'server' (directly in the server config). `refused`:
 * those of these the entry does not name, where apache2 -t must fail.
 */
function contexts(entry) {
  const ctx = entry.context || '';
  const places = ['main'];
  const refused = [];
  (/virtual host/.test(ctx) ? places : refused).push('vhost');
  if (entry.section === 'location') {
    (/directory/.test(ctx) ? places : refused).push('directory');
    (/server config/.test(ctx) ? places : refused).push('server');
  }
  return { places, refused };
}

const VHOST = (body) => `<VirtualHost 127.0.0.2:8080>\n    ServerName vhost.example\n${
  body.replace(/^(?=.)/gm, '    ')}</VirtualHost>\n`;

/** The config an entry's example is checked in, at `where` (contexts()). */
function exampleConfig(entry, where = 'main') {
  const { name, example, section } = entry;
  const extra = needs(entry);
  const ind = (ls) => ls.map((l) => `    ${l}\n`).join('');
  const inVhost = (body) => (where === 'vhost' ? VHOST(body) : body);
  if (section === 'provider') {
    const base = ['Issuer https://idp.example.com/realms/corp', 'ClientID my-app',
      'ClientSecret file:/etc/apache2/fedauth-corp.secret']
      .filter((l) => l.split(' ')[0].toLowerCase() !== name.toLowerCase());
    if (name === 'FedAuthProvider') {
      return adapt(inVhost(`${example}\n${ind(base)}</FedAuthProvider>\n`));
    }
    return adapt(inVhost(`<FedAuthProvider corp>\n${ind([...base, ...extra, example])}</FedAuthProvider>\n`));
  }
  if (section === 'module') {
    const secret = name === 'FedAuthSecret' ? [] : ['FedAuthSecret file:/etc/apache2/fedauth.secret'];
    return adapt(`${minimalProvider('corp')}${inVhost(`${[...secret, ...extra, example].join('\n')}\n`)}`);
  }
  const providers = providerIds(example).map(minimalProvider).join('');
  if (where === 'server' || where === 'vhost') {
    return adapt(`${providers}${inVhost(`${[...extra, example].join('\n')}\n`)}`);
  }
  const [open, close] = where === 'directory'
    ? ['<Directory "/srv/app">', '</Directory>'] : ['<Location /app>', '</Location>'];
  return adapt(`${providers}${open}\n`
    + `${ind(['AuthType FedAuth', 'Require valid-user', ...extra, example])}${close}\n`);
}

/** Lines of apache2 -t output that say what httpd or the module refused. */
function refusals(out) {
  const lines = out.split('\n');
  return lines.filter((l, i) => /Invalid command|is not a directive|AH00526|Syntax error|FA00307/i.test(l)
    || /AH00526/.test(lines[i - 1] || '')).join('\n');
}

async function check(text) {
  requireModule();
  const { dir, confFile } = await writeHttpdConfig({ providersConf: STOCK_MODULES + text });
  dirs.push(dir);
  const res = await configTest(confFile);
  return { res, out: `${res.stdout}${res.stderr}` };
}

function assertPasses({ res, out }, what, text) {
  assert.equal(res.code, 0, `apache2 -t refused ${what}:\n${refusals(out) || out}\n--- as checked:\n${text}`);
  assert.match(out, /Syntax OK/);
}

const BLOCKS = apacheBlocks();
const MARKS = new Set(['fragment', 'refused']);

describe('the manual\'s ```apache blocks pass apache2 -t', () => {
  it('the manual has apache blocks, every mark is known', () => {
    assert.ok(BLOCKS.length > 20, `only ${BLOCKS.length} apache blocks found`);
    const bad = BLOCKS.filter((b) => b.mark && !MARKS.has(b.mark));
    assert.deepEqual(bad.map((b) => `${b.file}:${b.line} ${b.mark}`), []);
  });

  it('every configuration example is a ```apache block (so that it is checked)', () => {
    assert.deepEqual(configOutsideApacheBlocks(), []);
  });

  // httpd has no comments after a directive: "Scopes openid # note" would
  // pass -t with "#" and "note" as scopes. A '#' after a blank, outside
  // quotes, on a line that is not itself a comment, is one.
  it('no block puts a comment after a directive', () => {
    const found = BLOCKS.flatMap((b) => b.text.split('\n')
      .map((l, i) => ({ l, where: `${b.file}:${b.line + 1 + i}` }))
      .filter(({ l }) => !/^\s*#/.test(l) && /\s#(\s|$)/.test(l.replace(/"[^"]*"/g, '""'))))
      .map(({ l, where }) => `${where}: ${l.trim()}`);
    assert.deepEqual(found, [], 'httpd reads these comments as arguments');
  });

  for (const block of BLOCKS) {
    const where = `${block.file}:${block.line}`;
    if (block.mark === 'fragment') {
      it(`${where}: marked fragment, not checked`, { skip: 'a deliberate fragment' }, () => {});
      continue;
    }
    if (block.mark === 'refused') {
      it(`${where}: refused, as the text says`, async () => {
        const text = standalone(block.text);
        const { res, out } = await check(text);
        assert.notEqual(res.code, 0, `apache2 -t accepted ${where}, which the manual shows as refused:\n${out}\n--- as checked:\n${text}`);
        assert.doesNotMatch(out, /Syntax OK/);
      });
      continue;
    }
    it(`${where}: as written`, async () => {
      const text = standalone(block.text);
      assertPasses(await check(text), where, text);
    });
    if (hasCommented(block.text)) {
      it(`${where}: with its "#Directive" lines enabled`, async () => {
        const text = standalone(enableCommented(block.text));
        assertPasses(await check(text), `${where} with its "#Directive" lines enabled`, text);
      });
    }
  }
});

describe('docs/directives.md: every "Example:" passes apache2 -t in its context', () => {
  const entries = directiveExamples();

  it('every entry has a section and an example', () => {
    const headings = fs.readFileSync(path.join(REPO, 'docs/directives.md'), 'utf8')
      .match(/^### \S+/gm).length;
    assert.equal(entries.length, headings, 'an entry without an "Example:" line');
    assert.deepEqual(entries.filter((e) => !e.section).map((e) => e.name), []);
  });

  for (const entry of entries) {
    const { places, refused } = contexts(entry);
    for (const where of places) {
      const label = where === 'main' ? '' : ` (${where})`;
      it(`docs/directives.md:${entry.line}: ${entry.example}${label}`, async () => {
        const text = exampleConfig(entry, where);
        assertPasses(await check(text), `docs/directives.md:${entry.line} (${entry.name}) in ${where}`, text);
      });
    }
    for (const where of refused) {
      it(`docs/directives.md:${entry.line}: ${entry.example} refused in ${where}, as Context says`, async () => {
        const text = exampleConfig(entry, where);
        const { res, out } = await check(text);
        assert.notEqual(res.code, 0, `apache2 -t accepted ${entry.name} in ${where}; its Context is "${entry.context}":\n${text}`);
        assert.doesNotMatch(out, /Syntax OK/);
      });
    }
  }
});
