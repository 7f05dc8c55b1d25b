// Several httpd nodes on one PostgreSQL store, each with its own LMDB
// replica (OrgsStore postgresql://... + OrgsStoreReplica), for the tests of
// the PostgreSQL store itself. The cluster is a throw-away one of the
// file's own (lib/pg.mjs): those tests kill and restart it, create
// databases in it.
//
//   const s = await PgStore.start();      // s.skip: no PostgreSQL here
//   const [a, b] = await s.addNodes(['a', 'b'], { name: 'pg-node', body, extra });
//   await s.ctlOk('init');                 // orgctl on the database (node A's key)
//   await s.startNodes();                  // started, each replica rebuilt (ORGS00838)
//   await s.synced();                      // every replica at the change log's newest
//   await s.close();                       // nodes, OPs of okta1(), the cluster
//
// and what the tests of several nodes do to one of them: replicatorPid(h),
// paused(h, fn) (its replicator stopped meanwhile), replicaJson(h, ...),
// signInOn(h, email), report(t, msg).
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { Client } from './client.mjs';
import { signIn } from './flow.mjs';
import { DEFAULT_SERVER_ORGS, Httpd } from './httpd.mjs';
import { startOp, writeSecretFile } from './idp.mjs';
import { ORGCTL } from './paths.mjs';
import { run, sleep } from './proc.mjs';
import { startPostgres } from './pg.mjs';

// A site whose /app/ (a CGI there: h.cgi('app/index.cgi', ENV_CGI)) admits
// an org's members and answers 401 to anyone else.
export const APP_BODY = `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>
<Location /app/>
    AuthType orgs
    OrgsUnauthenticated 401
    Require org-member
</Location>`;

// Waits until fn() is true; the time it took (ms).
export async function until(fn, { timeoutMs = 10000, stepMs = 10 } = {}) {
  const t0 = performance.now();
  for (;;) {
    if (await fn()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}

// The server-wide lines of a node: the store in the database (lib/httpd.mjs
// turns `OrgsStore {{STORE}}` into the URI and the replica), plus extra.
export const nodeServerOrgs = (extra = '') => `${DEFAULT_SERVER_ORGS}${extra ? `\n${extra}` : ''}`;

export class PgStore {
  // A started cluster (its `postgres` database the store), or { skip }.
  static async start() {
    const pg = await startPostgres();
    if (pg.skip) return { skip: pg.skip, close: async () => {} };
    return new PgStore(pg);
  }

  constructor(pg) {
    this.pg = pg;
    this.uri = pg.uri;
    this.nodes = [];
    this.ops = [];
  }

  // New nodes (not started) named `${name}-${n}`; every node gets the first
  // node's OrgsCryptoKey (each must open the connections' sealed secrets).
  // extra: server-wide lines after the store's; a function of the node
  // list when it needs their addresses. uri: the database as these nodes
  // reach it (default the cluster's own address; e.g. through a proxy).
  async addNodes(names, { name = 'pg-node', body = '', extra = '', uri = this.uri } = {}) {
    const made = [];
    for (const n of names) {
      const h = await Httpd.create({
        name: `${name}-${n}`,
        body,
        pgUri: uri,
        serverOrgs: nodeServerOrgs(typeof extra === 'function' ? '' : extra),
      });
      if (this.nodes.length) fs.copyFileSync(this.nodes[0].keyFile, h.keyFile);
      this.nodes.push(h);
      made.push(h);
    }
    if (typeof extra === 'function') {
      for (const h of made) {
        h.opts.serverOrgs = nodeServerOrgs(extra(this.nodes));
        h.writeConf();
      }
    }
    return made;
  }

  // orgctl on the database with the nodes' key: { code, stdout, stderr }.
  ctl(...args) {
    return run(ORGCTL, ['-s', this.uri, '--key-file', this.nodes[0].keyFile, ...args]);
  }

  // Like ctl() but throws on a non-zero exit; trimmed stdout.
  async ctlOk(...args) {
    const r = await this.ctl(...args);
    if (r.code !== 0) throw new Error(`orgctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout.trim();
  }

  // Starts the nodes (default: all); each waits for its new replica to be
  // filled from a snapshot by its replicator (ORGS00838).
  async startNodes(nodes = this.nodes, { timeoutMs = 20000 } = {}) {
    for (const h of nodes) {
      await h.start();
      await h.waitForLog(/ORGS00838: OrgsStoreReplica .* rebuilt from postgresql:\/\//, { timeoutMs });
    }
  }

  // Returns once every running node's replica has applied the change log
  // to its newest change (what was committed before the call).
  async synced(nodes = this.nodes) {
    for (const h of nodes) if (h.child) await h.syncReplica();
  }

  // The OP okta1, its users `${u}@org1.example.com` (sub okta1-u), whose
  // client redirects to the callback of every node, and the connection
  // okta1 made for it on the database (after `init`). Stopped by close().
  async okta1(users) {
    const op = await startOp({
      name: 'okta1',
      redirectUri: this.nodes.map((h) => `${h.baseURL}/orgs/callback`),
      users: users.map((n) => ({ email: `${n}@org1.example.com`, sub: `okta1-${n}` })),
    });
    this.ops.push(op);
    const secret = writeSecretFile(this.nodes[0].confDir, 'okta1', op.clientSecret);
    await this.ctlOk('conn', 'create', 'okta1', '--issuer', op.issuer, '--client-id', op.clientId,
      '--client-secret-file', secret);
    return op;
  }

  async close() {
    for (const h of this.nodes) await h.close();
    for (const op of this.ops) await op.stop();
    await this.pg.close();
  }
}

// The pid of node h's replicator (its last ORGS00832 line).
export function replicatorPid(h) {
  const all = [...h.errorLog().matchAll(/ORGS00832: .*replicator started \(pid (\d+)\)/g)];
  assert.ok(all.length, 'no ORGS00832 line');
  return Number(all[all.length - 1][1]);
}

// Runs fn with node h's replicator paused (SIGSTOP): h's replica receives
// nothing meanwhile.
export async function paused(h, fn) {
  const pid = replicatorPid(h);
  // the replicator applies a change within tens of milliseconds: stopped
  // after that, it holds no replica transaction the children would wait on
  await sleep(300);
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

// What node h's replica holds, read as httpd reads it (orgctl --json).
export async function replicaJson(h, ...args) {
  const r = await run(ORGCTL, ['-s', h.storeDir, '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

// A sign-in on node h to org through okta1 (lib/flow.mjs signIn, a new
// browser): the browser, the hops and the last hop.
export async function signInOn(h, email, org = 'org1') {
  const app = h.client();
  const r = await signIn(app, {
    idp: new Client(),
    start: `/orgs/login?organization=${org}&connection=okta1&return_to=/app/`,
    email,
  });
  return { app, r, last: r.hops[r.hops.length - 1] };
}

// A figure a test measured, in its TAP output and on the console.
export function report(t, msg) {
  t.diagnostic(msg);
  process.stdout.write(`# ${msg}\n`);
}
