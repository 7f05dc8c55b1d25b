// Layer 700: the whole sign-in in a real browser (headless Chromium): the
// module's prompt page, the connection chooser, two real OpenID Providers'
// login forms, the callback, and the protected CGI app receiving the org
// and the user in its environment. Also home-realm discovery by email with
// login_hint, a non-member refused with the module's error page, and the
// module's cookies as the browser stored them (HttpOnly, SameSite=Lax).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

import { assertBrowserReady, browserPages, startTestIdp } from './lib/browsersite.mjs';
import { Httpd } from './lib/httpd.mjs';

const PASSWORD = 'password';
const ALICE = 'alice@org1.example.com'; // okta1
const CAROL = 'carol@org2.example.com'; // okta2, made a member of org1
const DAVE = 'dave@my.example.com'; // okta2, not a member of org1

// The app: prints its environment, one NAME=VALUE per line, HTML-escaped.
const ENV_CGI = `#!/bin/sh
printf 'Content-Type: text/html; charset=utf-8\\r\\nCache-Control: no-store\\r\\n\\r\\n'
printf '<!doctype html><html><head><title>env</title></head><body><pre id="env">\\n'
env | LC_ALL=C sort | sed -e 's/&/\\&amp;/g' -e 's/</\\&lt;/g' -e 's/>/\\&gt;/g'
printf '</pre></body></html>\\n'
`;

let h;
let okta1;
let okta2;
const browser = browserPages();
let shotDir;

before(async () => {
  await assertBrowserReady();
  shotDir = fs.mkdtempSync(join(os.tmpdir(), 'orgs-it-browser-shots-'));
  h = await Httpd.create({
    name: 'browser',
    body: `ScriptAliasMatch "^/app/" "{{HTDOCS}}/cgi/env.cgi"
<Location /app/>
    AuthType orgs
    Require org-member
</Location>`,
  });
  h.cgi('cgi/env.cgi', ENV_CGI);

  // the users of tests/idp/okta1.json and okta2.json (alice, bob; carol, dave)
  okta1 = await startTestIdp(h, 'okta1', { authMethod: 'client_secret_basic' });
  okta2 = await startTestIdp(h, 'okta2', { authMethod: 'client_secret_post' });
  await h.orgctlOk('org', 'create', 'org1', '--display-name', 'Org One', '--meta', 'license=corporate');
  await h.orgctlOk('org', 'create', 'org2', '--display-name', 'Org Two', '--domain', 'my.example.com');
  await h.orgctlOk('org', 'enable-conn', 'org1', 'okta1', '--auto-membership');
  await h.orgctlOk('org', 'enable-conn', 'org1', 'okta2');
  await h.orgctlOk('org', 'enable-conn', 'org2', 'okta2', '--auto-membership');
  await h.orgctlOk('member', 'add', 'org1', '--connection', 'okta2', '--email', CAROL);

  await h.start();
  await browser.launch();
});

after(async () => {
  await browser.close();
  await h?.close();
  await okta1?.stop();
  await okta2?.stop();
  if (shotDir && process.env.KEEP_TMP) process.stderr.write(`[browser] screenshots in ${shotDir}\n`);
  else if (shotDir) fs.rmSync(shotDir, { recursive: true, force: true });
});

// A fresh browser context: no cookies, no IdP session.
const freshPage = () => browser.newPage();

// Runs fn(page, ctx); on failure adds where the browser was and the
// error_log to the message.
async function scenario(fn) {
  const { ctx, page } = await freshPage();
  const mark = h.logMark();
  try {
    await fn(page, ctx);
  } catch (e) {
    let body = '';
    try {
      body = (await page.content()).slice(0, 2000);
    } catch {
      // page gone
    }
    e.message +=
      `\n--- browser at ${page.url()} ---\n${body}` +
      `\n--- error_log ---\n${h.errorLog(mark).slice(-4000)}`;
    throw e;
  }
}

