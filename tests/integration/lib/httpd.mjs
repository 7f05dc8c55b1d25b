// A real Debian apache2 (event MPM) with mod_auth_orgs, in its own temporary
// ServerRoot, on a free loopback port, with its own PidFile, ErrorLog and
// store. Started and stopped by PID.
//
//   const h = await Httpd.create({ body: `<Location /app>AuthType orgs ...</Location>` });
//   await h.start();            // throws with the error log if httpd does not come up
//   const res = await h.client().get('/app/');
//   h.errorLog();               // contents of the ErrorLog
//   await h.orgctl('org', 'create', 'org1');
//   await h.close();            // stop + remove the ServerRoot (kept with KEEP_TMP=1)
//
// Template variables ({{NAME}}) usable in `body`, `serverOrgs` and `vars`:
// ROOT, PORT, BASE_URL, HTDOCS, LOGS, RUN, STORE, KEY, MODULE_SO, MODULES_DIR,
// PG_URI (the server's PostgreSQL database, '' when none), plus any opts.vars.
//
// On a PostgreSQL store (ORGS_TEST_STORE=postgresql, lib/storemode.mjs, or
// opts.pgUri): the server's `OrgsStore {{STORE}}` line becomes
// `OrgsStore {{PG_URI}}` + `OrgsStoreReplica {{STORE}}` (the store
// directory is then the node's replica), orgctl() works on the database,
// and every write made through orgctl() returns once this node's replica
// has applied it (syncReplica()), so a test reads what it wrote.
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import crypto from 'node:crypto';

import {
  APACHE2,
  APACHE_MODULES_DIR,
  HTTPD_GROUP,
  HTTPD_USER,
  MODULE_SO,
  ORGCTL,
} from './paths.mjs';
import { freePort, run, sleep, spawnTracked, stopProcess, waitForPort } from './proc.mjs';
import { Client } from './client.mjs';
import { PG_MODE, sharedPostgres } from './storemode.mjs';
import { pgDatabaseUri, pgSql } from './pg.mjs';

// Modules every test server loads (besides the compiled-in core, so,
// log_config, unixd, ...). Order matters only for mpm first.
export const DEFAULT_MODULES = [
  'mpm_event',
  'authn_core',
  'authz_core',
  'authz_user',
  'authz_host',
  'mime',
  'dir',
  'alias',
  'cgid',
  'env',
  'headers',
  'setenvif',
];

// The server-wide Orgs* directives every test server gets unless
// opts.serverOrgs replaces them (null: none at all).
export const DEFAULT_SERVER_ORGS = `OrgsStore {{STORE}}
OrgsStoreMaxSize 64M
OrgsCryptoKey file:{{KEY}}`;

const roots = new Set();

