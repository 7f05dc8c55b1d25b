// Layer 950: a PostgreSQL store shared by two httpd nodes, each with its own
// LMDB replica (OrgsStore postgresql://... + OrgsStoreReplica): a throw-away
// PostgreSQL cluster on loopback (lib/pg.mjs), one OpenID Provider, two
// nodes on their own ports and replica directories, orgctl writing to the
// database while both serve. Covers: the directives' errors at start; the
// replicator filling a new replica; a membership removed with orgctl seen
// on both nodes within a second (the lag is printed); two orgctls creating
// the same org at once (one wins, the other exits 4); a node stopped,
// changes made, the node started again and caught up; PostgreSQL killed:
// sessions keep working, orgctl writes fail with exit 5, the nodes log
// ORGS00837 and catch up by themselves once it is back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { Client } from './lib/client.mjs';
import { startOp, writeSecretFile } from './lib/idp.mjs';
import { ENV_CGI, describeHops, signIn } from './lib/flow.mjs';
import { ORGCTL } from './lib/paths.mjs';
import { run } from './lib/proc.mjs';
import { APP_BODY, PgStore, nodeServerOrgs, until } from './lib/pgnodes.mjs';

const HTML = { accept: 'text/html' };
const body = APP_BODY;
const serverOrgs = (uri) => `OrgsStore ${uri}
OrgsStoreReplica {{STORE}}
OrgsStoreMaxSize 64M
OrgsCryptoKey file:{{KEY}}`;

let store;
let pg;
let skip;
let op;
let nodes = [];

// orgctl on the database (the key of node A, the same file content as B's).
const pgctl = (...args) => store.ctl(...args);
const pgctlOk = (...args) => store.ctlOk(...args);

// The org names a node's replica holds (read-only, as httpd serves).
async function replicaOrgs(h) {
  const r = await run(ORGCTL, ['-s', h.storeDir, '--json', 'org', 'list']);
  return r.code === 0 ? JSON.parse(r.stdout).map((o) => o.name) : [];
}

async function signInOn(h, email) {
  const app = h.client();
  const r = await signIn(app, {
    idp: new Client(),
    start: '/orgs/login?organization=org1&connection=okta1&return_to=/app/',
    email,
  });
  assert.equal(r.stage, 'app', `${email} could not sign in on ${h.baseURL}\n${describeHops(r.hops)}`);
  return app;
}

before(async () => {
  store = await PgStore.start();
  if (store.skip) {
    skip = store.skip;
    return;
  }
  pg = store.pg;
  // every node must open the connections' sealed secrets: one key
  nodes = await store.addNodes(['a', 'b'], { name: 'pg-node', body });
  for (const h of nodes) h.cgi('app/index.cgi', ENV_CGI);
  op = await startOp({
    name: 'okta1',
    redirectUri: nodes.map((h) => `${h.baseURL}/orgs/callback`),
    users: ['alice', 'bob', 'carol', 'dave'].map((n) => ({ email: `${n}@org1.example.com`, sub: `okta1-${n}` })),
  });
  assert.match(await pgctlOk('init'), /schema version 4 created/);
  await pgctlOk('org', 'create', 'org1');
  const secret = writeSecretFile(nodes[0].confDir, 'okta1', op.clientSecret);
  await pgctlOk('conn', 'create', 'okta1', '--issuer', op.issuer, '--client-id', op.clientId,
    '--client-secret-file', secret);
  await pgctlOk('org', 'enable-conn', 'org1', 'okta1');
  for (const n of ['alice', 'bob', 'carol', 'dave']) {
    await pgctlOk('member', 'add', 'org1', '--connection', 'okta1', '--email', `${n}@org1.example.com`);
  }
  // a new replica is filled from a snapshot by the node's replicator
  await store.startNodes();
});

after(async () => {
  await op?.stop();
  await store?.close();
});

