// A throw-away PostgreSQL cluster for the tests of the PostgreSQL store:
// initdb in a temporary directory as an unprivileged user (PostgreSQL
// refuses to run as root: tests running as root use `runuser -u nobody`),
// on a free loopback port with its socket in that directory, trust
// authentication on loopback only. Stopped by the postmaster's PID, also
// when a test fails (process exit handler).
//
//   const pg = await startPostgres();
//   pg.uri            // postgresql://orgs@127.0.0.1:PORT/postgres
//   await pg.kill();  // SIGKILL the postmaster (an outage)
//   await pg.start(); // again, same data
//   await pg.close(); // stop and remove the directory (kept with KEEP_TMP=1)
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

import { freePort, run, sleep } from './proc.mjs';

// Debian's server binaries: /usr/lib/postgresql/<major>/bin (the newest).
export function pgBinDir() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  const majors = fs.existsSync(base)
    ? fs.readdirSync(base).filter((d) => fs.existsSync(join(base, d, 'bin', 'initdb')))
    : [];
  majors.sort((a, b) => Number(b) - Number(a));
  return majors.length ? join(base, majors[0], 'bin') : null;
}

const running = new Set();
process.on('exit', () => {
  for (const pg of running) pg.killSync();
});

function readPid(dataDir) {
  try {
    return Number(fs.readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return 0;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

class Postgres {
  constructor(dir, port, bin) {
    this.dir = dir;
    this.dataDir = join(dir, 'data');
    this.port = port;
    this.bin = bin;
    this.user = 'orgs';
    this.uri = `postgresql://${this.user}@127.0.0.1:${port}/postgres`;
    this.pid = 0;
  }

  // As the unprivileged owner when we are root.
  #as(cmd, args, opts) {
    if (process.getuid() !== 0) return run(join(this.bin, cmd), args, opts);
    return run('runuser', ['-u', 'nobody', '--', join(this.bin, cmd), ...args], opts);
  }

  async init() {
    const r = await this.#as('initdb', ['-D', this.dataDir, '-U', this.user, '--auth=trust',
      '-E', 'UTF8', '--no-sync', '--no-instructions'], { timeoutMs: 120000 });
    if (r.code !== 0) throw new Error(`initdb failed: ${r.stderr}`);
  }

  // After a kill, the old backends may hold the shared memory a moment:
  // the start is tried again for a few seconds.
  async start() {
    const opts = `-k ${this.dir} -p ${this.port} -h 127.0.0.1 -c fsync=off ` +
      '-c synchronous_commit=off -c full_page_writes=off';
    let r;
    for (let i = 0; i < 20; i++) {
      r = await this.#as('pg_ctl', ['-D', this.dataDir, '-o', opts, '-l',
        join(this.dir, 'postgres.log'), '-w', '-t', '60', 'start'], { timeoutMs: 90000 });
      if (r.code === 0) break;
      await sleep(500);
    }
    if (r.code !== 0) {
      throw new Error(`pg_ctl start failed: ${r.stderr}${r.stdout}\n${this.log()}`);
    }
    this.pid = readPid(this.dataDir);
    running.add(this);
    return this;
  }

  // A new empty database; its URI.
  async createdb(name) {
    const r = await this.#as('createdb', ['-h', '127.0.0.1', '-p', String(this.port), '-U', this.user, name]);
    if (r.code !== 0) throw new Error(`createdb failed: ${r.stderr}`);
    return `postgresql://${this.user}@127.0.0.1:${this.port}/${name}`;
  }

  log() {
    try {
      return fs.readFileSync(join(this.dir, 'postgres.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async #waitGone(pid, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (pid && alive(pid) && Date.now() < deadline) await sleep(50);
  }

  // Fast shutdown by PID (SIGINT), SIGKILL when it lingers.
  async stop() {
    const pid = this.pid;
    if (!pid) return;
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // gone
    }
    await this.#waitGone(pid, 20000);
    this.killSync();
  }

  // An outage: the postmaster killed outright (its backends exit with it).
  // Its backends notice and exit by themselves; start() waits for them.
  async kill() {
    const pid = this.pid;
    this.killSync();
    await this.#waitGone(pid, 10000);
  }

  killSync() {
    if (this.pid && alive(this.pid)) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    running.delete(this);
    this.pid = 0;
  }

  async close() {
    await this.stop();
    if (!process.env.KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// A started cluster; null (with the reason in .skip) when PostgreSQL is not
// installed, so a test can skip instead of failing on a machine without it.
export async function startPostgres() {
  const bin = pgBinDir();
  if (!bin) return { skip: 'PostgreSQL server binaries not installed (apt-get install postgresql)' };
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'orgs-it-pg-'));
  fs.chmodSync(dir, 0o700);
  if (process.getuid() === 0) {
    const uid = Number((await run('id', ['-u', 'nobody'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'nobody'])).stdout.trim());
    fs.chownSync(dir, uid, gid);
  }
  const pg = new Postgres(dir, await freePort(), bin);
  try {
    await pg.init();
    await pg.start();
  } catch (e) {
    await pg.close();
    throw e;
  }
  return pg;
}

// One SQL statement on a cluster (psql as a client: no privileges needed),
// e.g. pgSql(uri, 'CREATE DATABASE x'); throws with psql's error.
export async function pgSql(uri, sql) {
  const bin = pgBinDir();
  const psql = bin ? join(bin, 'psql') : 'psql';
  const r = await run(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', uri, '-c', sql],
    { timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`psql ${sql}: ${r.stderr.trim()}`);
  return r.stdout;
}

// A URI of the same cluster naming another database.
export function pgDatabaseUri(uri, name) {
  const u = new URL(uri);
  u.pathname = `/${name}`;
  return u.toString();
}
