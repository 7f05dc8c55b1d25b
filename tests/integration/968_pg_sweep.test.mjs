// Layer 968: the cluster's sweeps on a PostgreSQL store. Two httpd nodes
// on one throw-away database, each with its own replica, sweeping every
// second (OrgsSweepInterval 1s) users without membership unused for 12 s
// (OrgsUserPurgeAfter 8s). Covers: an expired invitation and an idle user
// swept by node A leave the database and BOTH replicas, as one change set
// each; a user who signed in only on node B a moment ago is kept by node
// A's sweep (idle time judged on the database's rows); two nodes sweeping
// at once delete once, with no error and one change set; a sweep interval
// under a second stops httpd naming the directive.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from './lib/client.mjs';
import { startOp, writeSecretFile } from './lib/idp.mjs';
import { ENV_CGI, describeHops, signIn } from './lib/flow.mjs';
import { ORGCTL } from './lib/paths.mjs';
import { pgSql } from './lib/pg.mjs';
import { run, sleep } from './lib/proc.mjs';
import { PgStore, nodeServerOrgs } from './lib/pgnodes.mjs';

const body = `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>
<Location /app/>
    AuthType orgs
    OrgsUnauthenticated 401
    Require org-member
</Location>`;
// long enough that a sign-in on a loaded machine (node B's, then node A's
// that sweeps) takes less
const PURGE_S = 12;
const EXTRA = `OrgsUserPurgeAfter ${PURGE_S}s\nOrgsSweepInterval 1s`;
const USERS = ['alice', 'bob', 'idle1', 'idle2', 'kept'];
const email = (n) => `${n}@org1.example.com`;
// what no sweep may log: its failures, on either store's path
const SWEEP_ERRORS = /ORGS0(0523|0764|0890|0891|0893)/;

let store;
let skip;
let op;
let nodes = [];
let liveInvite;

// Signs email in on node h: the flow's final stage ('app' when admitted).
async function signInOn(h, who) {
  const r = await signIn(h.client(), {
    idp: new Client(),
    start: '/orgs/login?organization=org1&connection=okta1&return_to=/app/',
    email: email(who),
  });
  return r;
}

async function admittedOn(h, who) {
  const r = await signInOn(h, who);
  assert.equal(r.stage, 'app', `${who} on ${h.baseURL}\n${describeHops(r.hops)}`);
}

// A non-member's sign-in: refused, but its user is recorded (last_login).
async function refusedOn(h, who) {
  const r = await signInOn(h, who);
  assert.notEqual(r.stage, 'app', `${who} was admitted`);
  assert.equal(r.last.status, 403, `${who} on ${h.baseURL}\n${describeHops(r.hops)}`);
}

