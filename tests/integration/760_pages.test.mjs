// Layer 760: the module's pages in a real browser (headless Chromium):
// every page in every shipped language and with an org's branding, each
// checked by axe-core at WCAG 2.2 AA (zero violations) and screenshotted
// under $BUILD_DIR/screenshots/; the prompt, chooser, denial, org switch
// and sign-out end to end with the local IdPs; each page's CSP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { assertBrowserReady, browserPages, startTestIdp } from './lib/browsersite.mjs';
import { Httpd } from './lib/httpd.mjs';
import { BUILD_DIR } from './lib/paths.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const LANGS = ['en', 'de', 'fr', 'es', 'ja'];
const SHOTS = join(BUILD_DIR, 'screenshots');

const PASSWORD = 'password';
const ALICE = 'alice@org1.example.com'; // okta1, member of org1 (roles: none)
const DAVE = 'dave@my.example.com'; // okta2, auto-member of org2

// A small logo of the site and one of org2, as data: URLs (no network).
const svg = (fill, text) =>
  `data:image/svg+xml;base64,${Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32"><rect width="120" height="32" rx="6" fill="${fill}"/><text x="60" y="21" font-family="sans-serif" font-size="14" fill="#fff" text-anchor="middle">${text}</text></svg>`,
  ).toString('base64')}`;
const SITE_LOGO = svg('#1d2330', 'Acme Portal');
const ORG2_LOGO = svg('#0b5cad', 'Org Two');

const ENV_CGI = `#!/bin/sh
printf 'Content-Type: text/html; charset=utf-8\\r\\nCache-Control: no-store\\r\\n\\r\\n'
printf '<!doctype html><html lang="en"><head><title>env</title></head><body><main><pre id="env">\\n'
env | LC_ALL=C sort | sed -e 's/&/\\&amp;/g' -e 's/</\\&lt;/g' -e 's/>/\\&gt;/g'
printf '</pre></main></body></html>\\n'
`;

let h;
let okta1;
let okta2;
const browser = browserPages();
let invitePath; // the invitation URL of org2's invitation, from orgctl
let signedIn; // storage state of a browser signed in to org1 (alice) and org2 (dave)

before(async () => {
  await assertBrowserReady();
  fs.mkdirSync(SHOTS, { recursive: true });
  h = await Httpd.create({
    name: 'pages',
    body: `OrgsBrandName "Acme Portal"
OrgsBrandLogo ${SITE_LOGO}
ScriptAliasMatch "^/(app|admin|org2|own-403)/" "{{HTDOCS}}/cgi/env.cgi"
<Location /app/>
    AuthType orgs
    Require org-member
</Location>
<Location /admin/>
    AuthType orgs
    AuthzSendForbiddenOnFailure On
    Require org-role admin
</Location>
<Location /org2/>
    AuthType orgs
    OrgsOrganization org2
    Require org-role owner
</Location>
<Location /own-403/>
    AuthType orgs
    AuthzSendForbiddenOnFailure On
    ErrorDocument 403 "the app's own refusal"
    Require org-role admin
