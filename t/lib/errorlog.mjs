// SPDX-License-Identifier: Apache-2.0
// Spot trouble in an httpd error log.

export const TROUBLE = [
  /segfault/i,
  /Segmentation fault/i,
  /exit signal/i,
  /\bAH00052\b/,          // child pid N exit signal ...
  /child pid \d+/i,
  /\[core:error\]/,
  /\[core:crit\]/,
  /\[core:alert\]/,
  /\[core:emerg\]/,
  /Assertion/,
  /AddressSanitizer/,
  /LeakSanitizer/,
  /runtime error/,        // UBSan
  /ThreadSanitizer/,      // a TSan build's report (t/lib/httpd.mjs)
  /double free|free\(\): invalid|malloc\(\): /i,
  /stack smashing/i,
  /\bAH00060\b/,          // seg fault or similar nasty error detected in the parent
  /\bAH00051\b/,          // child pid exit signal (older)
  /scoreboard is full/i,
  /\bAH00484\b/,          // server reached MaxRequestWorkers
  /^core dump /,          // a backtrace from a core file (t/lib/httpd.mjs)
];

/** One ThreadSanitizer report, whole (from WARNING to its SUMMARY). */
export const TSAN_REPORT = /WARNING: ThreadSanitizer[\s\S]*?(SUMMARY: ThreadSanitizer[^\n]*|$)/g;

/**
 * 1 when a ThreadSanitizer report involves the module: one of its frames,
 * its files, its shared memory or a mutex it made. httpd and APR are not
 * instrumented, so TSan cannot see how the event MPM hands a pool or a
 * brigade from one thread to the next, and now and then reports a race
 * whose every frame is in libapr or libaprutil, called from httpd. Such
 * a report is not the module's (a call from the module into APR would
 * show the module's frame, as its functions are instrumented): it is not
 * trouble. Every report that names the module is.
 */
export function tsanOurs(report) {
  return /fedauth|\bfa_[a-z0-9_]+\.c\b/.test(report);
}

/**
 * Lines of `text` that look like trouble (crashes, sanitizer reports, core
 * errors), minus those matching any of `allowedPatterns` (RegExp or string).
 * ThreadSanitizer reports inside httpd and APR alone are left out (tsanOurs).
 */
export function checkErrorLog(text, allowedPatterns = []) {
  const allowed = allowedPatterns.map((p) => (p instanceof RegExp ? p : new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))));
  return String(text || '')
    .replace(TSAN_REPORT, (r) => (tsanOurs(r) ? r : ''))
    .split('\n')
    .filter((l) => l.trim())
    .filter((l) => TROUBLE.some((re) => re.test(l)))
    .filter((l) => !allowed.some((re) => re.test(l)));
}
