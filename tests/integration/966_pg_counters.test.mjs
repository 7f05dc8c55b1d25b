// Layer 966: a PostgreSQL store's schema versions 3 and 4, and the counters a
// sign-in keeps, counted by the cluster. Covers: a version 2 database
// made by the old DDL, with data, refused until `orgctl init` upgrades it
// (through 3 to 4) in one transaction (the data kept; an upgrade that fails leaves version
// 2 whole); OrgsMaxNewUsersPerMinute N with new users signing in
// alternately on nodes A and B: exactly N admitted in the cluster, the
// next refused on either node (503, ORGS00521); the day's usage (sign-ins,
// joins, the refusals as denials) the same on both nodes and in the
// database, counting both nodes' sign-ins.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { Client } from './lib/client.mjs';
import { startOp, writeSecretFile } from './lib/idp.mjs';
import { ENV_CGI, describeHops, signIn } from './lib/flow.mjs';
import { ORGCTL } from './lib/paths.mjs';
import { run } from './lib/proc.mjs';
import { pgBinDir, pgDatabaseUri, pgSql } from './lib/pg.mjs';
import { PgStore } from './lib/pgnodes.mjs';

const body = `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>
<Location /app/>
    AuthType orgs
    OrgsUnauthenticated 401
    Require org-member
</Location>`;
const LIMIT = 3;
const USERS = ['u1', 'u2', 'u3', 'u4', 'u5'];

// Schema version 2 as the previous release created it (its DDL, verbatim).
const V2_DDL = [
  'CREATE TABLE orgs_schema (version integer NOT NULL, cluster text NOT NULL)',
  'CREATE TABLE orgs (id text PRIMARY KEY, name text NOT NULL UNIQUE, doc jsonb NOT NULL)',
  'CREATE TABLE org_domains (domain text PRIMARY KEY, org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE)',
  'CREATE TABLE conns (id text PRIMARY KEY, name text NOT NULL UNIQUE, doc jsonb NOT NULL)',
  'CREATE TABLE enabled_conns (org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, ' +
    'conn_id text NOT NULL REFERENCES conns(id) ON DELETE CASCADE, doc jsonb NOT NULL, PRIMARY KEY (org_id, conn_id))',
  'CREATE TABLE users (id text PRIMARY KEY, conn_id text NOT NULL REFERENCES conns(id) ON DELETE CASCADE, ' +
    'sub text, email text, doc jsonb NOT NULL, UNIQUE (conn_id, sub))',
  'CREATE INDEX users_email ON users (email)',
  'CREATE TABLE members (org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, ' +
    'user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE, doc jsonb NOT NULL, PRIMARY KEY (org_id, user_id))',
  'CREATE INDEX members_user ON members (user_id)',
  'CREATE TABLE invites (id text PRIMARY KEY, org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, doc jsonb NOT NULL)',
  'CREATE TABLE change_log (seq bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload text NOT NULL)',
  "INSERT INTO orgs_schema (version, cluster) VALUES (1, gen_random_uuid()::text)",
  'CREATE TABLE sessions (sid_hash text PRIMARY KEY, org_id text NOT NULL, user_id text NOT NULL, ' +
    'expires timestamptz NOT NULL, doc jsonb NOT NULL, ' +
    'FOREIGN KEY (org_id, user_id) REFERENCES members (org_id, user_id) ON DELETE CASCADE)',
  'CREATE INDEX sessions_member ON sessions (org_id, user_id)',
  'CREATE INDEX sessions_expires ON sessions (expires)',
  'UPDATE orgs_schema SET version = 2',
];

let store;
let skip;
let op;
let nodes = [];

const pgctlOk = (...args) => store.ctlOk(...args);
const ctlOn = (uri, ...args) => run(ORGCTL, ['-s', uri, '--key-file', nodes[0].keyFile, ...args]);
const sq = (s) => `'${s.replace(/'/g, "''")}'`;

