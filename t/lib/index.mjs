// SPDX-License-Identifier: Apache-2.0
// The integration-test harness, one import.
export { freePort, waitForPort } from './ports.mjs';
export { sleep, stopChild } from './procs.mjs';
export {
  startIdp, defaultUsers, clientFor, testUser, IDP_SERVER,
} from './idp.mjs';
export {
  startHttpd, writeHttpdConfig, buildConfig, configTest, modulePath, moduleBuilt,
  requireModule, removeDir, REPO, FIXTURES, APACHE,
} from './httpd.mjs';
export {
  Browser, CookieJar, parseSetCookie, parseForm, parseAutoPostForm, decodeEntities,
} from './browser.mjs';
export { checkErrorLog, TROUBLE } from './errorlog.mjs';
export * from './fedauth.mjs';
export { startSite, perProviderLocations } from './site.mjs';
export { sanitizerEnv, tsanFound } from './httpd.mjs';
export {
  USERS_A, USERS_B, ANNA, BRUNO, locationFor, metaOf, assertToIdp, assertToChooser,
} from './multi.mjs';
