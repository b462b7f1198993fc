// SPDX-License-Identifier: Apache-2.0
// Headless Chromium for the real-browser tests (playwright-core): one
// launch and one close, every step bounded, and whatever still runs with
// the test's own profile directory ended by PID.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const STEP_MS = 20000;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

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
 * A persistent context in a fresh profile dir: { context, page,
 * userDataDir }. args: more command-line switches; options: more
 * launchPersistentContext options (e.g. viewport).
 */
export async function launchChromium({ args = [], options = {} } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedauth-chromium-'));
  const context = await bounded(chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...ARGS, ...args],
    timeout: STEP_MS,
    ...options,
  }), STEP_MS + 5000, 'launch Chromium');
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  const page = context.pages()[0] || await context.newPage();
  return { context, page, userDataDir };
}

/** Close what launchChromium started, by PID where closing hangs. */
export async function closeChromium({ context, userDataDir } = {}) {
  try {
    if (context) await bounded(context.close(), STEP_MS, 'close Chromium');
  } catch (e) {
    process.stderr.write(`closing Chromium: ${e.message}\n`);
  }
  for (const pid of chromiumPids(userDataDir)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
}
