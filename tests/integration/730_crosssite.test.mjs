// Layer 700: sign-ins and sign-outs another site asks for.
// Login CSRF: a cross-site link to /orgs/login?organization=evilorg (whose
// IdP, tests/idp/rogue.mjs, signs anybody in as the attacker without a
// question) must not sign a victim who uses org1 into the attacker's
// account nor switch the victim's /app/ to evilorg: the victim gets a page
// with a button (a POST carrying this browser's token). Logout CSRF: a
// cross-site GET to /orgs/logout does not end the session; it shows a
// confirmation (a POST with the session's token). Same-site starts and
// logouts work as before. Checked with explicit Sec-Fetch-Site / Origin
// headers and in headless Chromium with an attacker page on another site.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { Httpd } from './lib/httpd.mjs';
import { Client } from './lib/client.mjs';
import { startOp } from './lib/idp.mjs';
import { Rogue } from './lib/rogue.mjs';
import { freePort } from './lib/proc.mjs';
import { browserUnavailable, launchBrowser } from './lib/browser.mjs';
import { ENV_CGI, describeHops, parseEnv, parseForm, seed, signIn } from './lib/flow.mjs';

const HTML = { accept: 'text/html' };
const CROSS = { ...HTML, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' };
const ROGUE_ID = 'mod-auth-orgs-rogue';
const ROGUE_SECRET = 'rogue-secret-for-crosssite';

let h;
let okta1;
let rogue;
let attacker; // the attacker's site (another origin), for the browser test
let attackerPort;

before(async () => {
  h = await Httpd.create({
    name: 'crosssite',
    body: `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>
<Location /app/>
    AuthType orgs
    Require org-member
</Location>`,
  });
  h.cgi('app/index.cgi', ENV_CGI);
  okta1 = await startOp({
    name: 'okta1',
    redirectUri: `${h.baseURL}/orgs/callback`,
    users: [{ email: 'alice@org1.example.com', sub: 'okta1-alice', name: 'Alice' }],
  });
  rogue = await Rogue.start({ clientId: ROGUE_ID, clientSecret: ROGUE_SECRET });
  await seed(h, {
    orgs: { org1: { displayName: 'Org One' }, evilorg: { displayName: 'Evil Org' } },
    conns: [{ op: okta1 }],
    enable: [['org1', 'okta1', { autoMembership: true }]],
  });
  const secretFile = h.file('conf/rogue.secret', `${ROGUE_SECRET}\n`, 0o600);
  await h.orgctlOk('conn', 'create', 'rogue', '--issuer', rogue.issuer, '--client-id', ROGUE_ID,
    '--client-secret-file', secretFile);
  await h.orgctlOk('org', 'enable-conn', 'evilorg', 'rogue', '--auto-membership');
  await h.start();

  // The attacker's page, on "localhost" (another site than 127.0.0.1).
  attackerPort = await freePort();
  attacker = http.createServer((req, res) => {
    const login = `${h.baseURL}/orgs/login?organization=evilorg&return_to=/app/`;
    const logout = `${h.baseURL}/orgs/logout?organization=org1`;
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><a id="login" href="${login}">win a prize</a>
<a id="logout" href="${logout}">another prize</a>`);
  });
  await new Promise((resolve) => attacker.listen(attackerPort, '127.0.0.1', resolve));
});

after(async () => {
  await h?.close();
  await okta1?.stop();
  await rogue?.stop();
  await new Promise((resolve) => (attacker ? attacker.close(resolve) : resolve()));
});

// A victim browser signed in to org1 (its /app/ shows org1).
async function victim() {
  const app = h.client();
  const r = await signIn(app, {
    idp: new Client(),
    start: '/orgs/login?organization=org1&return_to=/app/',
    email: 'alice@org1.example.com',
  });
  assert.equal(r.stage, 'app', describeHops(r.hops));
  assert.equal(r.env.ORG_NAME, 'org1');
  return app;
}

async function appOrg(app) {
  const res = await app.get('/app/', { headers: HTML });
  return res.status === 200 ? parseEnv(res.body).ORG_NAME : `HTTP ${res.status}`;
}

// ---- login CSRF -------------------------------------------------------------

test('login CSRF: a cross-site link does not sign the victim into evilorg nor switch /app/', async () => {
  const app = await victim();
  const mark = h.logMark();
  // the browser follows wherever the link leads, as it would
  const r = await signIn(app, { start: '/orgs/login?organization=evilorg&return_to=/app/', headers: CROSS });
  assert.ok(!r.hops.some((x) => x.side === 'idp'), `went to the IdP:\n${describeHops(r.hops)}`);
  assert.equal(r.last.status, 200);
  const form = parseForm(r.last.body, 'login-confirm');
  assert.ok(form, 'no confirmation page');
  assert.equal(form.method, 'POST');
  assert.equal(form.fields.organization, 'evilorg');
  assert.match(r.last.body, /Evil Org/);
  assert.equal(await appOrg(app), 'org1', 'the victim\'s /app/ was switched');
  await h.waitForLog(/ORGS00553: login to org evilorg asked for by another site/, { from: mark });
});

test('login CSRF: an Origin of another site counts as cross-site too', async () => {
  const app = await victim();
  const res = await app.get('/orgs/login?organization=evilorg&return_to=/app/', {
    headers: { ...HTML, origin: 'http://attacker.example' },
  });
  assert.equal(res.status, 200);
  assert.ok(parseForm(res.body, 'login-confirm'), 'no confirmation page');
  assert.equal(await appOrg(app), 'org1');
});

// A browser without Fetch Metadata sends no Sec-Fetch-Site; a GET
// navigation carries no Origin either, so the Referer is what is left.
const OLD_BROWSER = { ...HTML, 'sec-fetch-site': null };

test('login CSRF from an older browser: a Referer of another site counts as cross-site', async () => {
  const app = await victim();
  const mark = h.logMark();
  const res = await app.get('/orgs/login?organization=evilorg&return_to=/app/', {
    headers: { ...OLD_BROWSER, referer: 'http://attacker.example/prize.html' },
  });
  assert.equal(res.status, 200, `${res.status} ${res.location ?? ''}`);
  assert.ok(parseForm(res.body, 'login-confirm'), 'no confirmation page');
  assert.equal(await appOrg(app), 'org1');
  await h.waitForLog(/ORGS00553: login to org evilorg asked for by another site/, { from: mark });
  // a Referer that only starts like this site's origin is another origin
  const lookalike = await app.get('/orgs/login?organization=evilorg&return_to=/app/', {
    headers: { ...OLD_BROWSER, referer: `${h.baseURL}.attacker.example/` },
  });
  assert.ok(parseForm(lookalike.body, 'login-confirm'), 'a look-alike Referer went through');
});

test('login CSRF from an older browser: no Sec-Fetch-Site, Origin nor Referer asks to confirm', async () => {
  // the attacker's page can suppress the Referer (Referrer-Policy:
  // no-referrer); only Sec-Fetch-Site cannot be forged by a page
  const app = await victim();
  const mark = h.logMark();
  const res = await app.get('/orgs/login?organization=evilorg&return_to=/app/', { headers: OLD_BROWSER });
  assert.equal(res.status, 200, `${res.status} ${res.location ?? ''}`);
  const form = parseForm(res.body, 'login-confirm');
  assert.ok(form, 'no confirmation page');
  assert.equal(await appOrg(app), 'org1');
  await h.waitForLog(/ORGS00553: login to org evilorg asked for by another site/, { from: mark });
  // the user's click (an older browser still sends this site's Referer) goes on
  const ok = await app.post(form.action, {
    form: form.fields,
    headers: { ...OLD_BROWSER, referer: `${h.baseURL}/orgs/login?organization=evilorg` },
  });
  assert.equal(ok.status, 302, ok.body);
  assert.ok(ok.location.startsWith(`${rogue.issuer}/authorize?`), ok.location);
});

test('an older browser coming from a page of this site goes straight to the IdP', async () => {
  const c = h.client();
  const res = await c.get('/orgs/login?organization=org1&return_to=/app/', {
    headers: { ...OLD_BROWSER, referer: `${h.baseURL}/app/` },
  });
  assert.equal(res.status, 302);
  assert.ok(res.location.startsWith(okta1.issuer), res.location);
});

test('logout CSRF from an older browser: no Sec-Fetch-Site, Origin nor Referer keeps the session', async () => {
  const app = await victim();
  const mark = h.logMark();
  const res = await app.get('/orgs/logout?organization=org1', { headers: OLD_BROWSER });
  assert.equal(res.status, 200, `${res.status} ${res.location ?? ''}`);
  assert.ok(parseForm(res.body, 'logout-confirm'), 'no confirmation page');
  assert.equal(await appOrg(app), 'org1', 'the session was ended');
  await h.waitForLog(/ORGS00555: logout of org org1 asked for by another site/, { from: mark });
  const own = await app.get('/orgs/logout?organization=org1', {
    headers: { ...OLD_BROWSER, referer: `${h.baseURL}/app/` },
  });
  assert.equal(own.status, 302);
  assert.equal(await appOrg(app), 'HTTP 302');
});

test('login CSRF: a forged POST (no or wrong token) is refused with 403, nothing sent to the IdP', async () => {
  const app = await victim();
  for (const csrf of [undefined, 'A'.repeat(43)]) {
    const mark = h.logMark();
    const form = { organization: 'evilorg', return_to: '/app/' };
    if (csrf) form.csrf = csrf;
    const res = await app.post('/orgs/login', {
      form,
      headers: { ...HTML, 'sec-fetch-site': 'cross-site', origin: 'http://attacker.example' },
    });
    assert.equal(res.status, 403, res.body);
    assert.ok(!res.location, `redirected to ${res.location}`);
    await h.waitForLog(/ORGS00552: login to org evilorg posted without this browser's confirmation token/, { from: mark });
  }
  assert.equal(await appOrg(app), 'org1');
});

test('login confirmed by the user on this site goes on to the IdP', async () => {
  const app = await victim();
  const page = await app.get('/orgs/login?organization=evilorg&return_to=/app/', { headers: CROSS });
  const form = parseForm(page.body, 'login-confirm');
  assert.ok(form);
  const res = await app.post(form.action, {
    form: form.fields,
    headers: { ...HTML, 'sec-fetch-site': 'same-origin', origin: h.baseURL },
  });
  assert.equal(res.status, 302, res.body);
  assert.ok(res.location.startsWith(`${rogue.issuer}/authorize?`), res.location);
  // the page's cookie carried its proof: no cookie self-redirect on the way
  assert.equal(new URL(res.location).searchParams.get('cookie_check'), null);
  // single use: the same form posted again is refused, nothing sent to the IdP
  const mark = h.logMark();
  const again = await app.post(form.action, {
    form: form.fields,
    headers: { ...HTML, 'sec-fetch-site': 'same-origin', origin: h.baseURL },
    cookieCheck: 'manual',
  });
  assert.equal(again.status, 403, `${again.status} ${again.location ?? ''}`);
  await h.waitForLog(/ORGS00552: login to org evilorg posted without this browser's confirmation token/, { from: mark });
});

test('same-site login starts still go straight to the IdP', async () => {
  for (const headers of [{ ...HTML, 'sec-fetch-site': 'same-origin' }, { ...HTML, 'sec-fetch-site': 'none' }]) {
    const c = h.client();
    const res = await c.get('/orgs/login?organization=org1&return_to=/app/', { headers });
    assert.equal(res.status, 302);
    assert.ok(res.location.startsWith(okta1.issuer), res.location);
  }
});

// ---- logout CSRF ------------------------------------------------------------

test('logout CSRF: a cross-site GET keeps the session and asks for a confirmation', async () => {
  const app = await victim();
  const mark = h.logMark();
  const res = await app.get('/orgs/logout?organization=org1', { headers: CROSS });
  assert.equal(res.status, 200, `${res.status} ${res.location ?? ''}`);
  const form = parseForm(res.body, 'logout-confirm');
  assert.ok(form, 'no confirmation page');
  assert.equal(form.method, 'POST');
  assert.equal(await appOrg(app), 'org1', 'the session was ended by a cross-site GET');
  await h.waitForLog(/ORGS00555: logout of org org1 asked for by another site/, { from: mark });

  // a forged POST keeps it too
  const mark2 = h.logMark();
  const forged = await app.post('/orgs/logout', {
    form: { organization: 'org1', csrf: 'B'.repeat(43) },
    headers: { ...HTML, 'sec-fetch-site': 'cross-site', origin: 'http://attacker.example' },
  });
  assert.equal(forged.status, 403);
  await h.waitForLog(/ORGS00554: logout of org org1 posted without the session's confirmation token/, { from: mark2 });
  assert.equal(await appOrg(app), 'org1');

  // the user's own confirmation signs out
  const ok = await app.post(form.action, {
    form: form.fields,
    headers: { ...HTML, 'sec-fetch-site': 'same-origin', origin: h.baseURL },
  });
  assert.equal(ok.status, 302);
  assert.equal(await appOrg(app), 'HTTP 302');
});

test('same-site logout works as before', async () => {
  const app = await victim();
  const res = await app.get('/orgs/logout?organization=org1', {
    headers: { ...HTML, 'sec-fetch-site': 'same-origin' },
  });
  assert.equal(res.status, 302);
  assert.equal(await appOrg(app), 'HTTP 302');
});

// ---- in a real browser --------------------------------------------------------

test('Chromium: links on another site neither switch the org nor sign out', async (t) => {
  const missing = await browserUnavailable();
  assert.equal(missing, null, `${missing} (scripts/setup.sh installs it)`);
  const app = await victim();
  const browser = await launchBrowser();
  try {
    const ctx = await browser.newContext();
    await ctx.addCookies(
      app.jar.cookies.map((c) => ({
        name: c.name, value: c.value, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Lax',
      })),
    );
    const page = await ctx.newPage();
    const env = async () => {
      await page.goto(`${h.baseURL}/app/`);
      return parseEnv(await page.textContent('body')).ORG_NAME;
    };
    assert.equal(await env(), 'org1');

    await page.goto(`http://localhost:${attackerPort}/`);
    await Promise.all([page.waitForNavigation(), page.click('#login')]);
    assert.equal(new URL(page.url()).origin, h.baseURL, `went to ${page.url()}`);
    assert.ok(await page.$('#login-confirm'), 'no confirmation page in the browser');
    assert.equal(await env(), 'org1', 'the browser was switched to evilorg');

    await page.goto(`http://localhost:${attackerPort}/`);
    await Promise.all([page.waitForNavigation(), page.click('#logout')]);
    assert.ok(await page.$('#logout-confirm'), 'no logout confirmation in the browser');
    assert.equal(await env(), 'org1', 'a cross-site link signed the browser out');

    // the user's own click on the confirmation signs out
    await page.goto(`http://localhost:${attackerPort}/`);
    await Promise.all([page.waitForNavigation(), page.click('#logout')]);
    await Promise.all([page.waitForNavigation(), page.click('#confirm')]);
    await page.goto(`${h.baseURL}/app/`);
    assert.notEqual(new URL(page.url()).pathname, '/app/', 'still signed in after confirming');
    t.diagnostic(`after confirmed logout: ${page.url()}`);
  } finally {
    await browser.close();
  }
});