</Location>`,
  });
  h.cgi('cgi/env.cgi', ENV_CGI);
  okta1 = await startTestIdp(h, 'okta1');
  okta2 = await startTestIdp(h, 'okta2');
  await h.orgctlOk('org', 'create', 'org1', '--display-name', 'Org One');
  await h.orgctlOk('org', 'create', 'org2', '--display-name', 'Org Two', '--domain', 'my.example.com');
  await h.orgctlOk('org', 'update', 'org2', '--logo-url', ORG2_LOGO,
    '--color-primary', '#0b5cad', '--color-background', '#e8eef6');
  await h.orgctlOk('org', 'enable-conn', 'org1', 'okta1', '--auto-membership');
  await h.orgctlOk('org', 'enable-conn', 'org1', 'okta2');
  await h.orgctlOk('org', 'enable-conn', 'org2', 'okta2', '--auto-membership');
  const made = await h.orgctlOk('invite', 'create', 'org2', 'erin@my.example.com', '--inviter', 'Jane (IT)');
  invitePath = made.split('\n').find((l) => l.includes('invitation='));
  invitePath = invitePath.slice(invitePath.indexOf('/orgs/login'));
  await h.start();
  await browser.launch();
});

after(async () => {
  await browser.close();
  await h?.close();
  await okta1?.stop();
  await okta2?.stop();
});

const newPage = (opts) => browser.newPage(opts);

const onIdP = (op) => (url) => url.origin === op.issuer && url.pathname.startsWith('/interaction/');

async function signInAtIdP(page, op, email) {
  await page.waitForURL(onIdP(op));
  await page.locator('#username').waitFor();
  if (!(await page.inputValue('#username'))) await page.fill('#username', email);
  await page.fill('#password', PASSWORD);
  await page.click('#submit');
}

// axe-core on the page as it is: zero violations at WCAG 2.2 AA; then a
// screenshot NAME.png under $BUILD_DIR/screenshots/.
async function audit(page, name) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
    AXE_TAGS,
  );
  const found = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
  assert.deepEqual(found, [], `${name}: axe-core violations`);
  assert.ok(result.passes.length > 5, `${name}: axe-core ran (${result.passes.length} rules passed)`);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

// The CSP-bypassing context lets axe's script in; what the page's own CSP
// allows is checked apart (test 'CSP ...').
const auditContext = (lang, extra = {}) =>
  newPage({ bypassCSP: true, extraHTTPHeaders: { 'Accept-Language': lang }, ...extra });

test('sign in once to org1 (alice) and org2 (dave): the state every page test reuses', async () => {
  const { ctx, page } = await newPage();
  // the prompt takes the name in any case, with spaces
  await page.goto(h.url('/app/'));
  await page.fill('#org-input', '  ORG1 ');
  await page.click('#continue');
  await page.locator('a.conn[data-conn=okta1]').click();
  await signInAtIdP(page, okta1, ALICE);
  await page.waitForURL((u) => u.pathname === '/app/');
  assert.match(await page.locator('#env').textContent(), /^ORG_NAME=org1$/m);
  // and the display name when one org alone has it
  await page.goto(h.url('/orgs/login?return_to=%2Fapp%2F'));
  await page.fill('#org-input', 'org two');
  await page.click('#continue');
  await signInAtIdP(page, okta2, DAVE);
  await page.waitForURL((u) => u.pathname === '/app/');
  assert.match(await page.locator('#env').textContent(), /^ORG_NAME=org2$/m);
  signedIn = await ctx.storageState();
});

for (const lang of LANGS) {
  test(`every page in ${lang}: axe-core finds no WCAG 2.2 AA violation`, async () => {
    assert.ok(signedIn, 'the sign-in test ran first');
    const { page } = await auditContext(lang);
    // prompt (site branding), then with an error message
    let res = await page.goto(h.url('/orgs/login?return_to=%2Fapp%2F'));
    assert.equal(res.status(), 200);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    assert.equal(await page.locator('#logo').count(), 1, 'the site logo');
    await audit(page, `prompt-${lang}`);
    res = await page.goto(h.url('/orgs/login?organization=nope'));
    assert.equal(res.status(), 404);
    assert.equal(await page.getAttribute('#org-input', 'aria-invalid'), 'true');
    assert.equal(await page.getAttribute('#error', 'role'), 'alert');
    await audit(page, `prompt-error-${lang}`);
    // chooser of org1 (no branding of its own: the site's logo)
    res = await page.goto(h.url('/orgs/login?organization=org1&return_to=%2Fapp%2F'));
    assert.equal(await page.locator('a.conn').count(), 2);
    await audit(page, `chooser-${lang}`);
    // error page (no org known)
    res = await page.goto(h.url('/orgs/callback?state=nope&code=x'));
    assert.equal(res.status(), 400);
    assert.equal((await page.locator('#error-code').textContent()).trim(), 'invalid_request');
    await audit(page, `error-${lang}`);
    // the error page of org2, branded, its "Try again" keeping the org
    res = await page.goto(h.url('/orgs/login?organization=org2&connection=nosuch&return_to=%2Fapp%2F'));
    assert.equal(res.status(), 403);
    assert.match(await page.getAttribute('#try-again', 'href'), /organization=org2/);
    assert.equal(await page.locator('#logo').getAttribute('src'), ORG2_LOGO);
    await audit(page, `error-org2-${lang}`);
    // signed out, site and org2
    await page.goto(h.url('/orgs/signed-out'));
    await audit(page, `signed-out-${lang}`);
    await page.goto(h.url('/orgs/signed-out?organization=org2'));
    assert.equal(await page.locator('#logo').getAttribute('src'), ORG2_LOGO);
    await audit(page, `signed-out-org2-${lang}`);
    // the invitation page: org2's, naming who invites whom
    res = await page.goto(h.url(invitePath));
    assert.equal(res.status(), 200);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    assert.equal((await page.locator('#inviter').textContent()).trim(), 'Jane (IT)');
    assert.equal((await page.locator('#invitee').textContent()).trim(), 'erin@my.example.com');
    assert.equal(await page.locator('#logo').getAttribute('src'), ORG2_LOGO);
    assert.equal(await page.locator('a.conn').count(), 1);
    await audit(page, `invite-org2-${lang}`);
    // the confirmation another site's link leads to (asked for with the
    // browser's own cross-site header, rendered from the module's answer)
    const confirm = await rawGet(`/orgs/login?organization=org1&connection=okta1`, {
      'Sec-Fetch-Site': 'cross-site',
      'Accept-Language': lang,
    });
    assert.equal(confirm.status, 200);
    assert.match(confirm.body, /id="login-confirm"/);
    await page.setContent(confirm.body);
    await audit(page, `confirm-${lang}`);
  });

  test(`the denial page and the org switcher in ${lang}`, async () => {
    const { page } = await auditContext(lang, { storageState: signedIn });
    // org2 is the current org (signed in last): /admin/ needs the admin role
    const res = await page.goto(h.url('/admin/'));
    assert.equal(res.status(), 403);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    const text = await page.locator('#denied-text').textContent();
    assert.match(text, /Org Two/);
    assert.match(text, /dave@my\.example\.com/);
    assert.match(text, /admin/);
    assert.equal(await page.locator('#logo').getAttribute('src'), ORG2_LOGO, "org2's logo");
    assert.equal(await page.locator('a.switch[data-org=org1]').count(), 1, 'the switcher offers org1');
    await audit(page, `denied-org2-${lang}`);
  });
}

test('denial: the switcher switches to org1, which also lacks the role; sign out shows the signed-out page', async () => {
  const { page } = await newPage({ storageState: signedIn });
  await page.goto(h.url('/admin/'));
  await Promise.all([page.waitForNavigation(), page.click('a.switch[data-org=org1]')]);
  // back on /admin/, now as alice of org1 (no role either): org1's denial
  assert.equal(new URL(page.url()).pathname, '/admin/');
  assert.match(await page.locator('#denied-text').textContent(), /Org One as alice@org1\.example\.com/);
  await h.waitForLog(/ORGS00802: switched this browser to org org1/);
  // the app now sees org1
  await page.goto(h.url('/app/'));
  assert.match(await page.locator('#env').textContent(), /^ORG_NAME=org1$/m);
  // sign out of org1 from the denial page: the IdP's sign-out, then ours
  await page.goto(h.url('/admin/'));
  await page.click('#sign-out');
  // (the IdP's own sign-out page submits itself and comes back)
  await page.waitForURL((u) => u.origin === h.baseURL && u.pathname === '/orgs/signed-out');
  assert.match(await page.locator('#signed-out-text').textContent(), /You have signed out of Org One\./);
  // org2 is still signed in: offered on the signed-out page
  assert.equal(await page.locator('a.switch[data-org=org2]').count(), 1);
});

test('an org-fixed location denies with the org\'s page (httpd\'s 401 by default); an app ErrorDocument is left alone', async () => {
  const { page } = await newPage({ storageState: signedIn });
  const mark = h.logMark();
  let res = await page.goto(h.url('/org2/'));
  assert.equal(res.status(), 401, 'without AuthzSendForbiddenOnFailure httpd answers 401');
  assert.match(await page.locator('#denied-text').textContent(), /needs the owner role/);
  assert.equal(res.headers()['content-type'], 'text/html');
  assert.match(res.headers()['content-security-policy'], /^default-src 'none'; style-src 'nonce-/);
  assert.match(h.errorLog(mark), /ORGS00401: authorization denied for 'dave@my\.example\.com': none of the required roles/);
  res = await page.goto(h.url('/own-403/'));
  assert.equal(res.status(), 403);
  assert.equal((await page.textContent('body')).trim(), "the app's own refusal");
});

// A GET with extra headers, outside the browser: { status, headers, body }.
function rawGet(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(h.url(path), { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

test('CSP: style by nonce only, images from the logo\'s origin only; the nonce changes per page', async () => {
  const a = await rawGet('/orgs/login');
  const b = await rawGet('/orgs/login');
  const csp = a.headers['content-security-policy'];
  assert.match(csp, /^default-src 'none'; style-src 'nonce-[A-Za-z0-9_-]{22}'; img-src data:; frame-ancestors 'none'$/);
  assert.notEqual(csp, b.headers['content-security-policy']);
  const nonce = csp.match(/'nonce-([^']+)'/)[1];
  assert.match(a.body, new RegExp(`<style nonce="${nonce}">`));
  assert.doesNotMatch(a.body, /<script/);
  // an org with an https logo: that origin alone
  await h.orgctlOk('org', 'create', 'org3', '--display-name', 'Org Three');
  await h.orgctlOk('org', 'update', 'org3', '--logo-url', 'https://cdn.example.com:8443/l.png?v=1',
    '--color-primary', '#ffcc00');
  await h.orgctlOk('org', 'enable-conn', 'org3', 'okta1');
  await h.orgctlOk('org', 'enable-conn', 'org3', 'okta2');
  const c = await rawGet('/orgs/login?organization=org3');
  assert.match(c.headers['content-security-policy'], /; img-src https:\/\/cdn\.example\.com:8443; /);
  // a light primary colour gets dark text on its buttons
  assert.match(c.body, /--primary:#ffcc00;--on-primary:#000000/);
  // org3's look never reaches another org's pages
  const d = await rawGet('/orgs/login?organization=org1');
  assert.doesNotMatch(d.body, /ffcc00|cdn\.example\.com/);
  // the style is applied under the real CSP (no bypass)
  const { page } = await newPage();
  await page.goto(h.url('/orgs/login'));
  const bg = await page.evaluate(() => getComputedStyle(document.querySelector('#continue')).backgroundColor);
  assert.equal(bg, 'rgb(40, 81, 200)', 'the nonce style applies');
  await h.orgctlOk('org', 'update', 'org3', '--logo-url', '', '--color-primary', '');
  const e = await rawGet('/orgs/login?organization=org3');
  assert.match(e.headers['content-security-policy'], /img-src data:;/, 'back to the site logo');
});
