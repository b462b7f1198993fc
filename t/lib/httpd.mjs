// SPDX-License-Identifier: Apache-2.0
// Start / stop a real Apache httpd 2.4 with mod_fedauth in a temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { freePort, waitForPort } from './ports.mjs';
import { spawnTracked, stopChild, isRunning } from './procs.mjs';
import { TSAN_REPORT, tsanOurs } from './errorlog.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../..');
export const FIXTURES = path.resolve(here, '../fixtures');
export const APACHE = process.env.APACHE2 || '/usr/sbin/apache2';
export const MODULES_DIR = process.env.APACHE_MODULES_DIR || '/usr/lib/apache2/modules';

const BASE_MODULES = [
  'mpm_event', 'authz_core', 'authn_core', 'authz_user', 'mime', 'dir', 'alias',
  'cgid', 'env', 'headers', 'setenvif', 'log_config', 'socache_shmcb', 'proxy',
  'proxy_http', 'unixd',
];

/** Path of the module under test: $FEDAUTH_MODULE or <repo>/.libs/mod_fedauth.so. */
export function modulePath() {
  return process.env.FEDAUTH_MODULE || path.join(REPO, '.libs', 'mod_fedauth.so');
}

export const moduleBuilt = () => fs.existsSync(modulePath());

/** Throws a clear error when the module has not been built. */
export function requireModule() {
  if (!moduleBuilt()) {
    throw new Error(`mod_fedauth not built: ${modulePath()} is missing (run make at the repo root, or set FEDAUTH_MODULE)`);
  }
}

/**
 * Environment for apache2 when the module is a sanitizer build
 * (FEDAUTH_SANITIZED=1, or the module links libasan; FEDAUTH_TSAN=1, or
 * it links libtsan): the sanitizer runtimes must be preloaded into httpd,
 * which is not instrumented itself. Reports go to stderr, which httpd
 * sends to the error log (children) or to stdout-stderr.log (parent).
 */
let sanitizerEnvCache;
export function sanitizerEnv(module = modulePath()) {
  if (sanitizerEnvCache && sanitizerEnvCache.module === module) return sanitizerEnvCache.env;
  let env = {};
  let ldd = '';
  try { ldd = execFileSync('ldd', [module], { encoding: 'utf8', timeout: 5000 }); } catch { /* not built */ }
  const lib = (name) => {
    const m = new RegExp(`(\\S*${name}\\.so[^\\s]*) => (\\S+)`).exec(ldd);
    if (m && fs.existsSync(m[2])) return m[2];
    try {
      const p = execFileSync('gcc', [`-print-file-name=${name}.so`], { encoding: 'utf8', timeout: 5000 }).trim();
      return p && p !== `${name}.so` && fs.existsSync(p) ? p : null;
    } catch { return null; }
  };
  if (process.env.FEDAUTH_TSAN === '1' || /libtsan/.test(ldd)) {
    env = {
      LD_PRELOAD: lib('libtsan') || '',
      // Reports do not stop httpd nor change its exit status: they are
      // found in its output when it stops (tsanCheck below).
      TSAN_OPTIONS: process.env.FEDAUTH_TSAN_OPTIONS || [
        'halt_on_error=0', 'exitcode=0', 'report_signal_unsafe=0',
        `suppressions=${TSAN_SUPPRESSIONS}`,
      ].join(' '),
    };
  }
  else if (process.env.FEDAUTH_SANITIZED === '1' || /libasan|libubsan/.test(ldd)) {
    const preload = [lib('libasan'), lib('libubsan')].filter(Boolean);
    env = {
      LD_PRELOAD: preload.join(' '),
      ASAN_OPTIONS: process.env.FEDAUTH_ASAN_OPTIONS || 'detect_leaks=0:halt_on_error=1:abort_on_error=0:detect_odr_violation=0:verify_asan_link_order=0',
      UBSAN_OPTIONS: process.env.FEDAUTH_UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=0',
    };
  }
  sanitizerEnvCache = { module, env };
  return env;
}

/** Reports of system libraries that are not ours (each with its reason). */
export const TSAN_SUPPRESSIONS = path.join(REPO, 't', 'tsan.supp');

/*
 * ThreadSanitizer reports in the output of every httpd this test file
 * started: each httpd's logs are read once it stops (or its dir is
 * removed), and a file with any report fails as a whole, whatever its
 * tests asserted (the process exits 1 and prints the reports), so a race
 * that shows only at shutdown, or in a file that checks no log, is not
 * missed. Tests that check troubles() fail on them too (errorlog.mjs).
 */
