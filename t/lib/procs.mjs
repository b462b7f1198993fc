// SPDX-License-Identifier: Apache-2.0
// Child processes started by the harness: stopped by PID, bounded waits,
// and a last-resort stop of whatever is left when the test process exits
// or is told to stop (the test runner SIGTERMs a file it cancels).
import { spawn } from 'node:child_process';

const live = new Set();

/**
 * Last resort, synchronous (process 'exit'): SIGTERM to each child's PID,
 * and to the whole process group of a child that leads one (httpd: its
 * parent may be too young to have registered its cgid daemon, which would
 * be orphaned). No SIGKILL: httpd's parent stops its own workers.
 */
function termAll() {
  for (const child of live) {
    try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ }
    if (child.isGroup) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    }
  }
}
process.on('exit', termAll);

let stoppingAll = false;
async function stopAllAndExit(signal) {
  if (stoppingAll) return;
  stoppingAll = true;
  const t = new Promise((r) => { setTimeout(r, 8000).unref(); });
  await Promise.race([Promise.all([...live].map((c) => stopChild(c, 5000))), t]);
  process.exit(signal === 'SIGINT' ? 130 : 143);
}
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.once(sig, () => { stopAllAndExit(sig); });
}

/**
 * spawn() that remembers the child until it exits. opts.group: the child
 * leads its own process group (detached), which stopChild() ends as a
 * whole if the leader has to be SIGKILLed.
 */
export function spawnTracked(cmd, args, opts = {}) {
  const { group, ...spawnOpts } = opts;
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: !!group, ...spawnOpts });
  child.isGroup = !!group;
  live.add(child);
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      child.exitInfo = { code, signal };
      resolve(child.exitInfo);
    });
    child.once('error', (err) => {
      live.delete(child);
      child.exitInfo = { code: null, signal: null, error: err };
      resolve(child.exitInfo);
    });
  });
  return child;
}

export const isRunning = (child) => !!child && child.exitInfo === undefined;

/**
 * SIGTERM (or `signal`) the child's PID, wait up to graceMs, then SIGKILL it
 * (and its process group when it leads one) and wait again (bounded).
 */
export async function stopChild(child, graceMs = 5000, signal = 'SIGTERM') {
  if (!child) return undefined;
  if (isRunning(child)) {
    try { process.kill(child.pid, signal); } catch { /* already gone */ }
    const t = (ms) => new Promise((r) => { setTimeout(() => r('timeout'), ms).unref(); });
    if (await Promise.race([child.exited, t(graceMs)]) === 'timeout') {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
      await Promise.race([child.exited, t(5000)]);
      child.killedHard = true;
    }
  }
  if (child.isGroup && child.killedHard) {
    // the leader was SIGKILLed: end what is left of the group we created
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* none left */ }
  }
  return child.exitInfo;
}

export const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
