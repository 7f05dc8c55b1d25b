#!/usr/bin/env node
// Runs every tests/integration/*.test.mjs, sorted by name (files are
// numbered by layer: 000_load, 100_config_errors, 200_orgctl, ...), each in
// its own node --test process, and prints one summary line:
//   integration: N passed, N failed
// Exits non-zero if any test failed. Arguments filter files by substring:
//   node run.mjs 000 100
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.test.mjs'))
  .filter((f) => !filters.length || filters.some((x) => f.includes(x)))
  .sort();

const FILE_TIMEOUT_MS = Number(process.env.INTEGRATION_FILE_TIMEOUT_MS || 600000);

function runFile(file) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--test', '--test-reporter=tap', '--test-concurrency=1', join(here, file)],
      { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] },
    );
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
      clearTimeout(timer);
      const num = (name) => {
        const m = out.match(new RegExp(`^# ${name} (\\d+)\\s*$`, 'm'));
        return m ? Number(m[1]) : null;
      };
      let passed = num('pass') ?? 0;
      let failed = (num('fail') ?? 0) + (num('cancelled') ?? 0);
      // a crash before any result, or a non-zero exit without a failure
      if (code !== 0 && failed === 0) failed = 1;
      resolve({ passed, failed });
    });
  });
}

let passed = 0;
let failed = 0;
for (const f of files) {
  process.stdout.write(`# ---- ${f}\n`);
  const r = await runFile(f);
  passed += r.passed;
  failed += r.failed;
}
if (!files.length) failed = 1;
console.log(`integration: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