const tsanReports = [];
export function tsanFound(text) {
  return (String(text || '').match(TSAN_REPORT) || []).filter(tsanOurs);
}
function tsanCheck(h) {
  if (h.tsanChecked || !/libtsan/.test(sanitizerEnv(h.module).LD_PRELOAD || '')) return;
  h.tsanChecked = true;
  for (const r of tsanFound(h.allLogs())) tsanReports.push(`httpd in ${h.dir}:\n${r}`);
}
process.on('exit', () => {
  if (!tsanReports.length) return;
  const text = `${tsanReports.length} ThreadSanitizer report(s) in ${process.argv[1]}:\n`
    + `${tsanReports.map((r) => r.split('\n').slice(0, 60).join('\n')).join('\n')}\n`;
  process.stderr.write(text);
  // FEDAUTH_TSAN_REPORTS: a file that collects them (build/test.sh)
  if (process.env.FEDAUTH_TSAN_REPORTS) {
    try { fs.appendFileSync(process.env.FEDAUTH_TSAN_REPORTS, text); } catch { /* shown above */ }
  }
  process.exitCode = 1;
});

function userGroupLines() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return '';
  const has = (file, name) => {
    try { return fs.readFileSync(file, 'utf8').split('\n').some((l) => l.startsWith(`${name}:`)); } catch { return false; }
  };
  const user = has('/etc/passwd', 'www-data') ? 'www-data' : (has('/etc/passwd', 'nobody') ? 'nobody' : null);
  const group = has('/etc/group', 'www-data') ? 'www-data' : (has('/etc/group', 'nogroup') ? 'nogroup' : null);
  return [user && `User ${user}`, group && `Group ${group}`].filter(Boolean).join('\n');
}

function copyDir(src, dst, mode) {
  fs.mkdirSync(dst, { recursive: true, mode: 0o755 });
  if (!fs.existsSync(src)) return;
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, e.name);
    const d = path.join(dst, e.name);
    if (e.isDirectory()) copyDir(s, d, mode);
    else {
      fs.copyFileSync(s, d);
      fs.chmodSync(d, mode ?? 0o644);
    }
  }
}

/**
 * Build the httpd.conf text for a server in `dir` listening on `port`.
 * Exported so config-error tests can produce the same base config.
 */
export function buildConfig({ dir, port, providersConf = '', locationsConf = '', extraConf = '', module = modulePath(), loadModule = true }) {
  // <IfModule !…>: some (log_config, unixd) are compiled into Debian's httpd.
  const lm = (name) => `<IfModule !${name}_module>\n    LoadModule ${name}_module ${MODULES_DIR}/mod_${name}.so\n</IfModule>`;
  return `# generated by t/lib/httpd.mjs
ServerRoot "${dir}"
Listen 127.0.0.1:${port}
ServerName 127.0.0.1:${port}
PidFile "${dir}/httpd.pid"
ErrorLog "${dir}/error.log"
DefaultRuntimeDir "${dir}"
Mutex file:${dir} default
${BASE_MODULES.map(lm).join('\n')}
${loadModule ? `LoadModule fedauth_module "${module}"
LogLevel warn fedauth:debug` : 'LogLevel warn'}
${userGroupLines()}

<IfModule mpm_event_module>
    StartServers 2
    ServerLimit 4
    MinSpareThreads 5
    # A child whose threads are all busy closes its idle keep-alive
    # connections, under a client about to reuse one ("other side closed"),
    # and so does a child stopped for being idle: threads enough for the
    # tests' bursts (12 at once in one child, 40 over two), and no child
    # stopped.
    MaxSpareThreads 100
    ThreadsPerChild 25
    ThreadLimit 25
    MaxRequestWorkers 100
    MaxConnectionsPerChild 0
</IfModule>
Timeout 30
KeepAlive On
KeepAliveTimeout 5
GracefulShutdownTimeout 3
# a crash leaves a core here, and errorLog() shows its backtrace
CoreDumpDirectory "${dir}/cores"

LogFormat "%h %l %u %t \\"%r\\" %>s %b pid=%P" common
CustomLog "${dir}/access.log" common
TypesConfig /etc/mime.types
ScriptSock "${dir}/cgisock"

DocumentRoot "${dir}/htdocs"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "${dir}/htdocs">
    Options None
    AllowOverride None
    Require all granted
</Directory>
ScriptAlias /cgi-bin/ "${dir}/cgi-bin/"
ScriptAlias /protected/ "${dir}/cgi-bin/"
ScriptAliasMatch "^/p/([a-z0-9_-]+)/(.*)$" "${dir}/cgi-bin/$2"
<Directory "${dir}/cgi-bin">
    Options +ExecCGI
    AllowOverride None
    Require all granted
</Directory>

# ---- providers
${providersConf}

# ---- locations
${locationsConf}

# ---- extra
${extraConf}
`;
}

