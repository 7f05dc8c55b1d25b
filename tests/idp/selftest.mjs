#!/usr/bin/env node
// Self-test of the local OpenID Providers: runs real authorization code +
// PKCE flows against op.mjs (client_secret_basic and client_secret_post) and
// against rogue.mjs ("good" and attack modes). Starts and stops its own
// providers on free loopback ports. Exits non-zero on any failure.
//
//   node tests/idp/selftest.mjs

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const REDIRECT = 'http://127.0.0.1:1/orgs/callback'; // never contacted: redirects are not followed there

let passed = 0;
let failed = 0;
const children = [];

function check(name, cond, detail) {
  if (cond) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL - ${name}${detail !== undefined ? `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
  }
}

function startOnce(script, argv, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, script), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not become ready in ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^READY (\S+)\n/m);
      if (m) {
        clearTimeout(timer);
        resolve({ child, issuer: m[1] });
      }
    });
    child.stderr.on('data', (d) => {
      err += d;
      if (process.env.IDP_SELFTEST_VERBOSE) process.stderr.write(d);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}: ${err}`));
    });
  });
}

// A provider that has not answered READY in 20 s is killed and started
// once more (a start normally takes under a second).
async function start(script, argv) {
  try {
    return await startOnce(script, argv, 20000);
  } catch (e) {
    if (!/did not become ready/.test(e.message)) throw e;
    console.log(`# ${script}: ${e.message.split('\n')[0]}; starting it again`);
    return startOnce(script, argv, 40000);
  }
}

function stop({ child }) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => { child.kill('SIGKILL'); }, 5000);
    child.removeAllListeners('exit');
    child.on('exit', (code, signal) => { clearTimeout(t); resolve(signal ? signal : code); });
    process.kill(child.pid, 'SIGTERM');
  });
}

// Minimal cookie jar: name=value per origin, enough for one OP.
class Jar {
  constructor() { this.cookies = new Map(); }
  store(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && new Date(a.split('=')[1]) < new Date())
        || attrs.some((a) => /^\s*max-age=0/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
}

async function req(jar, url, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  if (jar && jar.cookies.size) headers.cookie = jar.header();
  const res = await fetch(url, { ...opts, headers, redirect: 'manual' });
  if (jar) jar.store(res);
  return res;
}

const decodeJwt = (t) => {
  const [h, p] = t.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
};

function verifyJwt(token, jwks) {
  const [h, p, s] = token.split('.');
  const { header } = decodeJwt(token);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) return false;
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  if (header.alg === 'RS256') return crypto.verify('sha256', data, key, sig);
  if (header.alg === 'ES256') return crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  return false;
}

const rnd = () => crypto.randomBytes(16).toString('base64url');
const pkce = () => {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
};

function authUrl(disc, client, extra = {}) {
  const u = new URL(disc.authorization_endpoint);
  const p = {
    client_id: client.client_id,
    response_type: 'code',
    scope: 'openid email profile',
    redirect_uri: REDIRECT,
    ...extra,
  };
  for (const [k, v] of Object.entries(p)) if (v !== undefined) u.searchParams.set(k, v);
  return u.toString();
}

async function tokenRequest(disc, client, code, verifier, method) {
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (method === 'client_secret_basic') {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
  } else {
    body.set('client_id', client.client_id);
    body.set('client_secret', client.client_secret);
  }
  const res = await fetch(disc.token_endpoint, { method: 'POST', headers, body });
  return { status: res.status, body: await res.json() };
}

// Follow the OP's redirects until it sends us back to REDIRECT (or shows a page).
async function follow(jar, base, res) {
  for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i += 1) {
    const loc = new URL(res.headers.get('location'), base).toString();
    if (loc.startsWith(REDIRECT)) return { callback: new URL(loc) };
    res = await req(jar, loc);
  }
  return { res, html: await res.text() };
}

