// What the tests of a full or growing store share: a rogue OP that signs
// in whoever login_hint names, httpd with the org acme on it (rogue.mjs),
// big orgs to fill a store with through orgctl import, and sign-ins.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { Rogue, startAcmeServer } from './rogue.mjs';

export const HTML = { accept: 'text/html', connection: 'close' };
export const BIG = 'v'.repeat(240);
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// Registers the calling test file's hooks that start the OP before its
// tests and stop it after them. The OP is ctx.op once started;
// ctx.start(opts) starts an acme server on it (opts: name, serverOrgs).
export function rogueAcme() {
  const clientId = 'mod-auth-orgs-rogue';
  const clientSecret = `rogue-${crypto.randomBytes(18).toString('hex')}`;
  const ctx = {
    op: null,
    start: (opts) => startAcmeServer(ctx.op, { clientId, clientSecret, ...opts }),
  };
  before(async () => {
    ctx.op = await Rogue.start({ clientId, clientSecret });
    await ctx.op.mode('good', { fromLoginHint: true });
  });
  after(async () => {
    await ctx.op?.stop();
  });
  return ctx;
}

// One org as an orgctl import line, made large by its metadata (keys
// values of value).
export function bigOrgLine(name, { displayName = name, keys = 25, value = BIG } = {}) {
  let id = 'org_';
  for (const b of crypto.randomBytes(16)) id += B62[b % 62];
  const metadata = {};
  for (let k = 0; k < keys; k++) metadata[`k${k}`] = value;
  const now = new Date().toISOString();
  return JSON.stringify({ type: 'org', id, name, display_name: displayName, metadata, domains: [],
    created_at: now, updated_at: now });
}

// An import file conf/FILE.jsonl of h with the orgs names (bigOrgLine
// opts): its path.
export function orgsFile(h, file, names, opts) {
  return h.file(`conf/${file}.jsonl`, `${names.map((n) => bigOrgLine(n, opts)).join('\n')}\n`, 0o600);
}

// Imports batches of big orgs (of each of sizes in turn) until the store
// refuses them (each import is all or nothing; orgctl exits 5, saying
// "full" unless full is null): the store ends at its soft limit. The names
// made.
export async function fillStore(h, { prefix = 'fill', sizes = [50, 10, 1], full = /full/ } = {}) {
  const names = [];
  for (const size of sizes) {
    for (;;) {
      const batch = [];
      for (let i = 0; i < size; i++) batch.push(`${prefix}-${names.length + i}`);
      const r = await h.orgctl('import', orgsFile(h, `fill-${names.length}`, batch));
      if (r.code !== 0) {
        assert.equal(r.code, 5, r.stderr);
        if (full) assert.match(r.stderr, full);
        break;
      }
      names.push(...batch);
    }
  }
  return names;
}

// Starts a sign-in of email to acme: { c, callback } with the IdP's
// redirect back.
export async function startLogin(h, email) {
  const c = h.client({ headers: HTML });
  const start = await c.get(`/orgs/login?organization=acme&login_hint=${encodeURIComponent(email)}&return_to=%2Fapp%2F`);
  assert.equal(start.status, 302, start.body);
  const auth = await fetch(start.location, { redirect: 'manual' });
  assert.equal(auth.status, 302);
  return { c, callback: auth.headers.get('location') };
}

// A whole sign-in of email to acme that must succeed: the signed-in client.
export async function login(h, email) {
  const { c, callback } = await startLogin(h, email);
  const cb = await c.get(callback);
  assert.equal(cb.status, 302, `${email}: ${cb.status} ${cb.body.slice(0, 200)}`);
  assert.equal((await c.get('/app/')).status, 200);
  return c;
}

// A whole sign-in that may fail: the status of the step that failed, or
// 200 at /app/.
export async function trySignIn(h, email) {
  const c = h.client({ headers: HTML });
  const start = await c.get(`/orgs/login?organization=acme&login_hint=${encodeURIComponent(email)}&return_to=%2Fapp%2F`);
  if (start.status !== 302) return { status: start.status, step: 'login', body: start.body };
  const auth = await fetch(start.location, { redirect: 'manual' });
  const cb = await c.get(auth.headers.get('location'));
  if (cb.status !== 302) return { status: cb.status, step: 'callback', body: cb.body };
  return { status: (await c.get('/app/')).status, step: 'app' };
}