// orgctl --json on a store (the database's URI or a replica directory).
async function json(storeArg, ...args) {
  const r = await run(ORGCTL, ['-s', storeArg, '--key-file', nodes[0].keyFile, '--json', ...args]);
  assert.equal(r.code, 0, `orgctl ${args.join(' ')} on ${storeArg}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
const userIds = async (s) => (await json(s, 'user', 'list')).map((u) => u.id).sort();
const inviteIds = async (s) => (await json(s, 'invite', 'list', 'org1')).map((i) => i.id).sort();
// the database, then each replica
const everywhere = () => [store.uri, ...nodes.map((h) => h.storeDir)];

// A user's id by its subject at the IdP (its email may not be trusted).
async function userId(who) {
  const list = (await json(store.uri, 'user', 'list')).filter((u) => u.sub === `okta1-${who}`);
  assert.equal(list.length, 1, `user ${who}: ${JSON.stringify(list)}`);
  return list[0].id;
}

// How many change-log rows mention text (an id).
async function changesMentioning(text) {
  assert.match(text, /^[A-Za-z0-9_]+$/);
  const out = await pgSql(store.uri, `SELECT 'n=' || count(*) FROM change_log WHERE payload LIKE '%${text}%'`);
  return Number(/n=(\d+)/.exec(out)[1]);
}

// The change-log rows that delete something (payload only "del").
async function deletesMentioning(text) {
  assert.match(text, /^[A-Za-z0-9_]+$/);
  const out = await pgSql(store.uri, `SELECT 'n=' || count(*) FROM change_log WHERE payload LIKE '{"del":%' AND payload LIKE '%${text}%'`);
  return Number(/n=(\d+)/.exec(out)[1]);
}

const createInvite = async (who, ...more) =>
  (await store.ctlOk('invite', 'create', 'org1', email(who), ...more)).split('\n')[0];

before(async () => {
  store = await PgStore.start();
  if (store.skip) {
    skip = store.skip;
    return;
  }
  nodes = await store.addNodes(['a', 'b'], { name: 'pgsweep', body, extra: EXTRA });
  for (const h of nodes) h.cgi('app/index.cgi', ENV_CGI);
  op = await startOp({
    name: 'okta1',
    redirectUri: nodes.map((h) => `${h.baseURL}/orgs/callback`),
    users: USERS.map((n) => ({ email: email(n), sub: `okta1-${n}` })),
  });
  await store.ctlOk('init');
  await store.ctlOk('org', 'create', 'org1', '--domain', 'org1.example.com');
  const secret = writeSecretFile(nodes[0].confDir, 'okta1', op.clientSecret);
  await store.ctlOk('conn', 'create', 'okta1', '--issuer', op.issuer, '--client-id', op.clientId,
    '--client-secret-file', secret);
  // no auto-membership: idle1, idle2 and kept are refused, their users kept
  await store.ctlOk('org', 'enable-conn', 'org1', 'okta1');
  for (const n of ['alice', 'bob']) {
    await store.ctlOk('member', 'add', 'org1', '--connection', 'okta1', '--sub', `okta1-${n}`);
  }
  await store.startNodes();
});

after(async () => {
  await op?.stop();
  await store?.close();
});

test('node A sweeps for the cluster: the expired invitation and the idle user leave the database and both replicas; a user who signed in on node B is kept', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const expired = await createInvite('gone', '--ttl', '1');
  liveInvite = await createInvite('live');
  // both refused on node A: users without membership, last signed in now
  await refusedOn(a, 'idle1');
  await refusedOn(a, 'kept');
  const idle = await userId('idle1');
  const kept = await userId('kept');
  await store.synced();
  for (const s of everywhere()) {
    assert.ok((await userIds(s)).includes(idle), `idle1 in ${s} before the sweep`);
    assert.ok((await inviteIds(s)).includes(expired), `the invitation in ${s} before the sweep`);
  }
  await sleep(PURGE_S * 1000 + 500);
  // kept signs in again, on node B only: its last_login moves in the database
  await refusedOn(b, 'kept');
  const markA = a.logMark();
  const markB = b.logMark();
  await admittedOn(a, 'alice'); // node A's first sign-in: it sweeps
  await a.waitForLog(/ORGS00765: removed [1-9]\d* expired invitations/, { from: markA });
  await a.waitForLog(/ORGS00522: removed [1-9]\d* users without membership/, { from: markA });
  await store.synced();
  for (const s of everywhere()) {
    const users = await userIds(s);
    assert.ok(!users.includes(idle), `idle1 still in ${s}`);
    assert.ok(users.includes(kept), `kept (signed in on node B) removed from ${s}`);
    assert.deepEqual(await inviteIds(s), [liveInvite], `invitations in ${s}`);
  }
  // one change set each, deleting them: the replicas applied what the database did
  assert.equal(await deletesMentioning(idle), 1);
  assert.equal(await deletesMentioning(expired), 1);
  assert.doesNotMatch(a.errorLog(markA), SWEEP_ERRORS);
  assert.doesNotMatch(b.errorLog(markB), SWEEP_ERRORS);
});

test('two nodes sweeping at once delete once: no error, one change set', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const expired = [await createInvite('old1', '--ttl', '1'), await createInvite('old2', '--ttl', '1')];
  await refusedOn(b, 'idle2');
  const idle = await userId('idle2');
  await sleep(PURGE_S * 1000 + 500);
  const marks = nodes.map((h) => h.logMark());
  // a sign-in on each node at the same moment: each node's sweep is due
  await Promise.all([admittedOn(a, 'alice'), admittedOn(b, 'bob')]);
  // each node either swept or found the other one sweeping (ORGS00892)
  for (const [i, h] of nodes.entries()) {
    await h.waitForLog(/ORGS00(765|892): /, { from: marks[i] });
    await h.waitForLog(/ORGS00(522|892): /, { from: marks[i] });
  }
  await store.synced();
  for (const s of everywhere()) {
    assert.ok(!(await userIds(s)).includes(idle), `idle2 still in ${s}`);
    assert.deepEqual(await inviteIds(s), [liveInvite], `invitations in ${s}`);
  }
  assert.equal(await deletesMentioning(idle), 1, 'idle2 deleted by one change set');
  for (const id of expired) assert.equal(await changesMentioning(id), 2, `${id}: its create and one delete`);
  const logs = nodes.map((h, i) => h.errorLog(marks[i]));
  for (const log of logs) assert.doesNotMatch(log, SWEEP_ERRORS);
  // exactly one node removed them
  const removers = logs.filter((l) => /ORGS00765: removed [1-9]/.test(l));
  assert.equal(removers.length, 1, logs.join('\n----\n'));
  const busy = logs.filter((l) => /ORGS00892: /.test(l)).length;
  console.log(`# two nodes at once: ${busy} found the other sweeping (ORGS00892), the other removed`);
});

test('OrgsSweepInterval under a second stops httpd naming the directive', async (t) => {
  if (skip) return t.skip(skip);
  const h = nodes[1];
  await h.stop();
  for (const v of ['0', '500ms', 'often']) {
    const r = await h.configtest(body, nodeServerOrgs(`OrgsSweepInterval ${v}`));
    assert.notEqual(r.code, 0, `OrgsSweepInterval ${v} accepted`);
    assert.match(r.stderr + r.stdout, /OrgsSweepInterval: /);
  }
  const ok = await h.configtest(body, nodeServerOrgs('OrgsSweepInterval 10m'));
  assert.equal(ok.code, 0, ok.stderr);
});