function prepareDir({ dir }) {
  fs.chmodSync(dir, 0o755);
  // writable by httpd's User (CoreDumpDirectory)
  fs.mkdirSync(path.join(dir, 'cores'), { mode: 0o777 });
  fs.chmodSync(path.join(dir, 'cores'), 0o777);
  copyDir(path.join(FIXTURES, 'htdocs'), path.join(dir, 'htdocs'), 0o644);
  copyDir(path.join(FIXTURES, 'cgi'), path.join(dir, 'cgi-bin'), 0o755);
}

/** Runs `apache2 -t -f <conf>`; resolves { code, stdout, stderr } (bounded). */
export function configTest(confFile, timeoutMs = 15000) {
  return new Promise((resolve) => {
    const env = { ...process.env, LANG: 'C', ...sanitizerEnv() };
    execFile(APACHE, ['-t', '-f', confFile], { timeout: timeoutMs, env }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr), killed: !!err?.killed });
    });
  });
}

/**
 * Write a config into a fresh temp dir without starting httpd.
 * Returns { dir, port, confFile }.
 */
export async function writeHttpdConfig(opts = {}) {
  const dir = makeTmpDir('httpd');
  prepareDir({ dir });
  const port = opts.port || await freePort();
  const confFile = path.join(dir, 'httpd.conf');
  const text = typeof opts.configText === 'function'
    ? opts.configText({ dir, port })
    : buildConfig({ dir, port, ...opts, module: opts.modulePath || modulePath() });
  fs.writeFileSync(confFile, text);
  return { dir, port, confFile };
}

/**
 * startHttpd({ providersConf, locationsConf, extraConf, modulePath, port }) ->
 *   { base, port, dir, confFile, pid, errorLog(), accessLog(), stop(), running() }
 * providersConf / locationsConf / extraConf may be strings or functions
 * ({ dir, port, base }) => string.
 */
export async function startHttpd(opts = {}) {
  const dir = makeTmpDir('httpd');
  prepareDir({ dir });
  const port = opts.port || await freePort();
  const base = `http://127.0.0.1:${port}`;
  const resolveText = (v) => (typeof v === 'function' ? v({ dir, port, base }) : (v || ''));
  const confFile = path.join(dir, 'httpd.conf');
  fs.writeFileSync(confFile, buildConfig({
    dir,
    port,
    providersConf: resolveText(opts.providersConf),
    locationsConf: resolveText(opts.locationsConf),
    extraConf: resolveText(opts.extraConf),
    module: opts.modulePath || modulePath(),
    loadModule: opts.loadModule !== false,
  }));

  const errorLogFile = path.join(dir, 'error.log');
  const outFile = path.join(dir, 'stdout-stderr.log');
  const outFd = fs.openSync(outFile, 'a');
  // Own process group, so that a last-resort kill can reach the children
  // too; core dumps allowed (see coreTraces). The sanitizer runtime is
  // preloaded into httpd only: the shell (dash) crashes under libtsan.
  const { LD_PRELOAD: preload, ...sanEnv } = sanitizerEnv(opts.modulePath || modulePath());
  const sh = 'ulimit -c unlimited 2>/dev/null; '
    + '[ -z "$FEDAUTH_HTTPD_PRELOAD" ] || export LD_PRELOAD="$FEDAUTH_HTTPD_PRELOAD"; exec "$0" "$@"';
  const child = spawnTracked('/bin/sh', ['-c', sh, APACHE, '-f', confFile, '-DFOREGROUND'], {
    stdio: ['ignore', outFd, outFd],
    group: true,
    env: { ...process.env, LANG: 'C', ...sanEnv, FEDAUTH_HTTPD_PRELOAD: preload || '' },
  });
  fs.closeSync(outFd);

  const read = (f) => { try { return fs.readFileSync(f, 'utf8'); } catch { return ''; } };
  const up = await waitForPort(port, opts.startTimeoutMs || 15000, () => isRunning(child));
  if (!up) {
    await stopHttpdChild(child);
    const msg = `httpd did not start on ${base}\n--- stdout/stderr:\n${read(outFile)}\n--- error.log:\n${read(errorLogFile)}`;
    removeDir(dir);
    throw new Error(msg);
  }
  // httpd binds its port before the modules' post_config runs, so a
  // client can connect before the start-up log lines (the module's own
  // warnings among them) are written. AH00489 ("resuming normal
  // operations", a notice, which httpd logs whatever the LogLevel) comes
  // after every post_config: wait for it, bounded.
  for (let i = 0; i < 500 && isRunning(child) && !/AH00489/.test(read(errorLogFile)); i++) {
    await new Promise((r) => { setTimeout(r, 20); });
  }
  const h = {
    base,
    port,
    dir,
    confFile,
    module: opts.modulePath || modulePath(),
    pid: child.pid,
    child,
    running: () => isRunning(child),
    errorLog: () => read(errorLogFile) + coreTraces(dir),
    /** error.log plus httpd's own stdout/stderr (sanitizer reports of the parent). */
    allLogs: () => `${read(errorLogFile)}\n${read(outFile)}${coreTraces(dir)}`,
    accessLog: () => read(path.join(dir, 'access.log')),
    /**
     * httpd writes a request's access log line after the response has gone
     * out, so a test that has just read the answer may not find it yet: wait
     * (bounded, 3 s) until pred(log) holds, and return the log either way.
     */
    accessLogWhen: async (pred) => {
      let log = read(path.join(dir, 'access.log'));
      for (let i = 0; i < 120 && !pred(log); i++) {
        await new Promise((r) => { setTimeout(r, 25); });
        log = read(path.join(dir, 'access.log'));
      }
      return log;
    },
    output: () => read(outFile),
    stop: async () => {
      const info = await stopHttpdChild(child);
      tsanCheck(h);
      return info;
    },
    /** Remove the temp dir (kept when FEDAUTH_KEEP_TMP is set). */
    cleanup: () => {
      tsanCheck(h);
      removeDir(dir);
    },
  };
  return h;
}