test('the directives: a bad URI, a password in it, a missing replica stop httpd', async (t) => {
  if (skip) return t.skip(skip);
  const h = nodes[0];
  let r = await h.configtest(body, 'OrgsStore postgresql://[::1/x\nOrgsCryptoKey file:{{KEY}}');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /OrgsStore: /);
  r = await h.configtest(body, 'OrgsStore postgresql://orgs:hunter2@127.0.0.1/db\n' +
    'OrgsStoreReplica {{STORE}}\nOrgsCryptoKey file:{{KEY}}');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /OrgsStore: a password in the URI/);
  assert.doesNotMatch(r.stderr, /hunter2/);
  r = await h.configtest(body, `OrgsStore ${pg.uri}?nosuchoption=1\nOrgsCryptoKey file:{{KEY}}`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /OrgsStore: .*nosuchoption/);
  r = await h.configtest(body, `OrgsStore ${pg.uri}\nOrgsCryptoKey file:{{KEY}}`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /ORGS00830: OrgsStoreReplica: required/);
  r = await h.configtest(body, 'OrgsStore {{STORE}}\nOrgsStoreReplica {{STORE}}\nOrgsCryptoKey file:{{KEY}}');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /ORGS00831: OrgsStoreReplica: /);
  r = await h.configtest(body, serverOrgs(pg.uri));
  assert.equal(r.code, 0, r.stderr);
  // what the nodes run with: the same, written by the test library
  assert.match(h.confText, new RegExp(`^OrgsStore ${pg.uri}\nOrgsStoreReplica ${h.storeDir}$`, 'm'));
  h.writeConf(body, nodeServerOrgs()); // back to the running configuration
  assert.match(h.confText, new RegExp(`^OrgsStore ${pg.uri}\nOrgsStoreReplica ${h.storeDir}$`, 'm'));
});

test('both replicas hold what orgctl wrote to the database', async (t) => {
  if (skip) return t.skip(skip);
  for (const h of nodes) assert.deepEqual(await replicaOrgs(h), ['org1']);
  // reads against the database see the same
  const members = JSON.parse(await pgctlOk('--json', 'member', 'list', 'org1'));
  assert.equal(members.length, 4);
});

test('a member removed on the database is refused on both nodes within a second', async (t) => {
  if (skip) return t.skip(skip);
  const apps = [];
  for (const h of nodes) apps.push(await signInOn(h, 'alice@org1.example.com'));
  for (const app of apps) assert.equal((await app.get('/app/', { headers: HTML })).status, 200);
  const marks = nodes.map((h) => h.logMark());
  const t0 = performance.now();
  await pgctlOk('member', 'remove', 'org1', '--connection', 'okta1', '--email', 'alice@org1.example.com');
  const committed = performance.now() - t0;
  const lags = await Promise.all(apps.map((app) =>
    until(async () => (await app.get('/app/', { headers: HTML })).status === 401)));
  t.diagnostic(`orgctl member remove took ${committed.toFixed(0)} ms; refused after the commit ` +
    `on node A in ${lags[0].toFixed(0)} ms, on node B in ${lags[1].toFixed(0)} ms`);
  process.stdout.write(`# replication lag (member remove -> 401): A ${lags[0].toFixed(0)} ms, ` +
    `B ${lags[1].toFixed(0)} ms\n`);
  for (const lag of lags) assert.ok(lag < 1000, `lag ${lag} ms`);
  // the session went with the membership: ORGS00101 on each node
  for (const [i, h] of nodes.entries()) {
    await h.waitForLog(/ORGS00101: /, { from: marks[i] });
  }
});

test('two orgctls creating the same org at once: one wins, the other exits 4', async (t) => {
  if (skip) return t.skip(skip);
  const [r1, r2] = await Promise.all([
    pgctl('org', 'create', 'dup', '--domain', 'dup.example.com'),
    pgctl('org', 'create', 'dup', '--domain', 'dup.example.com'),
  ]);
  const codes = [r1.code, r2.code].sort();
  assert.deepEqual(codes, [0, 4], `${r1.stderr} ${r2.stderr}`);
  const loser = r1.code === 4 ? r1 : r2;
  assert.match(loser.stderr, /^orgctl: org create: organization name 'dup' is taken\n$/);
  assert.equal(loser.stdout, ''); // no id printed for what was not written
  // a domain held by another org: exit 4, nothing written
  const r = await pgctl('org', 'create', 'dup2', '--domain', 'dup.example.com');
  assert.equal(r.code, 4, r.stderr);
  const names = JSON.parse(await pgctlOk('--json', 'org', 'list')).map((o) => o.name);
  assert.deepEqual(names, ['dup', 'org1']);
  for (const h of nodes) await until(async () => (await replicaOrgs(h)).includes('dup'));
});

test('a node stopped while the database changes catches up when it starts', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const bobB = await signInOn(b, 'bob@org1.example.com');
  await b.stop();
  await pgctlOk('org', 'create', 'while-down');
  await pgctlOk('member', 'remove', 'org1', '--connection', 'okta1', '--email', 'bob@org1.example.com');
  await until(async () => (await replicaOrgs(a)).includes('while-down'));
  assert.ok(!(await replicaOrgs(b)).includes('while-down'));
  const mark = b.logMark();
  await b.start();
  await until(async () => (await replicaOrgs(b)).includes('while-down'));
  const res = await bobB.get('/app/', { headers: HTML });
  assert.equal(res.status, 401);
  await b.waitForLog(/ORGS00101: /, { from: mark });
  // caught up by seq, not rebuilt
  assert.doesNotMatch(b.errorLog(mark), /ORGS00838/);
});

