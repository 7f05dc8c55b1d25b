// The malicious OpenID Provider (tests/idp/rogue.mjs) for attack tests:
// started on a free loopback port, stopped by PID, its mode set at run time.
//
//   const op = await Rogue.start({ clientId: 'mod-auth-orgs-rogue', clientSecret: 's' });
//   op.issuer;                       // http://127.0.0.1:PORT
//   await op.mode('wrong_aud');      // or op.mode('good', { sub: 'x', claims: {...} })
//   await op.last();                 // last authorize parameters and token request
//   await op.stop();
import http from 'node:http';

import { stopProcess } from './proc.mjs';
import { ROGUE_SCRIPT, spawnReady } from './idp.mjs';
import { DEFAULT_SERVER_ORGS, Httpd } from './httpd.mjs';


function request(method, url, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        headers: data === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        timeout: 10000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode, body: text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

export class Rogue {
  // opts: clientId, clientSecret, mode, timeoutMs (wait for READY)
  static async start(opts = {}) {
    const args = [ROGUE_SCRIPT, '--port', '0', '--quiet'];
    if (opts.clientId) args.push('--client-id', opts.clientId);
    if (opts.clientSecret) args.push('--client-secret', opts.clientSecret);
    if (opts.mode) args.push('--mode', opts.mode);
    const { child, issuer } = await spawnReady(args, 'rogue.mjs', { timeoutMs: opts.timeoutMs });
    const op = new Rogue(child);
    op.issuer = issuer;
    op.port = Number(new URL(op.issuer).port);
    return op;
  }

  constructor(child) {
    this.child = child;
    this.issuer = null;
  }


  get pid() {
    return this.child?.pid;
  }

  // Sets the mode (and optionally sub, email, name, claims) for the
  // following requests; throws when the OP refuses it.
  async mode(mode, extra = {}) {
    const r = await request('POST', `${this.issuer}/_mode`, { mode, ...extra });
    if (r.status !== 200) throw new Error(`rogue OP refused mode ${mode}: ${r.status} ${r.body}`);
    return r.json;
  }

  // A hard key rotation at the OP: new signing key, old one gone from the JWKS.
  async rotate() {
    const r = await request('POST', `${this.issuer}/_rotate`, {});
    if (r.status !== 200) throw new Error(`rogue OP refused to rotate: ${r.status} ${r.body}`);
    return r.json.kid;
  }

  // { discovery, jwks, token, hanging }: requests seen per endpoint.
  async counts() {
    return (await request('GET', `${this.issuer}/_counts`)).json;
  }

  async state() {
    return (await request('GET', `${this.issuer}/_mode`)).json;
  }

  // { authorize: {...}, token: { auth_method, params }, userAgents: [...] }
  async last() {
    return (await request('GET', `${this.issuer}/_last`)).json;
  }

  // SIGTERM by PID; SIGKILL if it does not exit.
  async stop() {
    const child = this.child;
    this.child = null;
    if (child) await stopProcess(child, { signal: 'SIGTERM', timeoutMs: 5000 });
  }
}

// The usual fixture around this OP: the org `acme` with the connection
// `rogue` (client secret passed through a file), enabled with
// auto-membership. `server` is an Httpd; extra orgctl args via orgArgs/connArgs.
export async function seedAcme(server, op, { clientId, clientSecret, orgArgs = [], connArgs = [] }) {
  const secretFile = server.file('conf/rogue.secret', `${clientSecret}\n`, 0o600);
  await server.orgctlOk('org', 'create', 'acme', ...orgArgs);
  await server.orgctlOk('conn', 'create', 'rogue', '--issuer', op.issuer, '--client-id', clientId,
    '--client-secret-file', secretFile, '--no-check', ...connArgs); // a hostile OP may not pass
  await server.orgctlOk('org', 'enable-conn', 'acme', 'rogue', '--auto-membership');
}

// A started httpd whose /app/ (a static page "protected page") needs
// `AuthType orgs` + `Require org-member`, seeded by seedAcme. opts: name,
// clientId, clientSecret, serverOrgs (extra server-wide lines appended to the
// default Orgs* ones).
export async function startAcmeServer(op, { name, clientId, clientSecret, serverOrgs = '' }) {
  const h = await Httpd.create({
    name,
    serverOrgs: `${DEFAULT_SERVER_ORGS}\n${serverOrgs}`,
    body: `<Location /app/>
    AuthType orgs
    Require org-member
</Location>`,
  });
  h.file('htdocs/app/index.html', 'protected page\n');
  await seedAcme(h, op, { clientId, clientSecret });
  await h.start();
  return h;
}
