// Layer 610: httpd restarted (`-k restart`, SIGHUP) and restarted
// gracefully (`-k graceful`, SIGUSR1) again and again while sign-ins and
// authenticated requests run, with core dumps on: no child may die of a
// signal (AH00052 / a core file), and the store stays consistent. Bounded
// by RESTART_LOAD_MS (default 25 s).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { join } from 'node:path';

import { run, sleep } from './lib/proc.mjs';
import { Rogue, startAcmeServer } from './lib/rogue.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { accept: 'text/html', connection: 'close' };
const DURATION_MS = Number(process.env.RESTART_LOAD_MS || 25000);

let op;
let h;
let cores;

before(async () => {
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  await op.mode('good', { fromLoginHint: true });
  h = await startAcmeServer(op, { name: 'restart', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  // the port is bound before httpd installs its signal handlers: a signal
  // sent before "resuming normal operations" would kill it
  await h.waitForLog(/AH00489/, { timeoutMs: 15000 });
  cores = join(h.root, 'cores');
  fs.mkdirSync(cores, { mode: 0o777 });
  fs.chmodSync(cores, 0o777);
  // core dumps on: the directory (httpd makes its children dumpable after
  // the switch to www-data when CoreDumpDirectory is set) and the limit
  // (inherited by every child forked later)
  h.writeConf(`${h.opts.body}\nCoreDumpDirectory ${cores}\n`);
  let mark = h.logMark();
  await h.graceful({ waitMs: 0 });
  await h.waitForLog(/AH00489/, { from: mark, timeoutMs: 15000 });
  const r = await run('prlimit', ['--core=unlimited', '--pid', String(h.pid)]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  try {
    await h?.close();
  } finally {
    await op?.stop();
  }
});

// One sign-in then a few authenticated requests; network errors while a
// restart closes the listeners are expected and counted, answers are
// checked.
async function worker(id, stop, tally) {
  for (let n = 0; !stop.done; n++) {
    const c = h.client({ headers: HTML, timeoutMs: 10000 });
    const email = `w${id}-${n}@restart.example`;
    try {
      const start = await c.get(`/orgs/login?organization=acme&login_hint=${encodeURIComponent(email)}&return_to=%2Fapp%2F`);
      tally[start.status] = (tally[start.status] || 0) + 1;
      if (start.status !== 302) continue;
      const auth = await fetch(start.location, { redirect: 'manual' });
      const cb = await c.get(auth.headers.get('location'));
      tally[cb.status] = (tally[cb.status] || 0) + 1;
      for (let i = 0; i < 5 && !stop.done; i++) {
        const app = await c.get('/app/');
        tally[app.status] = (tally[app.status] || 0) + 1;
      }
    } catch {
      tally.network = (tally.network || 0) + 1;
      await sleep(100);
    }
  }
}

test('restarts and graceful restarts under load: no child dies of a signal', async () => {
  const mark = h.logMark();
  const stop = { done: false };
  const tally = {};
  const workers = [];
  for (let i = 0; i < 6; i++) workers.push(worker(i, stop, tally));
  let restarts = 0;
  const end = Date.now() + DURATION_MS;
  while (Date.now() < end) {
    const at = h.logMark();
    process.kill(h.pid, restarts % 2 ? 'SIGUSR1' : 'SIGHUP');
    restarts++;
    // the next signal once this restart is done (a signal in the middle of
    // reading the configuration is httpd's own business, not this test's)
    await h.waitForLog(/AH00489/, { from: at, timeoutMs: 15000 });
    await sleep(700);
  }
  stop.done = true;
  await Promise.all(workers);
  // one last graceful restart, then the server must still answer
  const last = h.logMark();
  await h.graceful({ waitMs: 0 });
  await h.waitForLog(/AH00489/, { from: last, timeoutMs: 15000 });
  const c = h.client({ headers: HTML });
  assert.equal((await c.get('/app/')).status, 302);

  const log = h.errorLog(mark);
  const dumped = fs.readdirSync(cores);
  console.log(`# restarts ${restarts}, answers ${JSON.stringify(tally)}, cores ${dumped.length}`);
  assert.ok(restarts >= 6, `only ${restarts} restarts`);
  assert.ok((tally[200] || 0) > 10, `too few requests served: ${JSON.stringify(tally)}`);
  assert.doesNotMatch(log, /AH00052|Segmentation fault|Bus error|Aborted|core dumped/);
  assert.deepEqual(dumped, [], 'core files were written');
  assert.equal(tally[500] || 0, 0, `500 answers: ${JSON.stringify(tally)}`);
  assert.doesNotMatch(log, /ORGS00013|ORGS00105|\[(emerg|alert|crit)\]/);
  assert.equal((await h.orgctlOk('check')).split('\n').at(-1), 'store consistent');
});
