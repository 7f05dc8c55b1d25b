// Layer 761: a site's templates against a real httpd: a page and a
// catalog replaced, a language added, OrgsLanguage; and every broken file
// or bad value stops `apache2 -t` naming the directive (and the file and
// line for a template).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';

import { Httpd } from './lib/httpd.mjs';
import { MODULE_SO } from './lib/paths.mjs';

let h;

// A GET with headers: { status, headers, body }.
function rawGet(server, path, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(server.url(path), { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

before(async () => {
  assert.ok(fs.existsSync(MODULE_SO), `module not built: ${MODULE_SO} (set BUILD_DIR)`);
  h = await Httpd.create({ name: 'pages-config' });
  h.file('pages/signed-out.html',
    '<!DOCTYPE html><html lang="{{lang}}"><head><title>{{t signed_out.title}}</title></head>' +
    '<body><main><h1 id="site-own">{{t signed_out.title}}</h1><p>{{t site.bye}}</p></main></body></html>\n');
  h.file('pages/messages.en', '# the site\'s words\nsigned_out.title = See you soon\nsite.bye = Come back any time.\n');
  h.file('pages/messages.it', 'plural = one-if-1\nsigned_out.title = Sei uscito\nsite.bye = A presto.\n');
  h.file('pages/notes.txt', 'ignored {{ not a template\n');
});

after(async () => {
  await h?.close();
});

test('a site directory replaces a page and messages and adds a language; the rest stays shipped', async () => {
  h.writeConf('OrgsTemplateDir {{ROOT}}/pages\nOrgsBrandName "Acme Portal"');
  await h.start();
  try {
    let res = await rawGet(h, '/orgs/signed-out');
    assert.equal(res.status, 200);
    assert.match(res.body, /<h1 id="site-own">See you soon<\/h1><p>Come back any time\.<\/p>/);
    res = await rawGet(h, '/orgs/signed-out', { 'Accept-Language': 'it-IT, en;q=0.5' });
    assert.match(res.body, /<html lang="it">.*<h1 id="site-own">Sei uscito<\/h1><p>A presto\.<\/p>/s);
    // the prompt is still the shipped one, in the shipped German
    res = await rawGet(h, '/orgs/login', { 'Accept-Language': 'de' });
    assert.match(res.body, /<h1>Melden Sie sich an, um zu Acme Portal zu gelangen<\/h1>/);
    assert.match(res.body, /id="org-form"/);
  } finally {
    await h.stop();
  }
});

test('OrgsLanguage answers every page in one language', async () => {
  h.writeConf('OrgsLanguage fr');
  await h.start();
  try {
    const res = await rawGet(h, '/orgs/login', { 'Accept-Language': 'de, en' });
    assert.match(res.body, /<html lang="fr">/);
    assert.match(res.body, /<button id="continue" type="submit">Continuer<\/button>/);
  } finally {
    await h.stop();
  }
});

const cases = [
  ['an unclosed block', 'prompt.html', 'x\n{{#if error}}\n<p>{{error}}</p>\n', /OrgsTemplateDir: \S+\/pages-bad\/prompt\.html:2: \{\{#if\}\} not closed: error/],
  ['an unknown message key', 'denied.html', '<p>\n{{t denied.nope}}</p>', /OrgsTemplateDir: \S+\/pages-bad\/denied\.html:2: unknown message key: denied\.nope/],
  ['a broken partial', '_style.css', 'body{}\n{{color\n', /OrgsTemplateDir: \S+\/pages-bad\/_style\.css:2: unclosed \{\{/],
  ['a broken catalog', 'messages.de', 'prompt.title = Anmelden\nkein Gleichheitszeichen\n', /OrgsTemplateDir: \S+\/pages-bad\/messages\.de:2: expected key = text/],
];
for (const [label, file, text, re] of cases) {
  test(`apache2 -t refuses ${label}, naming the file and line`, async () => {
    fs.rmSync(`${h.root}/pages-bad`, { recursive: true, force: true });
    h.file(`pages-bad/${file}`, text);
    const r = await h.configtest('OrgsTemplateDir {{ROOT}}/pages-bad');
    assert.notEqual(r.code, 0, `accepted: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re);
  });
}

const bad = [
  ['OrgsTemplateDir', 'OrgsTemplateDir {{ROOT}}/no-such-dir', /OrgsTemplateDir: not a directory/],
  ['OrgsLanguage', 'OrgsLanguage en_US', /OrgsLanguage: a language tag/],
  ['OrgsLanguage', 'OrgsLanguage it', /ORGS00801: OrgsLanguage: no catalog for 'it'/],
  ['OrgsBrandName', `OrgsBrandName "${'x'.repeat(300)}"`, /OrgsBrandName: display name longer than 255 bytes/],
  ['OrgsBrandLogo', 'OrgsBrandLogo http://cdn.example.com/l.png', /OrgsBrandLogo: logo: /],
  ['OrgsBrandLogo', 'OrgsBrandLogo javascript:alert(1)', /OrgsBrandLogo: logo: /],
];
for (const [directive, line, re] of bad) {
  test(`apache2 -t refuses ${line.slice(0, 60)}`, async () => {
    const r = await h.configtest(line);
    assert.notEqual(r.code, 0, `accepted: ${line}`);
    assert.match(r.stderr + r.stdout, re);
    assert.match(r.stderr + r.stdout, new RegExp(directive));
  });
}

test('apache2 -t accepts the good values', async () => {
  const r = await h.configtest(
    'OrgsTemplateDir {{ROOT}}/pages\nOrgsLanguage it\nOrgsBrandName "Acme Portal"\n' +
    'OrgsBrandLogo https://static.acme.example/logo.svg',
  );
  assert.equal(r.code, 0, r.stderr);
});
