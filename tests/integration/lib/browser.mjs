// A real browser for end-to-end login tests: Debian's Chromium driven by
// playwright-core (no browser download; CHROMIUM overrides the binary), and
// a starter for the local OpenID Providers (tests/idp/op.mjs) on free ports.
//
//   const browser = await launchBrowser();
//   const ctx = await browser.newContext();     // fresh cookies per scenario
//   const page = await ctx.newPage();
//   ...
//   await browser.close();                       // always, in finally / after()
//
//   const okta1 = await startOP('okta1', { redirectUri: h.url('/orgs/callback') });
//   okta1.issuer; okta1.client; await okta1.stop();
import fs from 'node:fs';
import { join } from 'node:path';

import { SRC_DIR } from './paths.mjs';
import { spawnTracked, stopProcess } from './proc.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const IDP_DIR = join(SRC_DIR, 'tests/idp');

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

// Starts tests/idp/op.mjs with tests/idp/NAME.json on a free port, its
// clients registered with redirectUri. Resolves once it printed READY:
// { name, issuer, port, client: {client_id, client_secret, auth_method},
//   users, child, stop() }.
export async function startOP(name, { redirectUri, extraArgs = [], timeoutMs = 20000 } = {}) {
  const configFile = join(IDP_DIR, `${name}.json`);
  const cfg = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  const args = [join(IDP_DIR, 'op.mjs'), '--config', configFile, '--port', '0', '--quiet'];
  if (redirectUri) args.push('--redirect-uri', redirectUri);
  args.push(...extraArgs);
  const child = spawnTracked(process.execPath, args, { cwd: IDP_DIR });
  const stop = () => stopProcess(child, { signal: 'SIGTERM', timeoutMs: 10000 });
  let issuer;
  try {
    issuer = await new Promise((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(
        () => reject(new Error(`${name} not READY after ${timeoutMs} ms:\n${child.output}`)),
        timeoutMs,
      );
      child.stdout.on('data', (d) => {
        buf += d;
        const m = buf.match(/^READY (\S+)\s*$/m);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${name} exited before READY:\n${child.output}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  const c = cfg.clients[0];
  return {
    name,
    issuer,
    port: Number(new URL(issuer).port),
    client: {
      client_id: c.client_id,
      client_secret: c.client_secret,
      auth_method: c.token_endpoint_auth_method,
    },
    users: cfg.users || [],
    child,
    stop,
  };
}
