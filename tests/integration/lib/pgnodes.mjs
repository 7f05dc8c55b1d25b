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
//   await s.close();
import fs from 'node:fs';

import { DEFAULT_SERVER_ORGS, Httpd } from './httpd.mjs';
import { ORGCTL } from './paths.mjs';
import { run, sleep } from './proc.mjs';
import { startPostgres } from './pg.mjs';

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
  }

  // New nodes (not started) named `${name}-${n}`; every node gets the first
  // node's OrgsCryptoKey (each must open the connections' sealed secrets).
  // extra: server-wide lines after the store's; a function of the node
  // list when it needs their addresses.
  async addNodes(names, { name = 'pg-node', body = '', extra = '' } = {}) {
    const made = [];
    for (const n of names) {
      const h = await Httpd.create({
        name: `${name}-${n}`,
        body,
        pgUri: this.uri,
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

  async close() {
    for (const h of this.nodes) await h.close();
    await this.pg.close();
  }
}
