// The store the integration suite runs on: LMDB (the default) or, with
// ORGS_TEST_STORE=postgresql, a PostgreSQL store with each httpd's LMDB as
// its replica (OrgsStore postgresql://... + OrgsStoreReplica). In that mode
// run.mjs starts one throw-away cluster for the whole run and passes its
// URI down (ORGS_TEST_PG_URI); lib/httpd.mjs gives every server its own
// database in it. A test file run on its own in that mode starts its own
// cluster (sharedPostgres()).
//
// PG_SKIP is the one list of what cannot pass on a PostgreSQL store, each
// with its reason: run.mjs leaves those files (or tests, by name) out in
// that mode and prints why.
import fs from 'node:fs';

import { startPostgres } from './pg.mjs';

export const STORE_MODE = (process.env.ORGS_TEST_STORE || 'lmdb').toLowerCase();
export const PG_MODE = STORE_MODE === 'postgresql';
if (!['lmdb', 'postgresql'].includes(STORE_MODE)) {
  throw new Error(`ORGS_TEST_STORE=${STORE_MODE}: lmdb or postgresql`);
}

// { file: a test file's name prefix, test: (optional) a substring of a
// test's name, reason }.
export const PG_SKIP = [
  { file: '600_store_faults', reason: 'the LMDB file itself: map size, damaged and foreign files' },
  { file: '601_store_growth', reason: 'the LMDB file itself: map growth' },
  { file: '602_failed_session_delete', reason: 'the LMDB file itself: a writer held by a stuck reader' },
  { file: '603_full_of_expired_sessions', reason: 'the LMDB file itself: a full map' },
  { file: '604_disk_full', reason: 'the LMDB file itself: a full disk under the store' },
  { file: '605_graceful_map_size',
    reason: 'the LMDB file itself: orgctl --max-size against the map of older children (orgctl writes to the database)' },
  { file: '920_exhaustion', test: 'cookieless login starts from one address store nothing',
    reason: 'pending logins travel in the browser\'s sealed cookie (OrgsLoginState store is refused): no pending-login table to fill' },
  { file: '920_exhaustion', test: 'a client keeping cookies only displaces its own logins',
    reason: 'pending logins travel in the browser\'s sealed cookie: no pending-login table to fill' },
  { file: '931_pending_networks', test: 'a network filling the whole table',
    reason: 'pending logins travel in the browser\'s sealed cookie: no pending-login table to fill' },
  { file: '931_pending_networks', test: 'one network holds at most OrgsMaxPendingPerNetwork',
    reason: 'pending logins travel in the browser\'s sealed cookie: no pending-login table to fill' },
  { file: '820_invitations', test: 'invitation without auto-membership',
    reason: 'the audit of a change orgctl makes on the database is not kept (each node keeps the audit of what it served)' },
  { file: '820_invitations', test: 'revoked invitation: 404 at /login',
    reason: 'the audit of a change orgctl makes on the database is not kept (each node keeps the audit of what it served)' },
];

// The entries for a file (all of it: one entry without `test`).
export function pgSkipsFor(file) {
  return PG_SKIP.filter((s) => file.startsWith(s.file));
}

// The cluster of this run: the one run.mjs started, or (a file run on its
// own) one started for this process, stopped at its exit.
let shared = null;
export async function sharedPostgres() {
  if (shared) return shared;
  const uri = process.env.ORGS_TEST_PG_URI;
  if (uri) {
    const u = new URL(uri);
    shared = { uri, host: u.hostname, port: Number(u.port), user: decodeURIComponent(u.username) };
    return shared;
  }
  const pg = await startPostgres();
  if (pg.skip) throw new Error(`ORGS_TEST_STORE=postgresql: ${pg.skip}`);
  shared = { uri: pg.uri, host: '127.0.0.1', port: pg.port, user: pg.user, own: pg };
  // stopped by lib/pg.mjs's exit handler (registered first), then removed
  process.on('exit', () => {
    pg.killSync();
    if (!process.env.KEEP_TMP) fs.rmSync(pg.dir, { recursive: true, force: true });
  });
  return shared;
}