async function opFlow(issuer, client, user, label) {
  const jar = new Jar();
  const disc = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const state = rnd();
  const nonce = rnd();
  const { verifier, challenge } = pkce();
  let r = await follow(jar, issuer, await req(jar, authUrl(disc, client, {
    state, nonce, code_challenge: challenge, code_challenge_method: 'S256', login_hint: user.email,
  })));
  check(`${label}: login page shown`, r.html && /id="username"/.test(r.html) && /id="password"/.test(r.html) && /id="submit"/.test(r.html), r.html?.slice(0, 200));
  check(`${label}: login_hint prefills username`, r.html?.includes(`value="${user.email}"`));
  const action = r.html.match(/<form method="post" action="([^"]+)"/)[1];
  const actionUrl = new URL(action, issuer).toString();

  // Wrong password first: the form comes back with an error.
  let res = await req(jar, actionUrl, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login: user.email, password: 'wrong' }),
  });
  const bad = await res.text();
  check(`${label}: wrong password rejected`, res.status === 200 && /id="error"/.test(bad));

  res = await req(jar, actionUrl, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login: user.email, password: user.password }),
  });
  r = await follow(jar, issuer, res);
  check(`${label}: redirected back to the client without a consent page`, !!r.callback, r.html?.slice(0, 300));
  if (!r.callback) return null;
  const cb = r.callback.searchParams;
  check(`${label}: code, state and iss in the callback`, cb.get('code') && cb.get('state') === state && cb.get('iss') === issuer, Object.fromEntries(cb));

  const tok = await tokenRequest(disc, client, cb.get('code'), verifier, client.token_endpoint_auth_method);
  check(`${label}: token endpoint (${client.token_endpoint_auth_method}) answers 200`, tok.status === 200 && tok.body.id_token, tok.body);
  if (!tok.body.id_token) return null;
  const jwks = await (await fetch(disc.jwks_uri)).json();
  const { header, payload } = decodeJwt(tok.body.id_token);
  check(`${label}: id_token RS256 and signature verifies with the JWKS`, header.alg === 'RS256' && verifyJwt(tok.body.id_token, jwks), header);
  check(`${label}: id_token claims`, payload.iss === issuer && payload.aud === client.client_id
    && payload.nonce === nonce && payload.email === user.email && payload.name === user.name
    && payload.email_verified === true && typeof payload.sub === 'string'
    && payload.exp > payload.iat, payload);

  const replay = await tokenRequest(disc, client, cb.get('code'), verifier, client.token_endpoint_auth_method);
  check(`${label}: code replay refused`, replay.status === 400 && replay.body.error === 'invalid_grant', replay);

  // Signed in already: a second authorization is immediate (SSO session).
  const p2 = pkce();
  r = await follow(jar, issuer, await req(jar, authUrl(disc, client, {
    state: 's2', nonce: 'n2', code_challenge: p2.challenge, code_challenge_method: 'S256',
  })));
  check(`${label}: second authorization uses the OP session`, r.callback?.searchParams.get('code'), r.html?.slice(0, 200));

  return { jar, disc, idToken: tok.body.id_token, sub: payload.sub };
}

