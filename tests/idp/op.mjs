#!/usr/bin/env node
// Local OpenID Provider for the mod_auth_orgs demo and integration tests.
//
// A real OpenID Connect provider (oidc-provider) that stands in for a
// customer's enterprise IdP ("okta1", "okta2", ...). Loopback only.
//
//   node tests/idp/op.mjs --config tests/idp/okta1.json [flags]
//
// See tests/idp/README.md for the configuration format and the flags.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const HOST = '127.0.0.1';
const SCOPES = ['openid', 'email', 'profile'];

// ---------------------------------------------------------------------------
// Command line and configuration
// ---------------------------------------------------------------------------

function usage(msg) {
  if (msg) process.stderr.write(`op.mjs: ${msg}\n`);
  process.stderr.write(`usage: node op.mjs [--config FILE] [--port N] [--issuer URL] [--name NAME]
         [--client-id ID] [--client-secret S] [--auth-method client_secret_basic|client_secret_post]
         [--redirect-uri URI]... [--post-logout-redirect-uri URI]...
         [--user EMAIL:PASSWORD[:NAME]]... [--code-ttl SECONDS] [--quiet]
`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      issuer: { type: 'string' },
      name: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'auth-method': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      user: { type: 'string', multiple: true },
      'code-ttl': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (e) {
  usage(e.message);
}
if (args.help) usage();

let cfg = {};
if (args.config) {
  try {
    cfg = JSON.parse(fs.readFileSync(args.config, 'utf8'));
  } catch (e) {
    usage(`cannot read config ${args.config}: ${e.message}`);
  }
}

const port = Number(args.port ?? cfg.port ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad port ${args.port ?? cfg.port}`);
const opName = args.name ?? cfg.name ?? (args.config ? path.basename(args.config, '.json') : 'idp');
const quiet = !!args.quiet;
const codeTTL = Number(args['code-ttl'] ?? cfg.code_ttl ?? 60);

// Clients: from the file, then flags override the first one (or create it).
let clients = (cfg.clients ?? []).map((c) => ({ ...c }));
if (args['client-id'] || args['client-secret'] || args['auth-method'] || clients.length === 0) {
  if (clients.length === 0) clients.push({});
  const c = clients[0];
  if (args['client-id']) c.client_id = args['client-id'];
  if (args['client-secret']) c.client_secret = args['client-secret'];
  if (args['auth-method']) c.token_endpoint_auth_method = args['auth-method'];
  c.client_id ??= `mod-auth-orgs-${opName}`;
  c.client_secret ??= `${opName}-secret`;
}
const redirectOverride = args['redirect-uri'];
const logoutOverride = args['post-logout-redirect-uri'];
for (const c of clients) {
  if (!c.client_id || !c.client_secret) usage('every client needs client_id and client_secret');
  if (redirectOverride) c.redirect_uris = [...redirectOverride];
  c.redirect_uris ??= ['http://127.0.0.1:8080/orgs/callback'];
  if (logoutOverride) c.post_logout_redirect_uris = [...logoutOverride];
  else if (redirectOverride || !c.post_logout_redirect_uris) {
    c.post_logout_redirect_uris = [...new Set(c.redirect_uris.map((u) => u.replace(/\/callback$/, '/logged-out')))];
  }
  c.token_endpoint_auth_method ??= 'client_secret_basic';
  if (!['client_secret_basic', 'client_secret_post'].includes(c.token_endpoint_auth_method)) {
    usage(`client ${c.client_id}: token_endpoint_auth_method must be client_secret_basic or client_secret_post`);
  }
  c.grant_types ??= ['authorization_code'];
  c.response_types ??= ['code'];
}

// Users, keyed by sub. A user without sub gets a stable one derived from
// this IdP's name and the email.
const users = new Map();
function addUser(u) {
  if (!u.email || typeof u.password !== 'string') throw new Error('a user needs email and password');
  const email = String(u.email).toLowerCase();
  const sub = u.sub ?? crypto.createHash('sha256').update(`${opName}\0${email}`).digest('hex').slice(0, 24);
  for (const [k, v] of users) if (v.email === email && k !== sub) users.delete(k);
  const user = {
    sub: String(sub),
    email,
    password: u.password,
    name: u.name ?? email.split('@')[0],
    email_verified: u.email_verified ?? true,
  };
  users.set(user.sub, user);
  return user;
}
try {
  for (const u of cfg.users ?? []) addUser(u);
  for (const spec of args.user ?? []) {
    const [email, password, ...rest] = spec.split(':');
    addUser({ email, password, name: rest.length ? rest.join(':') : undefined });
  }
} catch (e) {
  usage(e.message);
}
const userByEmail = (email) => [...users.values()].find((u) => u.email === String(email).toLowerCase());

// ---------------------------------------------------------------------------
// In-memory adapter (one store per model name; expiry honoured).
// ---------------------------------------------------------------------------

const stores = new Map();
function storeFor(name) {
  if (!stores.has(name)) stores.set(name, new Map());
  return stores.get(name);
}
const grantIndex = new Map(); // grantId -> Set of "model\0id"
const uidIndex = new Map(); // uid -> id (Session)
const userCodeIndex = new Map(); // userCode -> id

class MemoryAdapter {
  constructor(name) {
    this.name = name;
    this.store = storeFor(name);
  }

  #get(id) {
    const e = this.store.get(id);
    if (!e) return undefined;
    if (e.expiresAt && e.expiresAt <= Date.now()) {
      this.store.delete(id);
      return undefined;
    }
    return e.payload;
  }

  async upsert(id, payload, expiresIn) {
    this.store.set(id, {
      payload: structuredClone(payload),
      expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : 0,
    });
    if (payload.grantId) {
      if (!grantIndex.has(payload.grantId)) grantIndex.set(payload.grantId, new Set());
      grantIndex.get(payload.grantId).add(`${this.name}\0${id}`);
    }
    if (payload.uid) uidIndex.set(payload.uid, id);
    if (payload.userCode) userCodeIndex.set(payload.userCode, id);
  }

  async find(id) {
    const p = this.#get(id);
    return p ? structuredClone(p) : undefined;
  }

  async findByUid(uid) {
    const id = uidIndex.get(uid);
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(userCode) {
    const id = userCodeIndex.get(userCode);
    return id ? this.find(id) : undefined;
  }

  async consume(id) {
    const e = this.store.get(id);
    if (e) e.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    this.store.delete(id);
  }

  async revokeByGrantId(grantId) {
    const keys = grantIndex.get(grantId);
    if (!keys) return;
    for (const k of keys) {
      const [model, id] = k.split('\0');
      storeFor(model).delete(id);
    }
    grantIndex.delete(grantId);
  }
}

// Periodic sweep so a long demo does not grow without bound.
setInterval(() => {
  const now = Date.now();
  for (const s of stores.values()) for (const [id, e] of s) if (e.expiresAt && e.expiresAt <= now) s.delete(id);
}, 60_000).unref();

// ---------------------------------------------------------------------------
// Keys, generated at start
// ---------------------------------------------------------------------------

function genJwk(kind) {
  if (kind === 'RS256') {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { ...privateKey.export({ format: 'jwk' }), kid: `rs-${crypto.randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
  }
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: `ec-${crypto.randomBytes(6).toString('hex')}`, alg: 'ES256', use: 'sig' };
}
const jwks = { keys: [genJwk('RS256')] };
if (cfg.es256 !== false) jwks.keys.push(genJwk('ES256'));

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;background:#eef1f5;margin:0;padding:40px 0}
.box{background:#fff;width:340px;margin:0 auto;padding:24px 32px;border-radius:6px;box-shadow:0 2px 6px rgba(0,0,0,.15)}
h1{font-size:1.4em;margin:0 0 4px} .sub{color:#666;margin:0 0 18px;font-size:.9em}
label{display:block;margin:10px 0 4px;font-size:.9em} input{width:100%;box-sizing:border-box;padding:8px;font-size:1em}
button{margin-top:18px;width:100%;padding:10px;font-size:1em;background:#2f5fd0;color:#fff;border:0;border-radius:4px;cursor:pointer}
.error{color:#b00020;margin:8px 0} a{font-size:.85em;color:#555}
</style>
</head>
<body><div class="box">
${body}
</div></body>
</html>`;
}

function loginPage({ uid, clientId, loginHint, error }) {
  return page(`Sign in - ${opName}`, `<h1 id="idp-name">${esc(opName)}</h1>
<p class="sub">Sign in to continue to <span id="client-id">${esc(clientId)}</span></p>
${error ? `<p class="error" id="error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<label for="username">Email</label>
<input id="username" name="login" type="email" value="${esc(loginHint)}" required ${loginHint ? '' : 'autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" required ${loginHint ? 'autofocus' : ''}>
<button id="submit" type="submit">Sign in</button>
</form>
<p><a id="cancel" href="/interaction/${esc(uid)}/abort">Cancel</a></p>`);
}

async function logoutSource(ctx, form) {
  // The form carries the anti-CSRF token; the extra hidden input answers
  // "yes, sign me out" so a plain form submit (or the script) completes it.
  const f = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
  ctx.type = 'html';
  ctx.body = page(`Sign out - ${opName}`, `<h1 id="idp-name">${esc(opName)}</h1>
<p class="sub">Signing you out of ${esc(opName)}...</p>
${f}
<button id="logout" type="submit" form="op.logoutForm">Sign out</button>
<script>document.getElementById('op.logoutForm').submit()</script>`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = page(`Signed out - ${opName}`, `<h1 id="idp-name">${esc(opName)}</h1>
<p class="sub" id="signed-out">You are signed out of ${esc(opName)}.</p>`);
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page(`Error - ${opName}`, `<h1 id="idp-name">${esc(opName)}</h1>
<p class="error" id="error">${esc(out.error)}</p>
<p class="sub" id="error-description">${esc(out.error_description)}</p>`);
}

// ---------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------

const cookieBase = opName.replace(/[^A-Za-z0-9_]/g, '_');

function buildProvider(issuer) {
  const configuration = {
    adapter: MemoryAdapter,
    clients,
    jwks,
    findAccount: async (ctx, sub) => {
      const u = users.get(sub);
      if (!u) return undefined;
      return {
        accountId: u.sub,
        claims: async () => ({ sub: u.sub, email: u.email, email_verified: u.email_verified, name: u.name }),
      };
    },
    claims: {
      acr: null,
      sid: null,
      auth_time: null,
      iss: null,
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    scopes: SCOPES,
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    cookies: {
      keys: cfg.cookie_keys ?? [crypto.randomBytes(32).toString('base64url'), crypto.randomBytes(32).toString('base64url')],
      names: {
        session: `${cookieBase}_session`,
        interaction: `${cookieBase}_interaction`,
        resume: `${cookieBase}_interaction_resume`,
      },
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: codeTTL,
      IdToken: 3600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
      RefreshToken: 24 * 3600,
      ClientCredentials: 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
    },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      userinfo: { enabled: true },
    },
    clientBasedCORS: () => false,
    renderError,
  };
  const provider = new Provider(issuer, configuration);

  // oidc-provider accepts client_secret_basic and client_secret_post
  // interchangeably; like a strict enterprise IdP, this one insists on the
  // method the client is registered with, so tests prove the RP uses it.
  const methodOf = new Map(clients.map((c) => [c.client_id, c.token_endpoint_auth_method]));
  const invalidClient = (ctx, used) => {
    ctx.status = 401;
    ctx.set('Cache-Control', 'no-store');
    ctx.set('WWW-Authenticate', `Basic realm="${issuer}"`);
    ctx.body = { error: 'invalid_client', error_description: `client authentication with ${used} is not allowed for this client` };
    process.stderr.write(`${opName}: token: client authenticated with ${used}, registered method differs\n`);
  };
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== '/token') return next();
    const auth = ctx.get('authorization');
    const basic = /^basic /i.test(auth);
    if (basic) {
      const dec = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      let id;
      try { id = decodeURIComponent(dec.slice(0, dec.indexOf(':'))); } catch { id = undefined; }
      if (methodOf.get(id) === 'client_secret_post') return invalidClient(ctx, 'client_secret_basic');
    }
    await next();
    if (!basic && ctx.status === 200 && ctx.oidc?.client?.clientAuthMethod === 'client_secret_basic') {
      invalidClient(ctx, 'client_secret_post');
    }
  });
  provider.on('server_error', (ctx, err) => process.stderr.write(`${opName}: server_error: ${err.stack}\n`));
  if (!quiet) {
    for (const ev of ['authorization.error', 'grant.error', 'end_session.error', 'userinfo.error']) {
      provider.on(ev, (ctx, err) => process.stderr.write(`${opName}: ${ev}: ${err.error ?? err.name}: ${err.error_description ?? err.message}\n`));
    }
  }
  return provider;
}

// ---------------------------------------------------------------------------
// Interactions (login form; consent granted automatically with a Grant)
// ---------------------------------------------------------------------------

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const s = Buffer.concat(chunks).toString('utf8');
  return s ? JSON.parse(s) : {};
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

// A Grant for the OIDC scopes and claims this interaction asks for
// (limited to what this IdP offers), saved and returned by id.
async function grantFor(provider, details, accountId) {
  const { params, prompt, grantId } = details;
  let grant = grantId ? await provider.Grant.find(grantId) : undefined;
  if (!grant || grant.accountId !== accountId) {
    grant = new provider.Grant({ accountId, clientId: params.client_id });
  }
  const requested = String(params.scope ?? '').split(' ').filter((s) => SCOPES.includes(s));
  const missing = prompt?.details?.missingOIDCScope ?? [];
  grant.addOIDCScope([...new Set([...requested, ...missing])].join(' '));
  if (prompt?.details?.missingOIDCClaims?.length) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt?.details?.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function handleInteraction(provider, req, res, url) {
  const m = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login|abort))?$/);
  if (!m) return send(res, 404, 'text/plain', 'not found\n');
  const [, uid, action] = m;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (e) {
    return send(res, 400, 'text/html; charset=utf-8', page(`Error - ${opName}`,
      `<h1 id="idp-name">${esc(opName)}</h1><p class="error" id="error">This sign-in request has expired or is invalid. Start again from the application.</p>`));
  }
  if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch\n');
  const { prompt, params } = details;

  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }

  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') {
      return send(res, 200, 'text/html; charset=utf-8', loginPage({ uid, clientId: params.client_id, loginHint: params.login_hint }));
    }
    if (prompt.name === 'consent') {
      const grantId = await grantFor(provider, details, details.session.accountId);
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    return send(res, 400, 'text/plain', `unsupported prompt ${prompt.name}\n`);
  }

  if (req.method === 'POST' && action === 'login') {
    if (prompt.name !== 'login') return send(res, 400, 'text/plain', 'not a login prompt\n');
    const form = await readForm(req);
    const login = form.get('login') ?? '';
    const password = form.get('password') ?? '';
    const user = userByEmail(login);
    const ok = user && crypto.timingSafeEqual(
      crypto.createHash('sha256').update(password).digest(),
      crypto.createHash('sha256').update(user.password).digest(),
    );
    if (!ok) {
      if (!quiet) process.stderr.write(`${opName}: failed login for ${JSON.stringify(login)}\n`);
      return send(res, 200, 'text/html; charset=utf-8', loginPage({ uid, clientId: params.client_id, loginHint: login, error: 'Invalid email or password.' }));
    }
    if (!quiet) process.stderr.write(`${opName}: login ${user.email} (sub ${user.sub}) for client ${params.client_id}\n`);
    const grantId = await grantFor(provider, { ...details, grantId: undefined }, user.sub);
    return provider.interactionFinished(req, res, {
      login: { accountId: user.sub },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  }

  return send(res, 405, 'text/plain', 'method not allowed\n');
}

// Test control endpoints (loopback only, like everything here).
async function handleControl(req, res, url) {
  if (url.pathname === '/_health' && req.method === 'GET') {
    return send(res, 200, 'application/json', JSON.stringify({ ok: true, name: opName, issuer: currentIssuer }));
  }
  if (url.pathname === '/_users' && req.method === 'GET') {
    return send(res, 200, 'application/json', JSON.stringify([...users.values()].map(({ password, ...u }) => u)));
  }
  if (url.pathname === '/_users' && req.method === 'POST') {
    try {
      const body = await readJson(req);
      const list = Array.isArray(body) ? body : [body];
      const added = list.map((u) => { const { password, ...rest } = addUser(u); return rest; });
      return send(res, 200, 'application/json', JSON.stringify(added));
    } catch (e) {
      return send(res, 400, 'application/json', JSON.stringify({ error: e.message }));
    }
  }
  return send(res, 404, 'text/plain', 'not found\n');
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

let provider;
let providerCallback;
let currentIssuer;

const server = http.createServer((req, res) => {
  const url = new URL(req.url, currentIssuer ?? `http://${HOST}`);
  const done = (e) => {
    process.stderr.write(`${opName}: ${e.stack}\n`);
    if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
    else res.end();
  };
  if (!provider) return send(res, 503, 'text/plain', 'starting\n');
  if (url.pathname.startsWith('/interaction/')) return handleInteraction(provider, req, res, url).catch(done);
  if (url.pathname.startsWith('/_')) return handleControl(req, res, url).catch(done);
  return providerCallback(req, res);
});

server.on('error', (e) => {
  process.stderr.write(`${opName}: ${e.message}\n`);
  process.exit(1);
});

server.listen(port, HOST, () => {
  const actual = server.address().port;
  currentIssuer = args.issuer ?? cfg.issuer ?? `http://${HOST}:${actual}`;
  if (port === 0 && (args.issuer ?? cfg.issuer)) {
    process.stderr.write(`${opName}: warning: --issuer given with port 0\n`);
  }
  provider = buildProvider(currentIssuer);
  providerCallback = provider.callback();
  process.stdout.write(`READY ${currentIssuer}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
