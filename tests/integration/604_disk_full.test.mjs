// Layer 604: the disk holding the store is full (a small tmpfs mounted on
// the store directory; the map itself is far from full). Writes fail with
// ENOSPC: orgctl exits 5 saying the disk is full, a sign-in answers 503
// with the page that says it is temporary and the store-full log line,
// signed-in users keep working, and once space is freed sign-ins work
// again. Needs root with the right to mount (skipped otherwise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';

import { run } from './lib/proc.mjs';
import { HTML, login, orgsFile, rogueAcme } from './lib/storefill.mjs';

const rogue = rogueAcme();

test('a full disk: orgctl exits 5, sign-ins answer 503 (temporary), sessions keep working', async (t) => {
  const probe = fs.mkdtempSync('/tmp/orgs-mount-probe-');
  const can = await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
  if (can.code !== 0) {
    fs.rmdirSync(probe);
    t.skip(`cannot mount a tmpfs here: ${can.stderr.trim()}`);
    return;
  }
  await run('umount', [probe]);
  fs.rmdirSync(probe);

  let mounted = null;
  const h = await rogue.start({ name: 'diskfull' });
  try {
    // the store moved onto a 1 MiB file system while httpd is stopped
    await h.stop();
    const saved = join(h.root, 'store-saved');
    fs.renameSync(h.storeDir, saved);
    fs.mkdirSync(h.storeDir);
    const r = await run('mount', ['-t', 'tmpfs', '-o', `size=1m,mode=0700,uid=${h.uid},gid=${h.gid}`, 'tmpfs', h.storeDir]);
    assert.equal(r.code, 0, r.stderr);
    mounted = h.storeDir;
    for (const f of ['data.mdb', 'lock.mdb']) {
      if (!fs.existsSync(join(saved, f))) continue;
      fs.copyFileSync(join(saved, f), join(h.storeDir, f));
      fs.chownSync(join(h.storeDir, f), h.uid, h.gid);
    }
    await h.start();
    await h.waitForLog(/AH00489/, { timeoutMs: 15000 });
    const signedIn = await login(h, 'inside@diskfull.example');

    // fill the disk, not the map (OrgsStoreMaxSize is 64M): imports of 10
    // orgs, then one by one
    let made = 0;
    let full = null;
    for (const size of [10, 1]) {
      for (;;) {
        const names = Array.from({ length: size }, (_, i) => `disk-${made + i}`);
        const file = orgsFile(h, `disk-${made}`, names, { keys: 20, value: 'd'.repeat(200) });
        const res = await h.orgctl('import', file);
        if (res.code !== 0) {
          full = res;
          break;
        }
        made += size;
        assert.ok(made < 2000, 'the disk never filled');
      }
    }
    assert.equal(full.code, 5, full.stderr);
    assert.match(full.stderr, /the disk holding the store is full/);

    // a sign-in: 503, temporary, the store-full log line naming the disk
    const mark = h.logMark();
    const c = h.client({ headers: HTML });
    const start = await c.get('/orgs/login?organization=acme&login_hint=new%40diskfull.example&return_to=%2Fapp%2F');
    let status = start.status;
    let body = start.body;
    if (status === 302) { // the pending login fit: the callback's session will not
      const auth = await fetch(start.location, { redirect: 'manual' });
      const cb = await c.get(auth.headers.get('location'));
      status = cb.status;
      body = cb.body;
    }
    assert.equal(status, 503, body.slice(0, 300));
    assert.match(body, /temporary/);
    assert.match(h.errorLog(mark), /ORGS00(205|227): .*the disk holding the store is full/);
    assert.doesNotMatch(h.errorLog(mark), /\[(emerg|alert|crit)\]|AH00052/);
    // the signed-in user is still served
    assert.equal((await signedIn.get('/app/')).status, 200);

    // room on the disk again (as if files elsewhere on it were removed):
    // sign-ins work
    const grown = await run('mount', ['-o', 'remount,size=8m', h.storeDir]);
    assert.equal(grown.code, 0, grown.stderr);
    await login(h, 'later@diskfull.example');
    assert.equal((await h.orgctlOk('check')).split('\n').at(-1), 'store consistent');
  } finally {
    await h.stop();
    if (mounted) await run('umount', [mounted]);
    await h.close();
  }
});
