// Layer 603: a store filled up by sessions that then expired. The regular
// sweep of expired sessions runs after a sign-in that succeeded (at most
// every 15 minutes), so on a store full of expired sessions no sign-in
// would ever succeed again: a sign-in refused for space sweeps expired
// sessions at once (ORGS00604) and tries again.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { sleep } from './lib/proc.mjs';
import { fillStore, rogueAcme, trySignIn as signIn } from './lib/storefill.mjs';

const MAX_AGE_S = 4;

const rogue = rogueAcme();

test('a store full of expired sessions: the next sign-in sweeps them and succeeds', async () => {
  const h = await rogue.start({ name: 'expired', serverOrgs: `OrgsStoreMaxSize 8M\nOrgsSessionMaxAge ${MAX_AGE_S}s` });
  try {
    // sessions first (large ones: the ID token kept for logout, 12 KiB), then
    // the store filled up to its soft limit
    await rogue.op.mode('good', { fromLoginHint: true, claims: { pad: 'p'.repeat(9000) } });
    const made = 60;
    for (let i = 0; i < made; i++) {
      const r = await signIn(h, `s${i}@expired.example`);
      assert.equal(r.status, 200, `${r.step}: ${r.status}`);
    }
    const startedFill = Date.now();
    await fillStore(h, { sizes: [20, 5, 1], full: null });
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
