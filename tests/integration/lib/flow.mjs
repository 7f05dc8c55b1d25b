// Scripted browser flows over HTTP for the integration tests: sign in
// through mod_auth_orgs and a local OpenID Provider, sign out, and seed a
// store with orgctl.
//
//   const app = h.client();                        // the browser at the httpd (cookie jar)
//   const idp = new Client();                      // the same browser at the IdPs (own jar)
//   const r = await signIn(app, { start: '/app/', idp, organization: 'org1',
//                                 email: 'alice@org1.example.com' });
//   r.last.status, r.env.ORG_NAME, r.hops.map((x) => `${x.side} ${x.status} ${x.url}`)
//
//   await createOrg(h, 'org1', { meta: { license: 'premium' }, domains: ['org1.example.com'] });
//   await createConn(h, op, { displayName: 'Okta of Org One' });   // op from startOp()
//   await enableConn(h, 'org1', 'okta1', { autoMembership: true });
import { Client } from './client.mjs';
import { DEFAULT_PASSWORD, writeSecretFile } from './idp.mjs';

const REDIRECTS = [301, 302, 303, 307, 308];

export function htmlUnescape(s) {
  return String(s)
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;|&#x0*27;|&apos;/gi, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attr(tag, name) {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
  return m ? htmlUnescape(m[2] ?? m[3] ?? m[4]) : null;
}

// The first <form> of html (or the one whose id/action matches `which`,
// a string or RegExp): { action, method, id, fields: {name: value} }, or null.
export function parseForm(html, which) {
  const re = /<form\b[^>]*>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = re.exec(html))) {
    const open = m[0].match(/^<form\b[^>]*>/i)[0];
    const id = attr(open, 'id');
    const action = attr(open, 'action');
    if (which) {
      const hit = (v) => v !== null && (which instanceof RegExp ? which.test(v) : v === which);
      if (!hit(id) && !hit(action)) continue;
    }
    const fields = {};
    for (const input of m[1].match(/<input\b[^>]*>/gi) || []) {
      const name = attr(input, 'name');
      if (name !== null) fields[name] = attr(input, 'value') ?? '';
    }
    return { action, method: (attr(open, 'method') || 'get').toUpperCase(), id, fields };
  }
  return null;
}

// The chooser page's connection links: [{ name, href, label }].
export function chooserLinks(html) {
  const out = [];
  const re = /<a\b([^>]*\bdata-conn=[^>]*)>([\s\S]*?)<\/a>/gi;
  let m;
  while ((m = re.exec(html))) {
    const tag = `<a ${m[1]}>`;
    out.push({ name: attr(tag, 'data-conn'), href: attr(tag, 'href'), label: htmlUnescape(m[2]) });
  }
  return out;
}

// The error page's code (id="error-code"), or null.
export function errorCode(html) {
  const m = String(html).match(/id="error-code"[^>]*>([^<]*)</);
  return m ? htmlUnescape(m[1]) : null;
}