// One value read with psql (unaligned, tuples only).
async function sqlValue(uri, sql) {
  const psql = pgBinDir() ? join(pgBinDir(), 'psql') : 'psql';
  const r = await run(psql, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', uri, '-c', sql]);
  if (r.code !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
  return r.stdout.trim();
}

// The export lines of the test's database, by type.
async function exported() {
  const lines = (await pgctlOk('export')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const of = (type) => lines.filter((l) => l.type === type);
  return { of };
}

// Node h's view of org1's usage today (org stats on its replica).
async function usageOn(h) {
  const r = await run(ORGCTL, ['-s', h.storeDir, '--json', 'org', 'stats', 'org1', '--days', '1']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  return { signins: s.signins, denials: s.denials, joins: s.joins };
}

before(async () => {
  store = await PgStore.start();
  if (store.skip) {
    skip = store.skip;
    return;
  }
  nodes = await store.addNodes(['a', 'b'], {
    name: 'pgcount',
    body,
    extra: `OrgsMaxNewUsersPerMinute ${LIMIT}`,
  });
  for (const h of nodes) h.cgi('app/index.cgi', ENV_CGI);
  op = await startOp({
    name: 'okta1',
    redirectUri: nodes.map((h) => `${h.baseURL}/orgs/callback`),
    users: USERS.map((n) => ({ email: `${n}@org1.example.com`, sub: `okta1-${n}` })),
  });
  assert.match(await pgctlOk('init'), /schema version 4 created/);
  await pgctlOk('org', 'create', 'org1', '--domain', 'org1.example.com');
  const secret = writeSecretFile(nodes[0].confDir, 'okta1', op.clientSecret);
  await pgctlOk('conn', 'create', 'okta1', '--issuer', op.issuer, '--client-id', op.clientId,
    '--client-secret-file', secret);
  await pgctlOk('org', 'enable-conn', 'org1', 'okta1', '--auto-membership');
  await store.startNodes();
});

after(async () => {
  await op?.stop();
  await store?.close();
});

test('a version 2 database with data is refused, then upgraded to version 4 by orgctl init in one transaction, its data kept', async (t) => {
  if (skip) return t.skip(skip);
  const { of } = await exported();
  const org = of('org')[0];
  const conn = of('conn')[0];
  const made = async (name) => {
    await pgSql(store.uri, `CREATE DATABASE ${name}`);
    const uri = pgDatabaseUri(store.uri, name);
    for (const s of V2_DDL) await pgSql(uri, s);
    // the rows as version 2 kept them: an org with its domain, a connection
    await pgSql(uri, `INSERT INTO orgs (id, name, doc) VALUES (${sq(org.id)}, ${sq(org.name)}, ${sq(JSON.stringify(org))}::jsonb)`);
    await pgSql(uri, `INSERT INTO org_domains (domain, org_id) VALUES ('org1.example.com', ${sq(org.id)})`);
    await pgSql(uri, `INSERT INTO conns (id, name, doc) VALUES (${sq(conn.id)}, ${sq(conn.name)}, ${sq(JSON.stringify(conn))}::jsonb)`);
    await pgSql(uri, `INSERT INTO change_log (payload) VALUES ('{"reset":true}')`);
    return uri;
  };
  const uri = await made('v2_upgrade');
  // this build refuses a version 2 database until it is upgraded
  let r = await ctlOn(uri, 'org', 'list');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /schema version 2, this build knows 4/);
  r = await ctlOn(uri, 'init');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /schema version 4 upgraded/);
  assert.equal(await sqlValue(uri, 'SELECT version FROM orgs_schema'), '4');
  for (const table of ['usage_days', 'new_users', 'pending_used', 'audit_log']) {
    assert.equal(await sqlValue(uri, `SELECT to_regclass('${table}') IS NOT NULL`), 't', table);
  }
  // version 4: each used sealed login names its owner (no default: an
  // older build's insert fails rather than write a row nobody counts),
  // indexed, and each owner's count is kept
  assert.equal(await sqlValue(uri, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'pending_used' AND column_name = 'owner_id' AND column_default IS NULL AND is_nullable = 'NO'"), '1');
  assert.equal(await sqlValue(uri, "SELECT to_regclass('pending_used_owner') IS NOT NULL"), 't');
  assert.equal(await sqlValue(uri, "SELECT to_regclass('pending_used_owners') IS NOT NULL"), 't');
  // the data kept, and usable: a write works on the upgraded database
  r = await ctlOn(uri, '--json', 'org', 'show', 'org1');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).id, org.id);
  assert.deepEqual(JSON.parse(r.stdout).domains, ['org1.example.com']);
  r = await ctlOn(uri, '--json', 'conn', 'list');
  assert.deepEqual(JSON.parse(r.stdout).map((c) => c.name), ['okta1']);
  r = await ctlOn(uri, 'org', 'enable-conn', 'org1', 'okta1');
  assert.equal(r.code, 0, r.stderr);
  assert.match((await ctlOn(uri, 'init')).stdout, /schema version 4 already there/);

  // an upgrade that fails half way (a table in the way) leaves version 2 whole
  const uri2 = await made('v2_blocked');
  await pgSql(uri2, 'CREATE TABLE audit_log (x integer)');
  r = await ctlOn(uri2, 'init');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /audit_log/);
  assert.equal(await sqlValue(uri2, 'SELECT version FROM orgs_schema'), '2');
  assert.equal(await sqlValue(uri2, "SELECT to_regclass('usage_days') IS NULL"), 't');
  assert.equal(await sqlValue(uri2, 'SELECT count(*) FROM orgs'), '1');
});

test(`OrgsMaxNewUsersPerMinute ${LIMIT}: new users alternating between nodes A and B, exactly ${LIMIT} admitted in the cluster; usage counts both nodes`, async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const marks = nodes.map((h) => h.logMark());
  const t0 = Date.now();
  const outcome = [];
  for (let i = 0; i < USERS.length; i++) {
    const h = nodes[i % 2];
    const r = await signIn(h.client(), {
      idp: new Client(),
      start: '/orgs/login?organization=org1&connection=okta1&return_to=/app/',
      email: `${USERS[i]}@org1.example.com`,
    });
    outcome.push(r.stage === 'app' ? 'in' : r.last.status);
    if (i < LIMIT) {
      assert.equal(r.stage, 'app', `${USERS[i]} on ${h.baseURL}\n${describeHops(r.hops)}`);
    } else {
      assert.equal(r.last.status, 503, `${USERS[i]} on ${h.baseURL}\n${describeHops(r.hops)}`);
      assert.equal(r.last.headers['retry-after'], '60');
    }
  }
  const secs = (Date.now() - t0) / 1000;
  t.diagnostic(`outcome A/B alternating: ${outcome.join(' ')} in ${secs.toFixed(1)} s`);
  // one minute's window: a slower run would see the next one admit again
  assert.ok(secs < 60, `the sign-ins took ${secs} s, past the throttle's minute`);
  // each node refused one (u4 on B, u5 on A), with the existing tag
  await b.waitForLog(/ORGS00521: .*connection okta1 creates new users too fast.*org org1/, { from: marks[1] });
  await a.waitForLog(/ORGS00521: .*connection okta1 creates new users too fast.*org org1/, { from: marks[0] });
  // the database: 3 users, the connection's minute at 3
  assert.equal(await sqlValue(store.uri, 'SELECT count(*) FROM users'), String(LIMIT));
  assert.equal(await sqlValue(store.uri, 'SELECT count FROM new_users'), String(LIMIT));

  // usage: the same on both nodes and in the database, both nodes' sign-ins
  await store.synced();
  const want = { signins: LIMIT, denials: USERS.length - LIMIT, joins: LIMIT };
  assert.deepEqual(await usageOn(a), want, 'node A');
  assert.deepEqual(await usageOn(b), want, 'node B');
  const db = JSON.parse(await pgctlOk('--json', 'org', 'stats', 'org1', '--days', '1'));
  assert.deepEqual({ signins: db.signins, denials: db.denials, joins: db.joins }, want, 'orgctl on the database');

  // an existing user signs in again on B: counted once in the cluster
  const again = await signIn(b.client(), {
    idp: new Client(),
    start: '/orgs/login?organization=org1&connection=okta1&return_to=/app/',
    email: `${USERS[0]}@org1.example.com`,
  });
  assert.equal(again.stage, 'app', describeHops(again.hops));
  await store.synced();
  const want2 = { ...want, signins: LIMIT + 1 };
  assert.deepEqual(await usageOn(a), want2, 'node A after a sign-in on B');
  assert.deepEqual(await usageOn(b), want2, 'node B after its own sign-in (applied twice, counted once)');
});
