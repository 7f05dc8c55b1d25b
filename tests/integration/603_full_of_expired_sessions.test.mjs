// Layer 603: a store filled up by sessions that then expired. The regular
// sweep of expired sessions runs after a sign-in that succeeded (at most
// every 15 minutes), so on a store full of expired sessions no sign-in
// would ever succeed again: a sign-in refused for space sweeps expired
// sessions at once (ORGS00604) and tries again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { sleep } from './lib/proc.mjs';
import { Rogue, startAcmeServer } from './lib/rogue.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { accept: 'text/html', connection: 'close' };
const BIG = 'v'.repeat(240);
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const MAX_AGE_S = 4;

let op;

before(async () => {
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  await op.mode('good', { fromLoginHint: true });
});

after(async () => {
  await op?.stop();
});

function orgLine(name) {
  let id = 'org_';
  for (const b of crypto.randomBytes(16)) id += B62[b % 62];
  const metadata = {};
  for (let k = 0; k < 25; k++) metadata[`k${k}`] = BIG;
  const now = new Date().toISOString();
  return JSON.stringify({ type: 'org', id, name, display_name: name, metadata, domains: [],
    created_at: now, updated_at: now });
}

async function fill(h) {
  const names = [];
  for (const size of [20, 5, 1]) {
    for (;;) {
      const batch = [];
      for (let i = 0; i < size; i++) batch.push(`fill-${names.length + i}`);
      const file = h.file(`conf/fill-${names.length}.jsonl`, `${batch.map(orgLine).join('\n')}\n`, 0o600);
      const r = await h.orgctl('import', file);
      if (r.code !== 0) {
        assert.equal(r.code, 5, r.stderr);
        break;
      }
      names.push(...batch);
    }
  }
  return names;
}

// A whole sign-in: the status of the step that failed, or 200 at /app/.
async function signIn(h, email) {
  const c = h.client({ headers: HTML });
  const start = await c.get(`/orgs/login?organization=acme&login_hint=${encodeURIComponent(email)}&return_to=%2Fapp%2F`);
  if (start.status !== 302) return { status: start.status, step: 'login', body: start.body };
  const auth = await fetch(start.location, { redirect: 'manual' });
  const cb = await c.get(auth.headers.get('location'));
  if (cb.status !== 302) return { status: cb.status, step: 'callback', body: cb.body };
  return { status: (await c.get('/app/')).status, step: 'app' };
}

test('a store full of expired sessions: the next sign-in sweeps them and succeeds', async () => {
  const h = await startAcmeServer(op, { name: 'expired', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
    serverOrgs: `OrgsStoreMaxSize 8M\nOrgsSessionMaxAge ${MAX_AGE_S}s` });
  try {
    // sessions first (large ones: the ID token kept for logout, 12 KiB), then
    // the store filled up to its soft limit
    await op.mode('good', { fromLoginHint: true, claims: { pad: 'p'.repeat(9000) } });
    const made = 60;
    for (let i = 0; i < made; i++) {
      const r = await signIn(h, `s${i}@expired.example`);
      assert.equal(r.status, 200, `${r.step}: ${r.status}`);
    }
    const startedFill = Date.now();
    await fill(h);
    const full = await h.orgctl('org', 'create', 'one-more');
    assert.equal(full.code, 5, full.stderr);

    // every session has expired; the regular sweep ran at the first sign-in
    await sleep(Math.max(0, (MAX_AGE_S + 1) * 1000 - (Date.now() - startedFill)));
    const mark = h.logMark();
    const r = await signIn(h, 'after@expired.example');
    assert.equal(r.status, 200, `${r.step}: ${r.status} ${r.body?.slice(0, 200)}`);
    const log = h.errorLog(mark);
    const m = log.match(/ORGS00604: the store is full: removed (\d+) expired sessions at once/);
    assert.ok(m, log);
    assert.ok(Number(m[1]) > 0);
    console.log(`# ${made} sessions, then the store filled; the sign-in after they expired removed ${m[1]}`);
    assert.doesNotMatch(log, /ORGS00605|\[(emerg|alert|crit)\]/);
    assert.equal((await h.orgctlOk('check')).split('\n').at(-1), 'store consistent');
  } finally {
    await h.close();
  }
});