// A CGI body of NAME=VALUE lines (as printed by `env` / envCgi()) as an object.
export function parseEnv(body) {
  const env = {};
  for (const line of String(body).split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

// A shell CGI printing its environment as NAME=VALUE lines, sorted.
export const ENV_CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
env | LC_ALL=C sort
`;

const isPrompt = (res) => /id="org-form"/.test(res.body);
const isChooser = (res) => /id="connections"/.test(res.body);

// Signs in like a browser. client: the httpd's Client (its jar holds the
// module's cookies). opts:
//   start         path or URL to begin with (default '/app/'), e.g. '/orgs/login?organization=org1'
//   idp           Client for the IdP side (own cookie jar, keeps the OP's SSO session); default new
//   email, password   typed into the IdP's login form (password default 'password')
//   organization  typed into the module's prompt page if it shows up
//   connection    picked on the chooser page if it shows up
//   headers       extra request headers (Accept: text/html is always sent)
//   max           hop limit (default 25)
// Returns { hops, last, stage, env, idp, idpFormShown } where hops are
// { side: 'app'|'idp', method, url, status, location, body, setCookies, headers },
// last is the final response, and stage tells where the flow stopped:
//   'app'      a final answer from the httpd that is not a module page (e.g. the CGI)
//   'error'    the module's error page (see errorCode(last.body))
//   'prompt'   the prompt page (no organization given, or it was refused)
//   'chooser'  the chooser page (no connection given, or not listed)
//   'idp'      stuck at the IdP (e.g. wrong password, form shown again)
//   'max'      hop limit reached
export async function signIn(client, opts = {}) {
  const idp = opts.idp || new Client({ timeoutMs: client.timeoutMs });
  const appOrigin = new URL(client.resolve('/')).origin;
  const headers = { accept: 'text/html', ...(opts.headers || {}) };
  const hops = [];
  let req = { method: 'GET', url: client.resolve(opts.start ?? '/app/') };
  let promptUsed = false;
  let chooserUsed = false;
  let formUsed = false;
  let stage = 'max';

  for (let i = 0; i < (opts.max ?? 25); i++) {
    const side = new URL(req.url).origin === appOrigin ? 'app' : 'idp';
    const c = side === 'app' ? client : idp;
    const res = await c.request(req.method, req.url, { headers, form: req.form });
    hops.push({ side, method: req.method, ...res });
    if (REDIRECTS.includes(res.status) && res.location) {
      req = { method: 'GET', url: res.location };
      continue;
    }
    if (side === 'app') {
      if (isPrompt(res)) {
        const form = parseForm(res.body, 'org-form');
        if (opts.organization && !promptUsed && form) {
          promptUsed = true;
          const u = new URL(form.action, res.url);
          for (const [k, v] of Object.entries({ ...form.fields, organization: opts.organization })) {
            u.searchParams.set(k, v);
          }
          req = { method: 'GET', url: u.toString() };
          continue;
        }
        stage = 'prompt';
      } else if (isChooser(res)) {
        const link = chooserLinks(res.body).find((l) => l.name === opts.connection);
        if (link && !chooserUsed) {
          chooserUsed = true;
          req = { method: 'GET', url: new URL(link.href, res.url).toString() };
          continue;
        }
        stage = 'chooser';
      } else if (errorCode(res.body) !== null) {
        stage = 'error';
      } else {
        stage = 'app';
      }
      break;
    }
    // The IdP's login form (once; shown again means the login failed).
    const form = parseForm(res.body, /\/interaction\/[^/]+\/login$/);
    if (form && !formUsed && opts.email) {
      formUsed = true;
      req = {
        method: 'POST',
        url: new URL(form.action, res.url).toString(),
        form: { ...form.fields, login: opts.email, password: opts.password ?? DEFAULT_PASSWORD },
      };
      continue;
    }
    stage = 'idp';
    break;
  }
  const last = hops[hops.length - 1];
  return {
    hops,
    last,
    stage,
    idp,
    idpFormShown: formUsed,
    env: stage === 'app' ? parseEnv(last.body) : {},
  };
}

// One line per hop, for assertion messages.
export function describeHops(hops) {
  return hops
    .map((x) => `${x.side} ${x.method} ${x.url} -> ${x.status}${x.location ? ' ' + x.location : ''}`)
    .join('\n');
}

// Signs out: GET /orgs/logout (opts.organization, opts.returnTo), then,
// when the module sends the browser to the OP's end_session endpoint,
// confirms the OP's logout form and follows back to the app.
// Returns { hops, last, endSession (the module's redirect URL or null) }.
export async function signOut(client, opts = {}) {
  const idp = opts.idp || new Client({ timeoutMs: client.timeoutMs });
  const appOrigin = new URL(client.resolve('/')).origin;
  const q = new URLSearchParams();
  if (opts.organization) q.set('organization', opts.organization);
  if (opts.returnTo) q.set('return_to', opts.returnTo);
  const headers = { accept: 'text/html', ...(opts.headers || {}) };
  const hops = [];
  let req = { method: 'GET', url: client.resolve(`/orgs/logout${q.size ? '?' + q : ''}`) };
  let confirmed = false;
  for (let i = 0; i < (opts.max ?? 15); i++) {
    const side = new URL(req.url).origin === appOrigin ? 'app' : 'idp';
    const c = side === 'app' ? client : idp;
    const res = await c.request(req.method, req.url, { headers, form: req.form });
    hops.push({ side, method: req.method, ...res });
    if (REDIRECTS.includes(res.status) && res.location) {
      if (opts.followIdp === false && new URL(res.location).origin !== appOrigin) break;
      req = { method: 'GET', url: res.location };
      continue;
    }
    const form = side === 'idp' ? parseForm(res.body, 'op.logoutForm') : null;
    if (form && !confirmed) {
      confirmed = true;
      req = { method: 'POST', url: new URL(form.action, res.url).toString(), form: form.fields };
      continue;
    }
    break;
  }
  const first = hops[0];
  const endSession =
    first && REDIRECTS.includes(first.status) && first.location &&
    new URL(first.location).origin !== appOrigin
      ? first.location
      : null;
  return { hops, last: hops[hops.length - 1], endSession };
}

// ---- seeding the store with orgctl ----------------------------------------

// org create; returns the new id. opts: displayName, meta {k: v}, domains [].
export async function createOrg(h, name, opts = {}) {
  const args = ['org', 'create', name];
  if (opts.displayName) args.push('--display-name', opts.displayName);
  for (const [k, v] of Object.entries(opts.meta || {})) args.push('--meta', `${k}=${v}`);
  for (const d of opts.domains || []) args.push('--domain', d);
  const out = await h.orgctlOk(...args);
  return out.split(/\s+/).find((w) => /^org_/.test(w)) ?? out;
}

// conn create for an OP from startOp() (or any { issuer, clientId,
// clientSecret, authMethod }); the secret goes through --client-secret-file.
// opts: name (default op.name), displayName, scopes, authMethod.
export async function createConn(h, op, opts = {}) {
  const name = opts.name || op.name;
  const secretFile = writeSecretFile(h.confDir, `conn-${name}`, op.clientSecret);
  const args = ['conn', 'create', name, '--issuer', op.issuer, '--client-id', op.clientId];
  args.push('--client-secret-file', secretFile);
  args.push('--auth-method', opts.authMethod || op.authMethod || 'client_secret_basic');
  if (opts.displayName) args.push('--display-name', opts.displayName);
  if (opts.scopes) args.push('--scopes', opts.scopes);
  return h.orgctlOk(...args);
}

// org enable-conn ORG CONN [--auto-membership]
export async function enableConn(h, org, conn, { autoMembership = false } = {}) {
  const args = ['org', 'enable-conn', org, conn];
  if (autoMembership) args.push('--auto-membership');
  return h.orgctlOk(...args);
}

// Everything at once:
//   seed(h, { orgs: { org1: { displayName, meta, domains } },
//             conns: [{ op, name?, displayName? }],
//             enable: [['org1', 'okta1', { autoMembership: true }]] })
// Returns { orgIds: { name: id } }.
export async function seed(h, { orgs = {}, conns = [], enable = [] } = {}) {
  const orgIds = {};
  for (const [name, o] of Object.entries(orgs)) orgIds[name] = await createOrg(h, name, o);
  for (const c of conns) await createConn(h, c.op, c);
  for (const [org, conn, o] of enable) await enableConn(h, org, conn, o);
  return { orgIds };
}

// `orgctl --json member list ORG` parsed.
export async function memberList(h, org) {
  return JSON.parse(await h.orgctlOk('--json', 'member', 'list', org));
}
