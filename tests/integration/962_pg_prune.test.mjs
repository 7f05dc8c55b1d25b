// Layer 960: pruning the change log of a PostgreSQL store (orgctl
// prune-log). A running node (its replicator current), replica directories
// brought up to date with `orgctl replicate` (a node that was down, a new
// node): after a prune, the current node keeps applying changes without a
// rebuild, the node that was behind the pruned point rebuilds instead of
// skipping what was pruned, and a new node rebuilds as always. Plus the
// command's usage errors and a retention that prunes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { ORGCTL } from './lib/paths.mjs';
import { run } from './lib/proc.mjs';
import { PgStore, until as untilMs } from './lib/pgnodes.mjs';

let store;
let pg;
let skip;
let h;

const ctl = (...args) => run(ORGCTL, ['--key-file', h.keyFile, ...args]);
async function pgctlOk(...args) {
  const r = await store.ctl(...args);
  if (r.code !== 0) throw new Error(`orgctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
async function orgsOf(dir) {
  const r = await ctl('-s', dir, '--json', 'org', 'list');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).map((o) => o.name).sort();
}
const until = (fn, timeoutMs = 10000) => untilMs(fn, { timeoutMs, stepMs: 50 });

before(async () => {
  store = await PgStore.start();
  if (store.skip) {
    skip = store.skip;
    return;
  }
  pg = store.pg;
  [h] = await store.addNodes(['a'], { name: 'pg-prune' });
  await pgctlOk('init');
  await pgctlOk('org', 'create', 'first');
  await store.startNodes();
});

after(async () => {
  await store?.close();
});

test('prune-log: usage errors, and a retention that keeps everything', async (t) => {
  if (skip) return t.skip(skip);
  let r = await ctl('-s', pg.uri, 'prune-log');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^orgctl: prune-log: --older-than DURATION or --keep N/);
  r = await ctl('-s', pg.uri, 'prune-log', '--keep', 'many');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^orgctl: prune-log: --keep: a number of changes from 0\n$/);
  r = await ctl('-s', pg.uri, 'prune-log', '--older-than', 'soon');
  assert.notEqual(r.code, 0);
  r = await ctl('-s', h.storeDir, 'prune-log', '--keep', '10');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs a PostgreSQL store/);
  // replica-status: on a database only, of a directory holding a store
  r = await ctl('-s', h.storeDir, 'replica-status', h.storeDir);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^orgctl: replica-status: .*needs a PostgreSQL store/);
  r = await ctl('-s', pg.uri, 'replica-status', `${h.root}/no-such-dir`);
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  // every change is minutes old at most, and there are fewer than 1000
  assert.equal(await pgctlOk('prune-log', '--older-than', '1h'), '0 changes pruned\n');
  assert.equal(await pgctlOk('prune-log', '--keep', '1000'), '0 changes pruned\n');
});

test('a pruned log: the current node goes on, a node behind rebuilds, a new node rebuilds', async (t) => {
  if (skip) return t.skip(skip);
  const behind = fs.mkdtempSync(`${h.root}/behind-`);
  const current = fs.mkdtempSync(`${h.root}/current-`);
  for (const dir of [behind, current]) {
    assert.equal(await pgctlOk('replicate', dir), 'rebuilt, 0 changes applied\n');
  }
  const mark = h.logMark();
  for (let i = 0; i < 5; i++) await pgctlOk('org', 'create', `o${i}`);
  // how far a replica is behind: the five changes, until it applies them
  const status = async (dir) => JSON.parse(await pgctlOk('--json', 'replica-status', dir));
  const before5 = await status(current);
  assert.equal(before5.behind, 5, JSON.stringify(before5));
  assert.equal(before5.log - before5.replica, 5);
  assert.equal(await pgctlOk('replicate', current), '5 changes applied\n');
  assert.deepEqual(await status(current), { replica: before5.log, log: before5.log, behind: 0 });
  assert.equal(await pgctlOk('replica-status', current),
    `replica at ${before5.log}, log at ${before5.log}, 0 behind\n`);
  await until(async () => (await orgsOf(h.storeDir)).includes('o4'));

  // keep the newest 2: the 4 before them go (3 deleted, 1 turned into the marker)
  let out = await pgctlOk('--json', 'prune-log', '--keep', '2');
  const j = JSON.parse(out);
  assert.equal(j.removed, 4);
  assert.ok(j.pruned_to > 0);
  // again: nothing more
  assert.equal(JSON.parse(await pgctlOk('--json', 'prune-log', '--keep', '2')).removed, 0);
  // everything: the newest change becomes the marker
  out = await pgctlOk('prune-log', '--keep', '0');
  assert.match(out, /^\d+ changes pruned, up to \d+\n$/);

  await pgctlOk('org', 'create', 'after-prune');
  const want = ['after-prune', 'first', 'o0', 'o1', 'o2', 'o3', 'o4'];
  // the running node and the current replica: applied, not rebuilt
  await until(async () => (await orgsOf(h.storeDir)).includes('after-prune'));
  assert.deepEqual(await orgsOf(h.storeDir), want);
  assert.doesNotMatch(h.errorLog(mark), /ORGS00838|ORGS00839/);
  assert.equal(await pgctlOk('replicate', current), '1 changes applied\n');
  assert.deepEqual(await orgsOf(current), want);
  // the replica behind the pruned point: rebuilt, complete
  assert.match(await pgctlOk('replicate', behind), /^rebuilt, \d+ changes applied\n$/);
  assert.deepEqual(await orgsOf(behind), want);
  // a new node
  const fresh = fs.mkdtempSync(`${h.root}/fresh-`);
  assert.equal(await pgctlOk('replicate', fresh), 'rebuilt, 0 changes applied\n');
  assert.deepEqual(await orgsOf(fresh), want);
  // the running node, stopped while the log is pruned past it, rebuilds on start
  await h.stop();
  await pgctlOk('org', 'create', 'while-down');
  await pgctlOk('prune-log', '--keep', '0');
  const mark2 = h.logMark();
  await h.start();
  await h.waitForLog(/ORGS00838: /, { from: mark2, timeoutMs: 20000 });
  assert.deepEqual(await orgsOf(h.storeDir), [...want, 'while-down'].sort());
});
