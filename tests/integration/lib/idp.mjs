// Local OpenID Providers (tests/idp/op.mjs) for the integration tests:
// each on a free loopback port, registered with the httpd's redirect URI,
// started and stopped by PID.
//
//   const op = await startOp({
//     name: 'okta1',
//     redirectUri: `${h.baseURL}/orgs/callback`,
//     users: [{ email: 'alice@org1.example.com', password: 'password', sub: 'okta1-alice' }],
//   });
//   op.issuer, op.clientId, op.clientSecret, op.port, op.authMethod
//   await op.addUsers([{ email: 'new@org1.example.com', password: 'pw' }]);
//   await op.stop();            // SIGTERM by PID, waits for the exit
//
// Every OP started here is also stopped when the test process exits.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { join } from 'node:path';

import { SRC_DIR } from './paths.mjs';
import { spawnTracked, stopProcess } from './proc.mjs';

export const IDP_DIR = join(SRC_DIR, 'tests/idp');
export const OP_SCRIPT = join(IDP_DIR, 'op.mjs');
export const ROGUE_SCRIPT = join(IDP_DIR, 'rogue.mjs');

// The password every user gets unless given one.
export const DEFAULT_PASSWORD = 'password';

function waitReady(child, label, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${label} not READY after ${timeoutMs} ms\n${child.output}`));
    }, timeoutMs);
    const onData = (d) => {
      buf += d;
      const m = buf.match(/^READY (\S+)\n/m);
      if (m) {
        cleanup();
        resolve(m[1]);
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`${label} exited before READY\n${child.output}`));
    };
    function cleanup() {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
    }
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

// Starts a provider script and waits for its READY line. A start normally
// takes under a second; one that has not answered within timeoutMs is
// killed and tried once more, so a rare stalled start does not fail a run.
export async function spawnReady(args, label, { cwd = IDP_DIR, timeoutMs = 30000 } = {}) {
  for (let attempt = 1; ; attempt++) {
    const child = spawnTracked(process.execPath, args, { cwd });
    try {
      return { child, issuer: await waitReady(child, label, timeoutMs) };
    } catch (e) {
      await stopProcess(child, { signal: 'SIGKILL' });
      if (attempt >= 2 || !/not READY/.test(e.message)) throw e;
      process.stderr.write(`[harness] ${label} not READY after ${timeoutMs} ms; starting it again\n`);
    }
  }
}

async function httpJson(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// Starts tests/idp/op.mjs. opts:
//   name                   IdP name (cookie names, login page, default client id); default 'idp'
//   redirectUri            string or array: the httpd's callback URI(s) (required)
//   postLogoutRedirectUri  string or array; default: each redirect URI with /callback replaced by /logged-out
//   users                  [{ email, password?, name?, sub? }] (password defaults to 'password')
//   authMethod             'client_secret_basic' (default) | 'client_secret_post'
//   clientId               default `mod-auth-orgs-<name>`
//   clientSecret           default: random
//   config                 a JSON config file for op.mjs (flags above override it)
//   codeTtl                authorization code lifetime in seconds
//   quiet                  default true (the OP's event log is kept in child.output otherwise)
//   timeoutMs              how long to wait for READY per attempt (default 30000)
// Returns { name, issuer, port, clientId, clientSecret, authMethod, redirectUris,
//           users, child, pid, addUsers(list), users(), stop() }.
export async function startOp(opts = {}) {
  const name = opts.name || 'idp';
  if (!opts.redirectUri) throw new Error('startOp: redirectUri is required');
  const redirectUris = [].concat(opts.redirectUri);
  const clientId = opts.clientId || `mod-auth-orgs-${name}`;
  const clientSecret = opts.clientSecret || `${name}-${crypto.randomBytes(12).toString('hex')}`;
  const authMethod = opts.authMethod || 'client_secret_basic';
  const args = [OP_SCRIPT];
  if (opts.config) args.push('--config', opts.config);
  args.push('--port', '0', '--name', name, '--client-id', clientId);
  args.push('--client-secret', clientSecret, '--auth-method', authMethod);
  for (const u of redirectUris) args.push('--redirect-uri', u);
  for (const u of [].concat(opts.postLogoutRedirectUri ?? [])) {
    args.push('--post-logout-redirect-uri', u);
  }
  if (opts.codeTtl) args.push('--code-ttl', String(opts.codeTtl));
  if (opts.quiet !== false) args.push('--quiet');

  const { child, issuer } = await spawnReady(args, `op.mjs ${name}`, {
    timeoutMs: opts.timeoutMs,
  });
  const op = {
    name,
    issuer,
    port: Number(new URL(issuer).port),
    clientId,
    clientSecret,
    authMethod,
    redirectUris,
    child,
    pid: child.pid,
    // Adds or replaces users (sub optional; password defaults to 'password').
    async addUsers(list) {
      const body = [].concat(list).map((u) => ({ password: DEFAULT_PASSWORD, ...u }));
      if (body.length) await httpJson('POST', `${issuer}/_users`, body);
    },
    // The OP's users (without passwords).
    async users() {
      return httpJson('GET', `${issuer}/_users`);
    },
    async stop() {
      await stopProcess(child, { signal: 'SIGTERM', timeoutMs: 10000 });
    },
  };
  try {
    await op.addUsers(opts.users || []);
  } catch (e) {
    await op.stop();
    throw e;
  }
  return op;
}


// Writes a client secret to a file orgctl can read (--client-secret-file);
// returns the path. dir: e.g. the httpd's confDir.
export function writeSecretFile(dir, name, secret) {
  const p = join(dir, `${name}.secret`);
  fs.writeFileSync(p, `${secret}\n`, { mode: 0o600 });
  return p;
}