/**
 * Backtraces (gdb, best effort) of the core files a crashed httpd process
 * left in <dir>/cores, as lines "core dump <file>: #0 ..." (which the error
 * log checks count as trouble), after a newline; '' when there are none.
 */
const traced = new Map();
function coreTraces(dir) {
  let files = [];
  try { files = fs.readdirSync(path.join(dir, 'cores')).filter((f) => f.startsWith('core')); } catch { return ''; }
  const out = files.map((f) => {
    const file = path.join(dir, 'cores', f);
    if (!traced.has(file)) {
      let text = '';
      try {
        text = execFileSync('gdb', ['-batch', '-nx', '-ex', 'bt 30', APACHE, file], {
          encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'],
        });
      } catch (e) {
        text = String(e.stdout || '') || `gdb: ${e.message}`;
      }
      const frames = text.split('\n').filter((l) => /^#\d|^gdb:/.test(l));
      traced.set(file, (frames.length ? frames : ['(no backtrace)']).map((l) => `core dump ${f}: ${l}`).join('\n'));
    }
    return traced.get(file);
  });
  return out.length ? `\n${out.join('\n')}` : '';
}

/** rm -rf a harness temp dir unless FEDAUTH_KEEP_TMP is set. */
export function removeDir(dir) {
  if (process.env.FEDAUTH_KEEP_TMP || !dir || !path.basename(dir).startsWith('fedauth-')) return;
  try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ }
  tmpDirs.delete(dir);
}

/** A fresh temp dir (mode 0755; under base, os.tmpdir() by default),
 * removed at process exit at the latest. */
const tmpDirs = new Set();
process.on('exit', () => { for (const d of [...tmpDirs]) removeDir(d); });
export function makeTmpDir(kind, mode = 0o755, base = os.tmpdir()) {
  const dir = fs.mkdtempSync(path.join(base, `fedauth-${kind}-`));
  fs.chmodSync(dir, mode);
  tmpDirs.add(dir);
  return dir;
}

async function stopHttpdChild(child) {
  // A graceful stop (SIGWINCH, `apachectl graceful-stop`): requests in
  // flight finish, then the children exit. A plain SIGTERM makes each
  // child close its workers' sockets from another thread, and httpd's
  // event MPM can then read a socket a worker has just freed: a
  // segfault in apr_os_sock_get that is httpd's own race, not ours (seen
  // once in CI, in 210). GracefulShutdownTimeout 3 bounds the wait; the
  // SIGTERM path stays as the fallback, then SIGKILL of the group.
  if (isRunning(child)) {
    try { process.kill(child.pid, 'SIGWINCH'); } catch { /* already gone */ }
    const t = (ms) => new Promise((r) => { setTimeout(() => r('timeout'), ms).unref(); });
    if (await Promise.race([child.exited, t(6000)]) !== 'timeout') return child.exitInfo;
  }
  return stopChild(child, 8000);
}
