// Layer 601: growing the store while httpd runs, as docs/operations.md
// says. Running httpd records the map size its children accept
// (OrgsStoreMaxSize) in the store directory and holds that record while it
// runs: orgctl --max-size beyond it is refused with one line saying what
// to do; doing that (raise OrgsStoreMaxSize, apachectl graceful, rerun)
// grows the store with every session served; once httpd is stopped the
// record no longer binds orgctl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';

import { DEFAULT_SERVER_ORGS } from './lib/httpd.mjs';
import { login, orgsFile, rogueAcme } from './lib/storefill.mjs';


const rogue = rogueAcme();

test('orgctl --max-size beyond running httpd is refused; raising OrgsStoreMaxSize and a graceful restart grow it', async () => {
  const h = await rogue.start({ name: 'growth', serverOrgs: 'OrgsStoreMaxSize 8M' });
  try {
    await h.waitForLog(/AH00489/, { timeoutMs: 15000 });
    const record = join(h.storeDir, 'httpd-map-size');
    const st = fs.statSync(record);
    assert.equal(st.uid, h.uid, 'the record belongs to the store owner, as the data files do');
    assert.match(fs.readFileSync(record, 'utf8'), new RegExp(`^0*${8 << 20} 0*${h.pid}\n$`));

    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(await login(h, `g${i}@growth.example`));
    const data = join(h.storeDir, 'data.mdb');
    const before = fs.statSync(data).size;
    const files = [];
    for (let b = 0; b < 6; b++) {
      files.push(orgsFile(h, `grow-${b}`, Array.from({ length: 250 }, (_, i) => `grown${b}-${i}`), { displayName: 'g' }));
    }

    // the docs' old advice: refused, nothing written
    const refused = await h.orgctl('--max-size', '32M', 'import', files[0]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.match(refused.stderr, /more than running httpd \(pid \d+\) maps, OrgsStoreMaxSize 8M: raise OrgsStoreMaxSize to at least 32M and reload httpd \(apachectl graceful\), then rerun/);
    assert.equal(fs.statSync(data).size, before);
    assert.equal((await h.orgctl('org', 'show', 'grown0-0')).code, 3);

    // what the message says: raise OrgsStoreMaxSize, graceful, rerun
    const mark = h.logMark();
    h.writeConf(h.opts.body, `${DEFAULT_SERVER_ORGS}\nOrgsStoreMaxSize 32M`);
    await h.graceful({ waitMs: 0 });
    await h.waitForLog(/AH00489/, { from: mark, timeoutMs: 15000 });
    assert.match(fs.readFileSync(record, 'utf8'), new RegExp(`^0*${32 << 20} `));
    await h.orgctlOk('--max-size', '32M', 'import', files[0]);
    for (const f of files.slice(1)) await h.orgctlOk('import', f); // the size the store records
    assert.ok(fs.statSync(data).size > 8 << 20, 'the store did not grow past the old map');
    for (let round = 0; round < 3; round++) {
      for (const c of clients) assert.equal((await c.get('/app/')).status, 200);
    }
    await login(h, 'after@growth.example');
    assert.doesNotMatch(h.errorLog(mark), /ORGS00102|ORGS00602|ORGS00603|\[(emerg|alert|crit)\]/);

    // beyond the new size: refused again, naming it
    const again = await h.orgctl('--max-size', '1G', 'org', 'create', 'huge');
    assert.equal(again.code, 5);
    assert.match(again.stderr, /OrgsStoreMaxSize 32M: raise OrgsStoreMaxSize to at least 1G/);

    // httpd stopped: the record is stale and binds nothing
    await h.stop();
    await h.orgctlOk('--max-size', '64M', 'org', 'create', 'grown-offline');
    assert.ok(fs.existsSync(record));
    assert.equal((await h.orgctlOk('check')).split('\n').at(-1), 'store consistent');
  } finally {
    await h.close();
  }
});
