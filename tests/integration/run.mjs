#!/usr/bin/env node
// Runs every tests/integration/*.test.mjs, sorted by name (files are
// numbered by layer: 000_load, 100_config_errors, 200_orgctl, ...), each in
// its own node --test process, and prints one summary line:
//   integration: N passed, N failed
// Exits non-zero if any test failed. Arguments filter files by substring:
//   node run.mjs 000 100
// With ORGS_TEST_STORE=postgresql every server's store is a PostgreSQL
// database with its LMDB as the replica (lib/storemode.mjs): one
// throw-away cluster is started for the whole run (its URI passed down in
// ORGS_TEST_PG_URI) and stopped by PID at the end, also on a failure or a
// signal; what cannot pass on that store (PG_SKIP) is left out with its
// reason printed:
//   ORGS_TEST_STORE=postgresql node run.mjs
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { PG_MODE, STORE_MODE, pgSkipsFor } from './lib/storemode.mjs';
import { startPostgres } from './lib/pg.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.test.mjs'))
  .filter((f) => !filters.length || filters.some((x) => f.includes(x)))
  .sort();

const FILE_TIMEOUT_MS = Number(process.env.INTEGRATION_FILE_TIMEOUT_MS || 600000);

let current = null; // the running test file's process

// Tests left out by name: a pattern that matches every other name (and
// not the runner's root, '<root>', which would let every test run).
const escape = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
function namePattern(skips) {
  const names = skips.filter((s) => s.test).map((s) => escape(s.test));
  return names.length ? [`--test-name-pattern=^(?!<root>$)(?!.*(${names.join('|')}))`] : [];
}

function runFile(file, skips = []) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--test', '--test-reporter=tap', '--test-concurrency=1', ...namePattern(skips), join(here, file)],
      { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    current = child;
    let out = '';
    const timer = setTimeout(() => {
      process.stdout.write(`# ${file}: timed out after ${FILE_TIMEOUT_MS} ms\n`);
      child.kill('SIGTERM');
    }, FILE_TIMEOUT_MS);
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('close', (code) => {
      current = null;
      clearTimeout(timer);
      const num = (name) => {
        const m = out.match(new RegExp(`^# ${name} (\\d+)\\s*$`, 'm'));
        return m ? Number(m[1]) : null;
      };
      let passed = num('pass') ?? 0;
      let failed = (num('fail') ?? 0) + (num('cancelled') ?? 0);
      const skipped = num('skipped') ?? 0;
      // a crash before any result, or a non-zero exit without a failure
      if (code !== 0 && failed === 0) failed = 1;
      resolve({ passed, failed, skipped });
    });
  });
}

let pg = null;
function stopPostgres() {
  pg?.killSync?.();
  if (pg?.dir && !process.env.KEEP_TMP) fs.rmSync(pg.dir, { recursive: true, force: true });
  pg = null;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    current?.kill('SIGTERM');
    stopPostgres();
    process.exit(1);
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
const t0 = Date.now();
try {
  if (PG_MODE) {
    pg = await startPostgres();
    if (pg.skip) throw new Error(`ORGS_TEST_STORE=postgresql: ${pg.skip}`);
    process.env.ORGS_TEST_PG_URI = pg.uri;
    process.stdout.write(`# store: postgresql (${pg.uri}, postmaster pid ${pg.pid})\n`);
  }
  for (const f of files) {
    const skips = PG_MODE ? pgSkipsFor(f) : [];
    const whole = skips.find((s) => !s.test);
    if (whole) {
      process.stdout.write(`# ---- ${f}: skipped on a ${STORE_MODE} store: ${whole.reason}\n`);
      skipped++;
      continue;
    }
    process.stdout.write(`# ---- ${f}\n`);
    for (const s of skips) {
      process.stdout.write(`# skipped on a ${STORE_MODE} store: "${s.test}": ${s.reason}\n`);
    }
    const r = await runFile(f, skips);
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
  }
} catch (e) {
  process.stdout.write(`# ${e.stack || e}\n`);
  failed++;
} finally {
  if (pg?.stop) await pg.stop(); // fast shutdown by its pid, SIGKILL when it lingers
  stopPostgres();
}
if (!files.length) failed = 1;
const mode = PG_MODE ? ` (${STORE_MODE} store, ${Math.round((Date.now() - t0) / 1000)} s)` : '';
console.log(`integration: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${mode}`);
process.exit(failed ? 1 : 0);