async function testOp() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-selftest-'));
  const cfgFile = path.join(tmp, 'op.json');
  const basic = { client_id: 'client-basic', client_secret: 's3cret-basic', token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [REDIRECT] };
  const post = { client_id: 'client-post', client_secret: 's3cret-post', token_endpoint_auth_method: 'client_secret_post', redirect_uris: [REDIRECT], post_logout_redirect_uris: ['http://127.0.0.1:1/bye'] };
  const alice = { email: 'alice@org1.example.com', password: 'password', name: 'Alice Anders', email_verified: true };
  const carol = { sub: 'carol-1', email: 'carol@org2.example.com', password: 'pw2', name: 'Carol Clark', email_verified: true };
  fs.writeFileSync(cfgFile, JSON.stringify({ name: 'selftest-op', clients: [basic, post], users: [alice, carol] }));

  const op = await start('op.mjs', ['--config', cfgFile, '--port', '0', '--quiet']);
  try {
    check('op: READY line with a loopback issuer', /^http:\/\/127\.0\.0\.1:\d+$/.test(op.issuer), op.issuer);
    const disc = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
    check('op: discovery', disc.issuer === op.issuer && disc.end_session_endpoint && disc.code_challenge_methods_supported?.includes('S256')
      && disc.authorization_response_iss_parameter_supported === true, disc);

    const b = await opFlow(op.issuer, basic, alice, 'op basic');
    if (b) {
      // A fresh code (the OP session is there) redeemed with the wrong method.
      const p = pkce();
      const r = await follow(b.jar, op.issuer, await req(b.jar, authUrl(disc, basic, { state: 'w', nonce: 'w', code_challenge: p.challenge, code_challenge_method: 'S256' })));
      const wrong = await tokenRequest(disc, basic, r.callback?.searchParams.get('code'), p.verifier, 'client_secret_post');
      check('op: post refused for a client_secret_basic client', wrong.status === 401 && wrong.body.error === 'invalid_client' && !wrong.body.id_token, wrong);
    }
    const s = await opFlow(op.issuer, post, carol, 'op post');
    if (s) check('op post: explicit sub kept', s.sub === 'carol-1', s.sub);

    // A client registered for client_secret_post cannot authenticate with basic.
    const wrongAuth = await tokenRequest(disc, post, 'nope', 'nope', 'client_secret_basic');
    check('op: basic refused for a client_secret_post client', wrongAuth.status === 401 && wrongAuth.body.error === 'invalid_client', wrongAuth);

    // PKCE is required.
    const noPkce = await req(null, authUrl(disc, basic, { state: 'x', nonce: 'y' }));
    const loc = new URL(noPkce.headers.get('location') ?? 'http://invalid/', op.issuer);
    check('op: authorization without PKCE refused', loc.toString().startsWith(REDIRECT) && loc.searchParams.get('error') === 'invalid_request', loc.toString());

    // Unregistered redirect URI is refused (an error page, not a redirect).
    const badRedir = await req(null, authUrl(disc, basic, { redirect_uri: 'http://127.0.0.1:2/evil', code_challenge: pkce().challenge, code_challenge_method: 'S256' }));
    check('op: unregistered redirect_uri refused', badRedir.status === 400, badRedir.status);

    // RP-initiated logout with id_token_hint and a registered post logout URI.
    if (s) {
      let res = await req(s.jar, `${disc.end_session_endpoint}?${new URLSearchParams({ id_token_hint: s.idToken, post_logout_redirect_uri: 'http://127.0.0.1:1/bye', state: 'lo' })}`);
      const html = await res.text();
      const action = html.match(/action="([^"]+)"/)?.[1];
      const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      check('op: logout page with its form', res.status === 200 && action && fields.xsrf && fields.logout === 'yes', html.slice(0, 300));
      res = await req(s.jar, new URL(action, op.issuer).toString(), {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields),
      });
      const to = res.headers.get('location') ?? '';
      check('op: logout redirects to post_logout_redirect_uri', to.startsWith('http://127.0.0.1:1/bye') && new URL(to).searchParams.get('state') === 'lo', `${res.status} ${to}`);
      // Session gone: authorization asks for login again.
      const p = pkce();
      const r = await follow(s.jar, op.issuer, await req(s.jar, authUrl(disc, post, { state: 'a', nonce: 'b', code_challenge: p.challenge, code_challenge_method: 'S256' })));
      check('op: after logout the login form is shown again', r.html && /id="username"/.test(r.html));
    }

    // Users can be added at run time.
    const add = await fetch(`${op.issuer}/_users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'new@org1.example.com', password: 'pw', name: 'New User' }) });
    check('op: POST /_users adds a user', add.status === 200 && (await add.json())[0]?.email === 'new@org1.example.com');
    await opFlow(op.issuer, basic, { email: 'new@org1.example.com', password: 'pw', name: 'New User' }, 'op new user');
  } finally {
    const code = await stop(op);
    check('op: exits cleanly on SIGTERM', code === 0, code);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function rogueFlow(issuer, client, method) {
  const disc = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const state = rnd();
  const nonce = rnd();
  const { verifier, challenge } = pkce();
  const res = await req(null, authUrl(disc, client, { state, nonce, code_challenge: challenge, code_challenge_method: 'S256' }));
  const cb = new URL(res.headers.get('location'));
  const tok = cb.searchParams.get('code')
    ? await tokenRequest(disc, client, cb.searchParams.get('code'), verifier, method)
    : null;
  const jwks = await (await fetch(disc.jwks_uri)).json();
  return { disc, cb, tok, jwks, nonce, state, verifier };
}

async function setMode(issuer, body) {
  const r = await fetch(`${issuer}/_mode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return r.status;
}

