// Headless Chromium through playwright-core for the browser tests
// (190-browser-chooser, 392-status-browser): the binary and flags, a bound
// on every step, and the processes of one launch found by its profile dir
// so that whatever a failed launch or close leaves behind is ended by PID.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
export const STEP_MS = 20000;

/** A promise that rejects after ms: every browser step is bounded. */
export function bounded(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** PIDs of the processes whose command line contains `marker` (our user data dir). */
export function chromiumPids(marker) {
  if (!marker) return [];
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker)) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

/**
 * Launches Chromium with a fresh profile dir: { context, page, close() };
 * close() ends the browser (bounded), kills by PID whatever still runs with
 * that profile and removes it. `chromium` is playwright-core's.
 */
export async function launchChromium(chromium, { viewport = { width: 800, height: 600 } } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-chromium-'));
  const b = { userDataDir, context: null, page: null };
  b.close = async () => {
    try {
      if (b.context) await bounded(b.context.close(), STEP_MS, 'close Chromium');
    } catch (e) {
      process.stderr.write(`closing Chromium: ${e.message}\n`);
    }
    for (const pid of chromiumPids(userDataDir)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  try {
    b.context = await bounded(chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: STEP_MS, viewport,
    }), STEP_MS + 5000, 'launch Chromium');
    b.context.setDefaultTimeout(STEP_MS);
    b.context.setDefaultNavigationTimeout(STEP_MS);
    b.page = b.context.pages()[0] || await b.context.newPage();
  } catch (e) {
    await b.close();
    throw e;
  }
  return b;
}
