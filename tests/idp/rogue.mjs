#!/usr/bin/env node
// A deliberately malicious OpenID Provider for attack tests of mod_auth_orgs.
//
// Plain node http + node crypto. It looks like a normal OP (discovery, JWKS,
// authorize, token) but crafts the ID token (or the authorization response)
// according to a mode set through POST /_mode. Mode "good" is a fully valid
// OP, so a test can first prove the happy path works against it.
//
// Besides the mode, POST /_mode takes back-channel faults: `hang` (a list of
// 'discovery', 'jwks', 'token') makes those endpoints accept the request and
// answer only after `delayMs` ms (0 or absent: never); `jwksUri` and
// `tokenEndpoint` replace the URLs the discovery document announces.
// GET /_counts tells how often each endpoint was asked; GET /_last the last
// authorize and token requests and every User-Agent the back channel sent.
//
//   node tests/idp/rogue.mjs --port 9013 --client-id ID --client-secret S
//
// See tests/idp/README.md.

import crypto from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

const HOST = '127.0.0.1';
const MODES = [
  'good', 'alg_none', 'unknown_kid', 'wrong_aud', 'wrong_iss', 'expired', 'wrong_nonce',
  'hs256_with_pubkey', 'bad_signature', 'iat_future', 'missing_sub', 'wrong_iss_param', 'no_iss_param',
  'mint',
];

