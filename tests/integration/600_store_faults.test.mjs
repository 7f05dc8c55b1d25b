// Layer 600: the store under faults, against a real httpd. A full store
// (inserts refused above a soft limit, revocations and sign-outs still
// work, sign-ins answer 503 with a page that says it is temporary), a
// store grown by orgctl while httpd runs (children remap), and files that
// must stop httpd at start with a clear message: a truncated data.mdb,
// another application's LMDB, a store directory the children cannot
// write. Also the size check of OrgsStoreMaxSize against the pending-login
// bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';

import { Httpd } from './lib/httpd.mjs';
import { APACHE2 } from './lib/paths.mjs';
import { run } from './lib/proc.mjs';
import { BIG, HTML, fillStore, login, orgsFile, rogueAcme, startLogin } from './lib/storefill.mjs';


const rogue = rogueAcme();

async function userId(h, email) {
  const users = JSON.parse(await h.orgctlOk('--json', 'user', 'list', '--email', email));
  return users[0].id;
}

test('a full store: revocations and sign-outs work, sign-ins answer 503 (temporary)', async () => {
  const h = await rogue.start({ name: 'full', serverOrgs: 'OrgsStoreMaxSize 8M' });
  try {
    const removed = await login(h, 'removed@full.example');
    const leaving = await login(h, 'leaving@full.example');
    const deleted = await login(h, 'deleted@full.example');
    const pending = await startLogin(h, 'late@full.example');
    const made = (await fillStore(h)).length;
    assert.ok(made > 100, `only ${made} orgs fit`);
    const full = await h.orgctl('org', 'create', 'one-more');
    assert.equal(full.code, 5);

    // the callback of a login started before: 503, the store-full log line
    let mark = h.logMark();
    const cb = await pending.c.get(pending.callback);
    assert.equal(cb.status, 503, cb.body.slice(0, 300));
    assert.match(cb.body, /temporary/);
    assert.match(h.errorLog(mark), /ORGS00227: callback: store error: .*store full/);
    // a new sign-in: its start writes nothing (sealed in the browser), its
    // callback answers 503 too
    const late = await startLogin(h, 'later@full.example');
    mark = h.logMark();
    const cb2 = await late.c.get(late.callback);
    assert.equal(cb2.status, 503, cb2.body.slice(0, 300));
    assert.match(cb2.body, /temporary/);
    assert.match(h.errorLog(mark), /ORGS00227: callback: store error: .*store full/);

    // revocations on the full store
    await h.orgctlOk('member', 'remove', 'acme', await userId(h, 'removed@full.example'));
    assert.notEqual((await removed.get('/app/')).status, 200, 'a removed member keeps access');
    await h.orgctlOk('user', 'delete', await userId(h, 'deleted@full.example'));
    assert.notEqual((await deleted.get('/app/')).status, 200, 'a deleted user keeps access');

    // sign-out: the session is gone from the store, not only the cookie
    const sid = leaving.jar.get('orgs_sess_acme');
    assert.ok(sid, 'no session cookie');
    mark = h.logMark();
    const out = await leaving.get('/orgs/logout?organization=acme');
    assert.equal(out.status, 302);
    const replay = h.client({ headers: HTML });
    replay.jar.set(sid.name, sid.value);
    assert.notEqual((await replay.get('/app/')).status, 200, 'the session survives its sign-out');
    assert.doesNotMatch(h.errorLog(mark), /ORGS00244/);

    // and disabling the connection
    await h.orgctlOk('org', 'disable-conn', 'acme', 'rogue');
    assert.equal((await h.orgctlOk('check')).split('\n').at(-1), 'store consistent');
  } finally {
    await h.close();
  }
});

test('orgctl grows the store while httpd runs: the children remap', async () => {
  const h = await rogue.start({ name: 'grow', serverOrgs: 'OrgsStoreMaxSize 8M' });
  try {
    const clients = [];
    for (let i = 0; i < 6; i++) clients.push(await login(h, `grow${i}@grow.example`));
    const mark = h.logMark();
    // the store holds more than httpd's 8M map afterwards (--force: beyond
    // what running httpd maps, refused otherwise; see 601)
    for (let b = 0; b < 6; b++) {
      const file = orgsFile(h, `grow-${b}`, Array.from({ length: 250 }, (_, i) => `grown-${b}-${i}`));
      await h.orgctlOk('--max-size', '32M', '--force', 'import', file);
    }
    assert.ok(fs.statSync(join(h.storeDir, 'data.mdb')).size > 8 << 20, 'the store did not grow');
    for (let round = 0; round < 3; round++) {
      for (const c of clients) assert.equal((await c.get('/app/')).status, 200);
    }
    // and the children write beyond their first map
    await login(h, 'after@grow.example');
    assert.doesNotMatch(h.errorLog(mark), /ORGS00102|\[(emerg|alert|crit)\]/);
  } finally {
    await h.close();
  }
});

// A server that must not start: its error log names the problem.
async function refusedStart(name, prepare, expect) {
  const h = await Httpd.create({ name, body: '<Location /app/>\nAuthType orgs\nRequire org-member\n</Location>' });
  try {
    await prepare(h);
    // httpd binds its port before the module's checks, so waiting for the
    // port says nothing: it must exit by itself, with the message
    const r = await run(APACHE2, ['-f', h.confFile, '-DFOREGROUND'], { timeoutMs: 10000 });
    const log = `${r.stderr}\n${h.errorLog()}`;
    assert.ok(r.code !== 0 && !r.signal, `httpd did not refuse to start (${r.code} ${r.signal}): ${log}`);
    assert.match(log, expect);
    assert.doesNotMatch(log, /APR does not understand|SIGBUS|Bus error/);
  } finally {
    await h.close();
  }
}

test('a truncated data.mdb stops httpd at start with a clear message', async () => {
  await refusedStart('truncated', async (h) => {
    for (let i = 0; i < 30; i++) await h.orgctlOk('org', 'create', `o${i}`, '--meta', `k=${BIG}`);
    const data = join(h.storeDir, 'data.mdb');
    fs.truncateSync(data, Math.floor(fs.statSync(data).size / 2));
    const r = await h.orgctl('check');
    assert.equal(r.code, 5);
    assert.match(r.stderr, /truncated/);
  }, /ORGS00011: OrgsStore .*truncated/);
});

test("another application's LMDB at OrgsStore is refused, not written into", async () => {
  await refusedStart('foreign', async (h) => {
    const r = await run('mdb_load', ['-s', 'other', h.storeDir], {
      input: 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n key1\n value1\nDATA=END\n',
    });
    assert.equal(r.code, 0, r.stderr);
    for (const f of ['data.mdb', 'lock.mdb']) fs.chownSync(join(h.storeDir, f), h.uid, h.gid);
  }, /ORGS00011: .*another application's LMDB/);
});

test('a store directory the children cannot write stops httpd at start', async () => {
  await refusedStart('rootdir', async (h) => {
    fs.chownSync(h.storeDir, 0, 0);
    fs.chmodSync(h.storeDir, 0o755);
  }, /ORGS00601: OrgsStore .*not writable by user/);
});

test('OrgsStoreMaxSize too small for the pending-login bound is refused at config time', async () => {
  const h = await Httpd.create({ name: 'tiny', serverOrgs: 'OrgsStore {{STORE}}\nOrgsStoreMaxSize 2M\nOrgsCryptoKey file:{{KEY}}' });
  try {
    const r = await h.configtest();
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /ORGS00600: OrgsStoreMaxSize/);
  } finally {
    await h.close();
  }
});
