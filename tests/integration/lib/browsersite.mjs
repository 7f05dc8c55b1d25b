// What the end-to-end browser tests share: the checks that one can run
// here, the local IdPs of tests/idp (okta1.json, okta2.json) as
// connections of an httpd, and a headless Chromium whose contexts are all
// closed with it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';

import { browserUnavailable, launchBrowser } from './browser.mjs';
import { IDP_DIR, startOp, writeSecretFile } from './idp.mjs';
import { MODULE_SO, ORGCTL } from './paths.mjs';

// Fails (saying what is missing) unless Chromium, the IdPs, the module
// and orgctl are all there.
export async function assertBrowserReady() {
  const missing = await browserUnavailable();
  assert.equal(missing, null, `${missing} (scripts/setup.sh installs it)`);
  assert.ok(fs.existsSync(MODULE_SO), `module not built: ${MODULE_SO} (set BUILD_DIR)`);
  assert.ok(fs.existsSync(ORGCTL), `orgctl not built: ${ORGCTL} (set BUILD_DIR)`);
}

const DISPLAY = { okta1: 'Okta of Org One', okta2: 'Okta of Org Two' };

// Starts the IdP name (okta1 or okta2, with its users of tests/idp/NAME.json;
// opts go to startOp) and makes it connection name of h: the OP.
export async function startTestIdp(h, name, opts = {}) {
  const op = await startOp({ name, config: join(IDP_DIR, `${name}.json`), redirectUri: h.url('/orgs/callback'), ...opts });
  await h.orgctlOk(
    'conn', 'create', op.name,
    '--issuer', op.issuer,
    '--client-id', op.clientId,
    '--client-secret-file', writeSecretFile(h.confDir, op.name, op.clientSecret),
    '--auth-method', op.authMethod,
    '--display-name', DISPLAY[name],
  );
  return op;
}

// A headless Chromium: launch(), then newPage(opts) for a fresh context
// (no cookies, no IdP session; opts go to newContext) with 15 s timeouts;
// close() closes every context and the browser.
export function browserPages() {
  let browser = null;
  const contexts = [];
  return {
    async launch() {
      browser = await launchBrowser();
    },
    async newPage(opts = {}) {
      const ctx = await browser.newContext(opts);
      contexts.push(ctx);
      ctx.setDefaultTimeout(15000);
      ctx.setDefaultNavigationTimeout(15000);
      return { ctx, page: await ctx.newPage() };
    },
    async close() {
      for (const ctx of contexts) await ctx.close().catch(() => {});
      await browser?.close().catch(() => {});
    },
  };
}