function usage(msg) {
  if (msg) process.stderr.write(`rogue.mjs: ${msg}\n`);
  process.stderr.write('usage: node rogue.mjs [--port N] [--client-id ID] [--client-secret S] [--issuer URL] [--mode MODE] [--quiet]\n');
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      port: { type: 'string', short: 'p' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      issuer: { type: 'string' },
      mode: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (e) {
  usage(e.message);
}
if (args.help) usage();

const port = Number(args.port ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad port ${args.port}`);
const clientId = args['client-id'] ?? 'mod-auth-orgs-rogue';
const clientSecret = args['client-secret'] ?? 'rogue-secret';
const quiet = !!args.quiet;

const DEFAULT_STATE = {
  mode: 'good', sub: 'rogue-user-1', email: 'eve@rogue.example.com', name: 'Eve Rogue', claims: {},
};
let state = { ...DEFAULT_STATE };
if (args.mode) {
  if (!MODES.includes(args.mode)) usage(`unknown mode ${args.mode}`);
  state.mode = args.mode;
}

let issuer;

// Signing key published in the JWKS, and a second key that is not.
function rsaKey(kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}
// `let`: POST /_rotate replaces it (a hard key rotation: the old key leaves the JWKS).
let key = rsaKey(`rogue-${crypto.randomBytes(4).toString('hex')}`);
const otherKey = rsaKey(`unknown-${crypto.randomBytes(4).toString('hex')}`);

const b64u = (b) => Buffer.from(b).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function sign(header, payload, alg, signer) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  let sig = '';
  if (alg === 'RS256') sig = crypto.sign('sha256', Buffer.from(input), signer).toString('base64url');
  else if (alg === 'HS256') sig = crypto.createHmac('sha256', signer).update(input).digest('base64url');
  return `${input}.${sig}`;
}

// Mode "mint" (store exhaustion): every ID token names a new subject and
// carries a padding claim of state.padBytes (default 10,500 bytes: a ~15 KB
// token, just under the module's 16 KB limit), as an IdP
// that fills the relying party's store would. Otherwise a valid token.
let minted = 0;
function mintIdentity(payload) {
  minted += 1;
  const id = `${minted}-${crypto.randomBytes(6).toString('hex')}`;
  payload.sub = `minted-${id}`;
  payload.email = `minted-${id}@rogue.example.com`;
  payload.pad = 'x'.repeat(state.padBytes ?? 10500);
}

// Build the ID token for one code, following the current mode.
function idToken(code, mode) {
  const t = now();
  const payload = {
    iss: issuer,
    sub: state.fromLoginHint && code.login_hint ? `hint-${code.login_hint}` : state.sub,
    aud: clientId,
    exp: t + 300,
    iat: t,
    auth_time: t,
    nonce: code.nonce,
    email: state.fromLoginHint && code.login_hint ? code.login_hint : state.email,
    email_verified: true,
    name: state.name,
    ...state.claims,
  };
  if (code.nonce === undefined) delete payload.nonce;
  const header = { alg: 'RS256', typ: 'JWT', kid: key.kid };
  switch (mode) {
    case 'alg_none':
      return sign({ alg: 'none', typ: 'JWT' }, payload, 'none');
    case 'unknown_kid':
      return sign({ ...header, kid: otherKey.kid }, payload, 'RS256', otherKey.privateKey);
    case 'wrong_aud':
      payload.aud = 'some-other-client';
      break;
    case 'wrong_iss':
      payload.iss = 'http://127.0.0.1:1/not-the-issuer';
      break;
    case 'expired':
      payload.iat = t - 1200;
      payload.auth_time = t - 1200;
      payload.exp = t - 600;
      break;
    case 'wrong_nonce':
      payload.nonce = crypto.randomBytes(16).toString('base64url');
      break;
    case 'hs256_with_pubkey':
      // Key confusion: HMAC keyed with the published RSA public key (PEM).
      return sign({ ...header, alg: 'HS256' }, payload, 'HS256',
        key.publicKey.export({ type: 'spki', format: 'pem' }));
    case 'bad_signature': {
      const tok = sign(header, payload, 'RS256', key.privateKey);
      const [h, p, s] = tok.split('.');
      const sig = Buffer.from(s, 'base64url');
      sig[sig.length >> 1] ^= 0x01;
      return `${h}.${p}.${sig.toString('base64url')}`;
    }
    case 'iat_future':
      payload.iat = t + 3600;
      payload.auth_time = t + 3600;
      payload.exp = t + 7200;
      break;
    case 'missing_sub':
      delete payload.sub;
      break;
    case 'mint':
      mintIdentity(payload);
      break;
    default:
      break;
  }
  return sign(header, payload, 'RS256', key.privateKey);
}

// code -> {client_id, redirect_uri, nonce, code_challenge, code_challenge_method, scope, used, expires}
const codes = new Map();
const log = { authorize: null, token: null, userAgents: [] };

function send(res, status, body, headers = {}) {
  const isObj = typeof body === 'object';
  res.writeHead(status, {
    'Content-Type': isObj ? 'application/json' : 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(isObj ? JSON.stringify(body) : body);
}
const oauthError = (res, status, error, desc, headers) => send(res, status, { error, error_description: desc }, headers);

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function discovery() {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: state.tokenEndpoint ?? `${issuer}/token`,
    jwks_uri: state.jwksUri ?? `${issuer}/jwks`,
    userinfo_endpoint: `${issuer}/userinfo`,
    end_session_endpoint: `${issuer}/logout`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'email', 'profile'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'email', 'email_verified', 'name'],
    authorization_response_iss_parameter_supported: true,
  };
}

function handleAuthorize(req, res, url) {
  const p = Object.fromEntries(url.searchParams);
  log.authorize = p;
  const redirectUri = p.redirect_uri;
  if (p.client_id !== clientId) return send(res, 400, `unknown client_id ${p.client_id}\n`);
  if (!redirectUri) return send(res, 400, 'missing redirect_uri\n');
  let target;
  try {
    target = new URL(redirectUri);
  } catch {
    return send(res, 400, 'bad redirect_uri\n');
  }
  const mode = state.mode;
  const back = (params) => {
    for (const [k, v] of Object.entries(params)) if (v !== undefined) target.searchParams.set(k, v);
    if (mode === 'wrong_iss_param') target.searchParams.set('iss', 'http://127.0.0.1:1/not-the-issuer');
    else if (mode !== 'no_iss_param') target.searchParams.set('iss', issuer);
    res.writeHead(302, { Location: target.toString(), 'Cache-Control': 'no-store' });
    res.end();
  };
  if (p.response_type !== 'code') return back({ error: 'unsupported_response_type', state: p.state });
  if (!String(p.scope ?? '').split(' ').includes('openid')) return back({ error: 'invalid_scope', error_description: 'openid scope required', state: p.state });
  if (!p.code_challenge || p.code_challenge_method !== 'S256') {
    return back({ error: 'invalid_request', error_description: 'PKCE with S256 is required', state: p.state });
  }
  const code = crypto.randomBytes(24).toString('base64url');
  // codes a minute past their expiry go (a long benchmark issues hundreds
  // of thousands, many never redeemed); until then a replay still meets
  // "code already used" or "code expired"
  if (codes.size >= 10000 && codes.size % 1000 === 0) {
    const old = Date.now() - 60_000;
    for (const [k, c] of codes) if (c.expires < old) codes.delete(k);
  }
  codes.set(code, {
    client_id: p.client_id,
    redirect_uri: redirectUri,
    nonce: p.nonce,
    code_challenge: p.code_challenge,
    scope: p.scope,
    login_hint: p.login_hint,
    used: false,
    expires: Date.now() + 60_000,
  });
  if (!quiet) process.stderr.write(`rogue: authorize (mode ${mode}) -> code issued\n`);
  return back({ code, state: p.state });
}

async function handleToken(req, res) {
  const ct = String(req.headers['content-type'] ?? '');
  const raw = await readBody(req);
  if (!ct.startsWith('application/x-www-form-urlencoded')) return oauthError(res, 400, 'invalid_request', 'form body required');
  const form = new URLSearchParams(raw);
  let id;
  let secret;
  let method;
  const auth = req.headers.authorization;
  if (auth && /^basic /i.test(auth)) {
    const dec = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const i = dec.indexOf(':');
    if (i < 0) return oauthError(res, 401, 'invalid_client', 'bad basic auth');
    id = decodeURIComponent(dec.slice(0, i));
    secret = decodeURIComponent(dec.slice(i + 1));
    method = 'client_secret_basic';
  } else if (form.has('client_secret')) {
    id = form.get('client_id');
    secret = form.get('client_secret');
    method = 'client_secret_post';
  }
  log.token = {
    auth_method: method ?? 'none',
    params: Object.fromEntries([...form].filter(([k]) => k !== 'client_secret')),
  };
  if (!method || id !== clientId || secret !== clientSecret) {
    return oauthError(res, 401, 'invalid_client', 'client authentication failed', { 'WWW-Authenticate': 'Basic realm="rogue"' });
  }
  if (form.get('grant_type') !== 'authorization_code') return oauthError(res, 400, 'unsupported_grant_type', 'only authorization_code');
  const code = codes.get(form.get('code') ?? '');
  if (!code) return oauthError(res, 400, 'invalid_grant', 'unknown code');
  if (code.used) return oauthError(res, 400, 'invalid_grant', 'code already used');
  code.used = true;
  if (code.expires < Date.now()) return oauthError(res, 400, 'invalid_grant', 'code expired');
  if (code.client_id !== id) return oauthError(res, 400, 'invalid_grant', 'code issued to another client');
  if (form.get('redirect_uri') !== code.redirect_uri) return oauthError(res, 400, 'invalid_grant', 'redirect_uri mismatch');
  const verifier = form.get('code_verifier') ?? '';
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  if (!verifier || challenge !== code.code_challenge) return oauthError(res, 400, 'invalid_grant', 'PKCE verification failed');
  const mode = state.mode;
  if (!quiet) process.stderr.write(`rogue: token (mode ${mode}) via ${method}\n`);
  return send(res, 200, {
    access_token: crypto.randomBytes(24).toString('base64url'),
    token_type: 'Bearer',
    expires_in: 300,
    scope: code.scope,
    id_token: idToken(code, mode),
  });
}

async function handleMode(req, res) {
  if (req.method === 'GET') return send(res, 200, state);
  let body;
  try {
    const raw = await readBody(req);
    body = raw ? JSON.parse(raw) : {};
  } catch {
    return send(res, 400, { error: 'invalid JSON' });
  }
  if (body.mode !== undefined && !MODES.includes(body.mode)) return send(res, 400, { error: `unknown mode ${body.mode}`, modes: MODES });
  state = {
    mode: body.mode ?? 'good',
    sub: body.sub ?? DEFAULT_STATE.sub,
    email: body.email ?? DEFAULT_STATE.email,
    name: body.name ?? DEFAULT_STATE.name,
    claims: body.claims && typeof body.claims === 'object' ? body.claims : {},
    // each login gets its own identity, taken from its login_hint
    fromLoginHint: body.fromLoginHint === true,
    // mode mint: bytes of the padding claim
    padBytes: Number.isInteger(body.padBytes) ? body.padBytes : undefined,
    hang: Array.isArray(body.hang) ? body.hang.map(String) : [],
    delayMs: Number.isFinite(body.delayMs) ? body.delayMs : 0,
    jwksUri: typeof body.jwksUri === 'string' ? body.jwksUri : undefined,
    tokenEndpoint: typeof body.tokenEndpoint === 'string' ? body.tokenEndpoint : undefined,
  };
  if (!quiet) process.stderr.write(`rogue: mode ${state.mode}\n`);
  return send(res, 200, state);
}

// Requests per back-channel endpoint, and the faults on them.
const counts = { discovery: 0, jwks: 0, token: 0 };
const BACKCHANNEL = {
  'GET /.well-known/openid-configuration': 'discovery',
  'GET /jwks': 'jwks',
  'POST /token': 'token',
};
const hanging = new Set();

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    const route = `${req.method} ${url.pathname}`;
    const which = BACKCHANNEL[route];
    if (which) {
      counts[which] += 1;
      // what the relying party says it is (its exact version must not show)
      const ua = String(req.headers['user-agent'] ?? '');
      if (!log.userAgents.includes(ua)) log.userAgents.push(ua);
      if ((state.hang ?? []).includes(which)) {
        // accept, read, and answer late or never (a dead or overloaded IdP)
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        if (!state.delayMs) return undefined;
        await new Promise((r) => setTimeout(r, state.delayMs));
        hanging.delete(res);
        if (res.destroyed) return undefined;
      }
    }
    switch (route) {
      case 'GET /.well-known/openid-configuration': return send(res, 200, discovery());
      case 'GET /jwks': return send(res, 200, { keys: [key.jwk] });
      case 'POST /_rotate':
        key = rsaKey(`rogue-${crypto.randomBytes(4).toString('hex')}`);
        return send(res, 200, { kid: key.kid });
      case 'GET /authorize': return handleAuthorize(req, res, url);
      case 'POST /token': return await handleToken(req, res);
      case 'GET /userinfo': return send(res, 200, { sub: state.sub, email: state.email, email_verified: true, name: state.name });
      case 'GET /logout': {
        const to = url.searchParams.get('post_logout_redirect_uri');
        if (to) {
          res.writeHead(302, { Location: to });
          return res.end();
        }
        return send(res, 200, 'signed out\n');
      }
      case 'GET /_mode':
      case 'POST /_mode': return await handleMode(req, res);
      case 'GET /_last': return send(res, 200, log);
      case 'GET /_counts': return send(res, 200, { ...counts, hanging: hanging.size });
      case 'GET /_health': return send(res, 200, { ok: true, issuer, mode: state.mode });
      default: return send(res, 404, 'not found\n');
    }
  } catch (e) {
    process.stderr.write(`rogue: ${e.stack}\n`);
    if (!res.headersSent) send(res, 500, 'internal error\n');
    else res.end();
  }
});

server.on('error', (e) => {
  process.stderr.write(`rogue: ${e.message}\n`);
  process.exit(1);
});

server.listen(port, HOST, () => {
  issuer = args.issuer ?? `http://${HOST}:${server.address().port}`;
  process.stdout.write(`READY ${issuer}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