process.on('exit', (code) => {
  if (process.env.KEEP_TMP || (code ?? process.exitCode ?? 0) !== 0) {
    for (const r of roots) process.stderr.write(`[harness] kept ${r}\n`);
    return;
  }
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function lookupId(file, name) {
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return Number(f[2]);
  }
  throw new Error(`${name} not found in ${file}`);
}

// orgctl commands that work on an LMDB store only, and what each node keeps
// for itself (API tokens, the audit of the changes it served): on a
// PostgreSQL node they run on its replica (as an operator would).
const LMDB_ONLY = ['check', 'doctor', 'backup', 'restore', 'token', 'audit'];
// orgctl commands that change nothing (no wait for the replica).
const READ_VERBS = ['list', 'show', 'stats'];
const READ_COMMANDS = ['audit', 'export', 'help', 'replica-status', ...LMDB_ONLY];

// The first word of an orgctl argument list that is not an option.
function orgctlCommand(args) {
  const i = args.findIndex((a) => typeof a === 'string' && !a.startsWith('-'));
  return i < 0 ? [] : [args[i], args[i + 1]];
}

// A server-wide config on a PostgreSQL store: its `OrgsStore <its own
// store directory>` line turned into the database + the replica there
// (a config that names a replica itself is left as written).
export function pgStoreLines(orgs, storeDir) {
  if (/^OrgsStoreReplica\b/m.test(orgs)) return orgs; // written for a replica already
  const dir = storeDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return orgs.replace(new RegExp(`^OrgsStore[ \t]+(\\{\\{STORE\\}\\}|${dir})[ \t]*$`, 'm'),
    'OrgsStore {{PG_URI}}\nOrgsStoreReplica {{STORE}}');
}

export function render(template, vars) {
  return template.replace(/\{\{([A-Z0-9_]+)\}\}/g, (m, name) => {
    if (!(name in vars)) throw new Error(`template variable ${name} is not defined`);
    return String(vars[name]);
  });
}

export class Httpd {
  // opts:
  //   name        short label used in the temp dir name
  //   body        config appended after the generated preamble (template)
  //   serverOrgs  server-wide Orgs* lines (template); default DEFAULT_SERVER_ORGS; null = none
  //   modules     extra module names to load from APACHE_MODULES_DIR (e.g. ['proxy', 'proxy_http'])
  //   loadOrgs    false: do not load mod_auth_orgs at all
  //   logLevel    default 'warn auth_orgs:debug'
  //   allowInternal  OrgsBackchannelAllowInternal entries; default '127.0.0.1' (the
  //               test OPs all listen on loopback); null = the directive not written
  //   vars        extra template variables
  //   keyBytes    size of the generated crypto key (default 48 random bytes, base64)
  //   pgUri       a PostgreSQL database (schema created) this server's store is in, shared
  //               with other servers; default: in PostgreSQL mode a new database of its own
  //   store       'lmdb': an LMDB store even in PostgreSQL mode
  static async create(opts = {}) {
    const h = new Httpd(opts);
    await h.#init();
    return h;
  }

  constructor(opts) {
    this.opts = opts;
    this.child = null;
  }

  async #init() {
    const o = this.opts;
    const label = (o.name || 'httpd').replace(/[^A-Za-z0-9_-]/g, '_');
    this.root = fs.mkdtempSync(join(os.tmpdir(), `orgs-it-${label}-`));
    roots.add(this.root);
    fs.chmodSync(this.root, 0o755); // www-data must traverse it
    this.uid = lookupId('/etc/passwd', HTTPD_USER);
    this.gid = lookupId('/etc/group', HTTPD_GROUP);

    this.confDir = join(this.root, 'conf');
    this.htdocs = join(this.root, 'htdocs');
    this.logs = join(this.root, 'logs');
    this.runDir = join(this.root, 'run');
    this.storeDir = join(this.root, 'store');
    this.keyFile = join(this.confDir, 'orgs.key');
    this.confFile = join(this.confDir, 'httpd.conf');
    for (const d of [this.confDir, this.htdocs, this.logs, this.runDir]) {
      fs.mkdirSync(d, { mode: 0o755 });
      fs.chmodSync(d, 0o755);
    }
    fs.mkdirSync(this.storeDir, { mode: 0o700 });
    fs.chownSync(this.storeDir, this.uid, this.gid);
    // The key is read by the parent (root) only; not world-readable.
    fs.writeFileSync(
      this.keyFile,
      crypto.randomBytes(o.keyBytes ?? 48).toString('base64') + '\n',
      { mode: 0o600 },
    );
    fs.writeFileSync(join(this.htdocs, 'index.html'), '<h1>it works</h1>\n', { mode: 0o644 });

    this.port = o.port ?? (await freePort());
    this.baseURL = `http://127.0.0.1:${this.port}`;
    this.vars = {
      ROOT: this.root,
      PORT: this.port,
      BASE_URL: this.baseURL,
      HTDOCS: this.htdocs,
      LOGS: this.logs,
      RUN: this.runDir,
      STORE: this.storeDir,
      KEY: this.keyFile,
      MODULE_SO,
      MODULES_DIR: APACHE_MODULES_DIR,
      PG_URI: '',
      ...(o.vars || {}),
    };
    if (o.pgUri) {
      this.pgUri = o.pgUri;
    } else if (PG_MODE && o.loadOrgs !== false && o.store !== 'lmdb') {
      await this.#createDatabase(label);
    }
    if (this.pgUri) this.vars.PG_URI = this.pgUri;
    this.writeConf();
  }

  // A database of its own in the run's cluster, its schema created.
  async #createDatabase(label) {
    const pg = await sharedPostgres();
    const name = `it_${label.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40)}_` +
      crypto.randomBytes(4).toString('hex');
    await pgSql(pg.uri, `CREATE DATABASE ${name}`);
    this.ownDatabase = { admin: pg.uri, name };
    this.pgUri = pgDatabaseUri(pg.uri, name);
    const r = await run(ORGCTL, ['-s', this.pgUri, 'init']);
    if (r.code !== 0) throw new Error(`orgctl init on ${this.pgUri}: ${r.stderr}`);
  }

  get errorLogFile() {
    return join(this.logs, 'error_log');
  }

  get pidFile() {
    return join(this.runDir, 'httpd.pid');
  }

  // The full httpd.conf for a body (default: opts.body).
  renderConf(body = this.opts.body ?? '', serverOrgs = this.opts.serverOrgs) {
    const o = this.opts;
    const modules = [...DEFAULT_MODULES, ...(o.modules || [])]
      .map((m) => `LoadModule ${m}_module {{MODULES_DIR}}/mod_${m}.so`)
      .join('\n');
    const orgsModule = o.loadOrgs === false ? '' : 'LoadModule auth_orgs_module {{MODULE_SO}}';
    let orgs = serverOrgs === undefined ? DEFAULT_SERVER_ORGS : serverOrgs || '';
    if (this.pgUri) orgs = pgStoreLines(orgs, this.storeDir);
    const internal = o.allowInternal === undefined ? '127.0.0.1' : o.allowInternal;
    const allowInternal = o.loadOrgs === false || !internal ? '' : `OrgsBackchannelAllowInternal ${internal}`;
    const tpl = `# generated by tests/integration/lib/httpd.mjs
ServerRoot "{{ROOT}}"
ServerName 127.0.0.1
Listen 127.0.0.1:{{PORT}}
PidFile {{RUN}}/httpd.pid
DefaultRuntimeDir {{RUN}}
ScriptSock {{RUN}}/cgid.sock
${modules}
${orgsModule}
User ${HTTPD_USER}
Group ${HTTPD_GROUP}
StartServers 2
ServerLimit 4
ThreadsPerChild 8
MaxRequestWorkers 32
MinSpareThreads 8
MaxSpareThreads 24
Timeout 20
ErrorLog {{LOGS}}/error_log
LogLevel ${o.logLevel ?? 'warn auth_orgs:debug'}
LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
CustomLog {{LOGS}}/access_log common
TypesConfig /etc/mime.types
AddHandler cgi-script .cgi
DirectoryIndex index.html
DocumentRoot "{{HTDOCS}}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{{HTDOCS}}">
    Options +ExecCGI
    Require all granted
</Directory>
${allowInternal}
${orgs}
${body}
`;
    return render(tpl, this.vars);
  }

  // Writes httpd.conf (body/serverOrgs default to the create() options).
  writeConf(body, serverOrgs) {
    this.confText = this.renderConf(body, serverOrgs);
    fs.writeFileSync(this.confFile, this.confText, { mode: 0o644 });
    return this.confFile;
  }

  // Writes a file under the ServerRoot (relative path), readable by www-data.
  file(rel, content, mode = 0o644) {
    const p = join(this.root, rel);
    fs.mkdirSync(join(p, '..'), { recursive: true, mode: 0o755 });
    fs.writeFileSync(p, content, { mode });
    fs.chmodSync(p, mode);
    return p;
  }

  // A CGI script under htdocs (rel like 'app/env.cgi'), executable.
  cgi(rel, script) {
    return this.file(join('htdocs', rel), script, 0o755);
  }

  // `apache2 -t` on the current httpd.conf, or on a new body when given
  // (serverOrgs as in create()): { code, stdout, stderr }.
  async configtest(body, serverOrgs) {
    if (body !== undefined || serverOrgs !== undefined) {
      this.writeConf(body ?? this.opts.body ?? '', serverOrgs);
    }
    return run(APACHE2, ['-t', '-f', this.confFile]);
  }

  async start({ timeoutMs = 15000 } = {}) {
    if (this.child) throw new Error('httpd already started');
    const child = spawnTracked(APACHE2, ['-f', this.confFile, '-DFOREGROUND']);
    this.child = child;
    try {
      await waitForPort(this.port, { child, timeoutMs });
    } catch (e) {
      await this.stop();
      throw new Error(
        `httpd did not start: ${e.message}\n--- stderr ---\n${child.output}\n` +
          `--- error_log ---\n${this.errorLog()}`,
      );
    }
    // a server on a database of its own serves what was written before
    // it started (a shared one's tests wait as they need)
    if (this.ownDatabase) await this.syncReplica();
    return this;
  }

  get pid() {
    return this.child?.pid;
  }

  // SIGTERM to the parent (it stops its children), wait for its exit.
  async stop() {
    const child = this.child;
    this.child = null;
    if (child) await stopProcess(child, { signal: 'SIGTERM', timeoutMs: 15000 });
  }

  // Graceful restart (SIGUSR1): new children re-read the config.
  async graceful({ waitMs = 1000 } = {}) {
    if (!this.child) throw new Error('httpd not running');
    process.kill(this.child.pid, 'SIGUSR1');
    await new Promise((r) => setTimeout(r, waitMs));
  }

  // Stops httpd and removes the ServerRoot (unless KEEP_TMP is set) and
  // its own database.
  async close() {
    await this.stop();
    if (this.ownDatabase && !process.env.KEEP_TMP) {
      const { admin, name } = this.ownDatabase;
      this.ownDatabase = null;
      await pgSql(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    }
    if (!process.env.KEEP_TMP) {
      fs.rmSync(this.root, { recursive: true, force: true });
      roots.delete(this.root);
    }
  }

  // ErrorLog contents ('' when not there yet); from = an earlier logMark().
  errorLog(from = 0) {
    try {
      return fs.readFileSync(this.errorLogFile, 'utf8').slice(from);
    } catch {
      return '';
    }
  }

  logMark() {
    return this.errorLog().length;
  }

  // Waits until the error log (after mark) matches re; returns the match.
  async waitForLog(re, { from = 0, timeoutMs = 5000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.errorLog(from).match(re);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`error_log never matched ${re}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  accessLog() {
    try {
      return fs.readFileSync(join(this.logs, 'access_log'), 'utf8');
    } catch {
      return '';
    }
  }

  url(path = '/') {
    return new URL(path, this.baseURL).toString();
  }

  // A browser-like client (cookie jar, no automatic redirects) on this server.
  client(opts = {}) {
    return new Client({ base: this.baseURL, ...opts });
  }

  // Runs the built orgctl on this server's store and key:
  // { code, stdout, stderr }. Pass { input, env, timeoutMs } as the last
  // argument for stdin, more environment, a longer limit than 30 s.
  // On a PostgreSQL store it runs on the database (the LMDB-only commands
  // on the replica) and a write returns once the replica has it.
  async orgctl(...args) {
    let opts = {};
    if (args.length && typeof args[args.length - 1] === 'object') opts = args.pop();
    const [cmd, verb] = orgctlCommand(args);
    // the day's counters are each node's too (org stats, usage)
    const perNode = LMDB_ONLY.includes(cmd) || cmd === 'usage' || (cmd === 'org' && verb === 'stats');
    const onDb = !!this.pgUri && !perNode;
    const r = await run(ORGCTL, ['-s', onDb ? this.pgUri : this.storeDir, '--key-file', this.keyFile, ...args], {
      input: opts.input,
      env: { ...process.env, ...(opts.env || {}) },
      timeoutMs: opts.timeoutMs,
    });
    // orgctl runs as root on a store directory owned by httpd's user: the
    // store creates its files as that user (checked in 000_load).
    if (onDb && !READ_COMMANDS.includes(cmd) && !READ_VERBS.includes(verb)) {
      await this.syncReplica({ timeoutMs: Math.max(30000, opts.timeoutMs ?? 0) });
    }
    return r;
  }

  // On a PostgreSQL store: returns once this node's replica has applied
  // every change committed so far (the replica's position against the
  // change log's newest, `orgctl replica-status`). While httpd is down
  // nobody applies the log: it is applied here (`orgctl replicate`), so
  // the node starts current.
  async syncReplica({ timeoutMs = 30000 } = {}) {
    if (!this.pgUri) return;
    if (!this.child) {
      const r = await run(ORGCTL, ['-s', this.pgUri, 'replicate', this.storeDir], { timeoutMs: 120000 });
      if (r.code !== 0) throw new Error(`orgctl replicate ${this.storeDir}: ${r.stderr.trim()}`);
      return;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await run(ORGCTL, ['-s', this.pgUri, '--json', 'replica-status', this.storeDir]);
      const st = r.code === 0 ? JSON.parse(r.stdout) : r.stderr.trim();
      if (st.behind === 0 && st.replica >= 0) return;
      if (!this.child) return this.syncReplica();
      if (Date.now() > deadline) {
        throw new Error(`the replica of ${this.baseURL} did not catch up: ${JSON.stringify(st)}`);
      }
      await sleep(20);
    }
  }

  // Like orgctl() but throws on a non-zero exit; returns trimmed stdout.
  async orgctlOk(...args) {
    const r = await this.orgctl(...args);
    if (r.code !== 0) {
      throw new Error(`orgctl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    }
    return r.stdout.trim();
  }

}