// The lines NAME=VALUE the app printed, as an object.
async function appEnv(page) {
  const text = await page.locator('#env').textContent();
  const env = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

const onIdP = (op) => (url) => url.origin === op.issuer && url.pathname.startsWith('/interaction/');
const onApp = () => (url) => url.origin === h.baseURL && url.pathname === '/app/';

// The module's cookies for the httpd origin (the IdPs' cookies share the
// host 127.0.0.1 and are left out by name).
async function moduleCookies(ctx) {
  return (await ctx.cookies(h.baseURL)).filter((c) => c.name.startsWith('orgs_'));
}

async function signInAtIdP(page, op, email, { expectPrefilled } = {}) {
  await page.waitForURL(onIdP(op));
  await page.locator('#username').waitFor();
  if (expectPrefilled !== undefined) {
    assert.equal(await page.inputValue('#username'), expectPrefilled, 'login_hint prefilled');
  } else {
    await page.fill('#username', email);
  }
  await page.fill('#password', PASSWORD);
  await page.click('#submit');
}

test('A: prompt -> org name -> chooser -> okta1 login -> the app sees org1 and alice', async () => {
  await scenario(async (page, ctx) => {
    const first = await page.goto(h.url('/app/'));
    assert.equal(first.status(), 200, 'the prompt page is served');
    let u = new URL(page.url());
    assert.equal(u.origin, h.baseURL);
    assert.equal(u.pathname, '/orgs/login', 'unauthenticated /app/ redirects to the login endpoint');

    await page.fill('#org-input', 'org1');
    await page.click('#continue');
    await page.waitForURL((url) => url.searchParams.get('organization') === 'org1');
    u = new URL(page.url());
    assert.equal(u.pathname, '/orgs/login');

    const links = page.locator('a.conn');
    assert.equal(await links.count(), 2, 'org1 offers two connections');
    assert.equal((await page.locator('a.conn[data-conn=okta1]').textContent()).trim(), 'Okta of Org One');
    assert.equal((await page.locator('a.conn[data-conn=okta2]').textContent()).trim(), 'Okta of Org Two');

    await page.click('a.conn[data-conn=okta1]');
    await signInAtIdP(page, okta1, ALICE);
    await page.waitForURL(onApp());

    const env = await appEnv(page);
    assert.equal(env.ORG_NAME, 'org1');
    assert.equal(env.ORG_META_license, 'corporate');
    assert.equal(env.REMOTE_USER, ALICE);
    assert.equal(env.ORG_CONNECTION, 'okta1');
    assert.equal(env.AUTH_TYPE, 'orgs');

    await page.screenshot({ path: join(shotDir, 'A-app-org1.png'), fullPage: true });
    assert.ok(fs.statSync(join(shotDir, 'A-app-org1.png')).size > 0);

    const cookies = await moduleCookies(ctx);
    const names = cookies.map((c) => c.name).sort();
    assert.ok(names.includes('orgs_sess_org1'), `session cookie set: ${names.join(', ')}`);
    for (const c of cookies) {
      assert.equal(c.httpOnly, true, `${c.name} is HttpOnly`);
      assert.equal(c.sameSite, 'Lax', `${c.name} is SameSite=Lax`);
      assert.equal(c.path, '/', `${c.name} has Path=/`);
    }
    const script = await page.evaluate(() => document.cookie);
    assert.doesNotMatch(script, /orgs_/, 'page scripts cannot read the module cookies');

    // the session holds: a reload stays in the app, no new sign-in
    const again = await page.reload();
    assert.equal(again.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/app/');
    assert.equal((await appEnv(page)).ORG_NAME, 'org1');
  });
});

test('B: a work email in the prompt -> home-realm discovery -> okta2 with login_hint -> org2', async () => {
  await scenario(async (page, ctx) => {
    await page.goto(h.url('/app/'));
    assert.equal(new URL(page.url()).pathname, '/orgs/login');
    await page.fill('#org-input', DAVE);
    await page.click('#continue');

    // straight to okta2: no chooser (org2 has one connection)
    await page.waitForURL(onIdP(okta2));
    await signInAtIdP(page, okta2, DAVE, { expectPrefilled: DAVE });
    await page.waitForURL(onApp());

    const env = await appEnv(page);
    assert.equal(env.ORG_NAME, 'org2');
    assert.equal(env.REMOTE_USER, DAVE);
    assert.equal(env.ORG_CONNECTION, 'okta2');
    await page.screenshot({ path: join(shotDir, 'B-app-org2.png'), fullPage: true });

    const cookies = await moduleCookies(ctx);
    assert.ok(cookies.some((c) => c.name === 'orgs_sess_org2'), 'session cookie for org2');
    for (const c of cookies) {
      assert.equal(c.httpOnly, true, `${c.name} is HttpOnly`);
      assert.equal(c.sameSite, 'Lax', `${c.name} is SameSite=Lax`);
    }
  });
});

test('C: an okta2 user who is not a member of org1 gets the error page access_denied', async () => {
  await scenario(async (page, ctx) => {
    await page.goto(h.url('/app/'));
    await page.fill('#org-input', 'org1');
    await page.click('#continue');
    await page.waitForURL((url) => url.searchParams.get('organization') === 'org1');
    await page.click('a.conn[data-conn=okta2]');

    await page.waitForURL(onIdP(okta2));
    const callback = page.waitForResponse(
      (r) => r.url().startsWith(h.url('/orgs/callback')) && r.request().isNavigationRequest(),
    );
    await signInAtIdP(page, okta2, DAVE);
    const res = await callback;
    assert.equal(res.status(), 403, 'the callback refuses with 403');

    await page.locator('#error-code').waitFor();
    assert.equal((await page.locator('#error-code').textContent()).trim(), 'access_denied');
    const u = new URL(page.url());
    assert.equal(u.origin, h.baseURL);
    assert.equal(u.pathname, '/orgs/callback', 'the module answers the callback itself');
    await page.screenshot({ path: join(shotDir, 'C-access-denied.png'), fullPage: true });

    const cookies = await moduleCookies(ctx);
    assert.ok(
      !cookies.some((c) => c.name === 'orgs_sess_org1'),
      `no org1 session for a refused user: ${cookies.map((c) => c.name).join(', ')}`,
    );
    // and the app still asks for a sign-in
    await page.goto(h.url('/app/'));
    assert.equal(new URL(page.url()).pathname, '/orgs/login');
  });
});

test('C2: carol, made a member of org1, signs in to org1 through okta2', async () => {
  await scenario(async (page) => {
    await page.goto(h.url('/app/'));
    await page.fill('#org-input', 'org1');
    await page.click('#continue');
    await page.waitForURL((url) => url.searchParams.get('organization') === 'org1');
    await page.click('a.conn[data-conn=okta2]');
    await signInAtIdP(page, okta2, CAROL);
    await page.waitForURL(onApp());

    const env = await appEnv(page);
    assert.equal(env.ORG_NAME, 'org1');
    assert.equal(env.REMOTE_USER, CAROL);
    assert.equal(env.ORG_CONNECTION, 'okta2');
    assert.equal(env.ORG_META_license, 'corporate');
  });
});
