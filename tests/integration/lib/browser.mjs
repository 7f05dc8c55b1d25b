// A real browser for end-to-end login tests: Debian's Chromium driven by
// playwright-core (no browser download; CHROMIUM overrides the binary).
// The OpenID Providers come from lib/idp.mjs.
//
//   const browser = await launchBrowser();
//   const ctx = await browser.newContext();     // fresh cookies per scenario
//   const page = await ctx.newPage();
//   ...
//   await browser.close();                       // always, in finally / after()
import fs from 'node:fs';
import { join } from 'node:path';

import { IDP_DIR } from './idp.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Why a browser test cannot run here, or null when it can.
export async function browserUnavailable() {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}`;
  try {
    await import('playwright-core');
  } catch (e) {
    return `playwright-core is not installed (npm ci in tests/integration): ${e.message}`;
  }
  if (!fs.existsSync(join(IDP_DIR, 'node_modules'))) {
    return `the OpenID Providers are not installed (npm ci in ${IDP_DIR})`;
  }
  return null;
}

// Launches headless Chromium; playwright-core gives it a fresh temporary
// profile and removes it again on browser.close().
export async function launchBrowser({ timeoutMs = 30000 } = {}) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: timeoutMs,
  });
}
