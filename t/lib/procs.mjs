// Child processes started by the harness: stopped by PID, bounded waits,
// and a last-resort SIGKILL of whatever is left when the test process exits.
import { spawn } from 'node:child_process';

const live = new Set();

process.on('exit', () => {
  for (const child of live) {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

/** spawn() that remembers the child until it exits. */
export function spawnTracked(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
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

/** SIGTERM the child's PID, wait up to graceMs, then SIGKILL and wait again (bounded). */
export async function stopChild(child, graceMs = 5000) {
  if (!child || !isRunning(child)) return child?.exitInfo;
  try { process.kill(child.pid, 'SIGTERM'); } catch { /* already gone */ }
  const t = (ms) => new Promise((r) => { setTimeout(() => r('timeout'), ms).unref(); });
  if (await Promise.race([child.exited, t(graceMs)]) === 'timeout') {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
    await Promise.race([child.exited, t(5000)]);
  }
  return child.exitInfo;
}

export const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
