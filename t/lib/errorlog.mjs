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

/**
 * Lines of `text` that look like trouble (crashes, sanitizer reports, core
 * errors), minus those matching any of `allowedPatterns` (RegExp or string).
 */
export function checkErrorLog(text, allowedPatterns = []) {
  const allowed = allowedPatterns.map((p) => (p instanceof RegExp ? p : new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))));
  return String(text || '')
    .split('\n')
    .filter((l) => l.trim())
    .filter((l) => TROUBLE.some((re) => re.test(l)))
    .filter((l) => !allowed.some((re) => re.test(l)));
}