test('migrate: an LMDB store into an empty database and back, ids and secrets kept', async (t) => {
  if (skip) return t.skip(skip);
  const h = nodes[0];
  const key = ['--key-file', h.keyFile];
  const lmdb = fs.mkdtempSync(`${h.root}/lmdb-`);
  const back = fs.mkdtempSync(`${h.root}/back-`);
  const rep = fs.mkdtempSync(`${h.root}/rep-`);
  const ctl = (...args) => run(ORGCTL, [...key, ...args]);
  const secret = writeSecretFile(h.confDir, 'mig', 'mig-secret');
  for (const args of [['org', 'create', 'm1', '--domain', 'm1.example.com', '--meta', 'tier=gold'],
    ['conn', 'create', 'c1', '--issuer', op.issuer, '--client-id', 'x', '--client-secret-file', secret, '--no-check'],
    ['org', 'enable-conn', 'm1', 'c1', '--auto-membership'],
    ['member', 'add', 'm1', '--connection', 'c1', '--email', 'z@m1.example.com', '--role', 'admin'],
    ['invite', 'create', 'm1', 'y@m1.example.com']]) {
    const r = await ctl('-s', lmdb, ...args);
    assert.equal(r.code, 0, r.stderr);
  }
  const uri = await pg.createdb('migrated');
  let r = await ctl('-s', lmdb, 'migrate', '--to', uri);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^6 objects copied to postgresql:\/\/orgs@127\.0\.0\.1:\d+\/migrated\n$/);
  // only into an empty database
  r = await ctl('-s', lmdb, 'migrate', '--to', uri);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /^orgctl: migrate: .*the database is not empty\n$/);
  // the same kind on both sides is a usage error
  r = await ctl('-s', lmdb, 'migrate', '--to', back);
  assert.equal(r.code, 2);
  // back into LMDB: the same export, ids included (the secret opens)
  r = await ctl('-s', uri, 'migrate', '--to', back);
  assert.equal(r.code, 0, r.stderr);
  const exp = async (s) => (await ctl('-s', s, 'export')).stdout.trim().split('\n').sort();
  assert.deepEqual(await exp(back), await exp(lmdb));
  assert.deepEqual(await exp(uri), await exp(lmdb));
  r = await ctl('-s', back, 'check');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /secrets: 1 of 1 decrypt/);
  // a replica directory brought up to date once
  r = await ctl('-s', uri, 'replicate', rep);
  assert.equal(r.stdout, 'rebuilt, 0 changes applied\n', r.stderr);
  r = await ctl('-s', uri, 'member', 'remove', 'm1', '--connection', 'c1', '--email', 'z@m1.example.com');
  assert.equal(r.code, 0, r.stderr);
  r = await ctl('-s', uri, 'replicate', rep);
  assert.equal(r.stdout, '1 changes applied\n', r.stderr);
  assert.equal((await ctl('-s', rep, 'member', 'list', 'm1')).stdout.trim().split('\n').length, 1);
  // LMDB-only commands are refused on a database
  r = await ctl('-s', uri, 'check');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^orgctl: check: works on an LMDB store/);
});

test('PostgreSQL down: sessions keep working, writes exit 5, everything recovers by itself', async (t) => {
  if (skip) return t.skip(skip);
  const carol = [];
  for (const h of nodes) carol.push(await signInOn(h, 'carol@org1.example.com'));
  const dave = await signInOn(nodes[0], 'dave@org1.example.com');
  const marks = nodes.map((h) => h.logMark());
  await pg.kill();
  for (const [i, h] of nodes.entries()) {
    await h.waitForLog(/ORGS00837: OrgsStore postgresql:\/\/orgs@127\.0\.0\.1:\d+\/postgres: PostgreSQL cannot be reached/,
      { from: marks[i], timeoutMs: 10000 });
  }
  for (const app of carol) assert.equal((await app.get('/app/', { headers: HTML })).status, 200);
  const r = await pgctl('org', 'create', 'during-outage');
  assert.equal(r.code, 5);
  assert.match(r.stderr, /^orgctl: org create: cannot connect to postgresql:\/\/orgs@127\.0\.0\.1:\d+\/postgres: /);
  await pg.start();
  // no restart of either node: the replicators reconnect, and a change
  // made now reaches both
  await pgctlOk('member', 'remove', 'org1', '--connection', 'okta1', '--email', 'carol@org1.example.com');
  for (const app of carol) {
    await until(async () => (await app.get('/app/', { headers: HTML })).status === 401, { timeoutMs: 15000 });
  }
  assert.equal((await dave.get('/app/', { headers: HTML })).status, 200);
  for (const [i, h] of nodes.entries()) await h.waitForLog(/ORGS00836: /, { from: marks[i] });
});