async function testRogue() {
  const client = { client_id: 'rogue-client', client_secret: 'rogue-pw' };
  const rogue = await start('rogue.mjs', ['--port', '0', '--client-id', client.client_id, '--client-secret', client.client_secret, '--quiet']);
  try {
    check('rogue: READY line', /^http:\/\/127\.0\.0\.1:\d+$/.test(rogue.issuer), rogue.issuer);
    check('rogue: set mode good', await setMode(rogue.issuer, { mode: 'good', sub: 'victim-sub', email: 'alice@org1.example.com' }) === 200);
    let f = await rogueFlow(rogue.issuer, client, 'client_secret_basic');
    check('rogue good: callback has code, state and iss', f.cb.searchParams.get('state') === f.state && f.cb.searchParams.get('iss') === rogue.issuer);
    let id = f.tok?.body.id_token;
    let d = id && decodeJwt(id);
    check('rogue good: valid RS256 id_token', f.tok?.status === 200 && d.header.alg === 'RS256' && verifyJwt(id, f.jwks), f.tok);
    const t = Math.floor(Date.now() / 1000);
    check('rogue good: claims', d && d.payload.iss === rogue.issuer && d.payload.aud === client.client_id && d.payload.nonce === f.nonce
      && d.payload.sub === 'victim-sub' && d.payload.email === 'alice@org1.example.com' && d.payload.name
      && d.payload.exp > t && d.payload.iat <= t + 1, d?.payload);
    const replay = await tokenRequest(f.disc, client, f.cb.searchParams.get('code'), f.verifier, 'client_secret_basic');
    check('rogue: code replay refused', replay.status === 400 && replay.body.error === 'invalid_grant', replay);

    f = await rogueFlow(rogue.issuer, client, 'client_secret_post');
    check('rogue good: client_secret_post works', f.tok?.status === 200 && verifyJwt(f.tok.body.id_token, f.jwks));
    const last = await (await fetch(`${rogue.issuer}/_last`)).json();
    check('rogue: /_last records the token request', last.token?.auth_method === 'client_secret_post' && last.authorize?.code_challenge_method === 'S256');

    check('rogue: set mode alg_none', await setMode(rogue.issuer, { mode: 'alg_none' }) === 200);
    f = await rogueFlow(rogue.issuer, client, 'client_secret_basic');
    id = f.tok?.body.id_token;
    d = id && decodeJwt(id);
    check('rogue alg_none: unsigned token', d && d.header.alg === 'none' && id.endsWith('.') && !verifyJwt(id, f.jwks), d?.header);

    await setMode(rogue.issuer, { mode: 'bad_signature' });
    f = await rogueFlow(rogue.issuer, client, 'client_secret_basic');
    check('rogue bad_signature: signature does not verify', f.tok?.status === 200 && !verifyJwt(f.tok.body.id_token, f.jwks));

    await setMode(rogue.issuer, { mode: 'wrong_nonce' });
    f = await rogueFlow(rogue.issuer, client, 'client_secret_basic');
    d = decodeJwt(f.tok.body.id_token);
    check('rogue wrong_nonce: signed but nonce differs', verifyJwt(f.tok.body.id_token, f.jwks) && d.payload.nonce !== f.nonce);

    await setMode(rogue.issuer, { mode: 'unknown_kid' });
    f = await rogueFlow(rogue.issuer, client, 'client_secret_basic');
    d = decodeJwt(f.tok.body.id_token);
    check('rogue unknown_kid: kid not in JWKS', !f.jwks.keys.some((k) => k.kid === d.header.kid));

    await setMode(rogue.issuer, { mode: 'no_iss_param' });
    f = await rogueFlow(rogue.issuer, client, 'client_secret_basic');
    check('rogue no_iss_param: callback without iss', f.cb.searchParams.get('code') && !f.cb.searchParams.has('iss'));

    check('rogue: unknown mode refused', await setMode(rogue.issuer, { mode: 'nope' }) === 400);
  } finally {
    const code = await stop(rogue);
    check('rogue: exits cleanly on SIGTERM', code === 0, code);
  }
}

async function main() {
  try {
    await testOp();
    await testRogue();
  } catch (e) {
    failed += 1;
    console.log(`FAIL - unexpected error: ${e.stack}`);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  console.log(`idp: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
