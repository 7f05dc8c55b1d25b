// Layer 100: every bad value is rejected by `apache2 -t`, with a message
// naming the directive; good values are accepted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';

import { Httpd } from './lib/httpd.mjs';
import { MODULE_SO } from './lib/paths.mjs';

let h;
const KEY = 'OrgsCryptoKey file:{{KEY}}';
const STORE = 'OrgsStore {{STORE}}';

before(async () => {
  assert.ok(fs.existsSync(MODULE_SO), `module not built: ${MODULE_SO} (set BUILD_DIR)`);
  h = await Httpd.create({ name: 'config' });
  h.file('conf/short.key', 'too-short\n', 0o600);
  h.file('conf/open.key', 'x'.repeat(64) + '\n', 0o644); // world-readable
  h.file('conf/not-a-dir', 'file\n');
  fs.mkdirSync(join(h.root, 'conf/key-dir'));
});

after(async () => {
  await h?.close();
});

const protectedLoc = (extra = '') => `<Location /app>
    AuthType orgs
    Require valid-user
    ${extra}
</Location>`;

// [label, directive expected in stderr, serverOrgs, body]
const bad = [
  ['missing store directory', 'OrgsStore', `OrgsStore {{ROOT}}/nope\n${KEY}`, ''],
  ['store path is a file', 'OrgsStore', `OrgsStore {{ROOT}}/conf/not-a-dir\n${KEY}`, ''],
  ['size with a bad unit', 'OrgsStoreMaxSize', `${STORE}\nOrgsStoreMaxSize 12X\n${KEY}`, ''],
  ['size zero', 'OrgsStoreMaxSize', `${STORE}\nOrgsStoreMaxSize 0\n${KEY}`, ''],
  ['size below 1M', 'OrgsStoreMaxSize', `${STORE}\nOrgsStoreMaxSize 512K\n${KEY}`, ''],
  ['missing key file', 'OrgsCryptoKey', `${STORE}\nOrgsCryptoKey file:{{ROOT}}/conf/nope.key`, ''],
  ['key file is a directory', 'OrgsCryptoKey', `${STORE}\nOrgsCryptoKey file:{{ROOT}}/conf/key-dir`, ''],
  ['key too short', 'OrgsCryptoKey', `${STORE}\nOrgsCryptoKey file:{{ROOT}}/conf/short.key`, ''],
  ['key world-readable', 'OrgsCryptoKey', `${STORE}\nOrgsCryptoKey file:{{ROOT}}/conf/open.key`, ''],
  ['key env variable unset', 'OrgsCryptoKey', `${STORE}\nOrgsCryptoKey env:ORGS_TEST_NO_SUCH_VAR`, ''],
  ['key source without a kind', 'OrgsCryptoKey', `${STORE}\nOrgsCryptoKey {{KEY}}`, ''],
  ['endpoint without leading slash', 'OrgsEndpoint', `${STORE}\n${KEY}\nOrgsEndpoint orgs`, ''],
  ['endpoint with trailing slash', 'OrgsEndpoint', `${STORE}\n${KEY}\nOrgsEndpoint /orgs/`, ''],
  ['public URL not http(s)', 'OrgsPublicURL', `${STORE}\n${KEY}\nOrgsPublicURL ftp://example.com`, ''],
  ['public URL relative', 'OrgsPublicURL', `${STORE}\n${KEY}\nOrgsPublicURL /x`, ''],
  ['idle timeout garbage', 'OrgsSessionIdleTimeout', `${STORE}\n${KEY}\nOrgsSessionIdleTimeout 5x`, ''],
  ['max age zero', 'OrgsSessionMaxAge', `${STORE}\n${KEY}\nOrgsSessionMaxAge 0`, ''],
  ['login timeout negative', 'OrgsLoginTimeout', `${STORE}\n${KEY}\nOrgsLoginTimeout -5m`, ''],
  ['OrgsUnauthenticated bogus', 'OrgsUnauthenticated', undefined, protectedLoc('OrgsUnauthenticated bogus')],
  ['OrgsPassHeaders not a flag', 'OrgsPassHeaders', undefined, protectedLoc('OrgsPassHeaders maybe')],
  ['OrgsStripCookies not a flag', 'OrgsStripCookies', undefined, protectedLoc('OrgsStripCookies sometimes')],
  ['OrgsPrivateResponses not a flag', 'OrgsPrivateResponses', undefined, protectedLoc('OrgsPrivateResponses maybe')],
  ['OrgsOrganization bad name', 'OrgsOrganization', undefined, protectedLoc('OrgsOrganization "Bad Name!"')],
  ['OrgsOrganization bad expression', 'OrgsOrganization', undefined, protectedLoc('OrgsOrganization "%{HTTP_HOST"')],
  ['OrgsOrganization org id (names only)', 'OrgsOrganization', undefined, protectedLoc('OrgsOrganization org_0123456789abcdef')],
  ['OrgsErrorURL protocol-relative', 'OrgsErrorURL', undefined, protectedLoc('OrgsErrorURL //evil.example/x')],
  ['OrgsErrorURL javascript:', 'OrgsErrorURL', undefined, protectedLoc('OrgsErrorURL javascript:alert(1)')],
  ['server directive in a location', 'OrgsStore', undefined, '<Location /x>\n    OrgsStore /tmp\n</Location>'],
  ['AuthType orgs without OrgsStore', 'OrgsStore', KEY, protectedLoc()],
  ['AuthType orgs without OrgsCryptoKey', 'OrgsCryptoKey', STORE, protectedLoc()],
  [
    'AuthType orgs in a vhost without OrgsStore',
    'OrgsStore',
    '',
    `<VirtualHost 127.0.0.1:{{PORT}}>\n    ServerName vh.test\n    ${KEY}\n    ${protectedLoc()}\n</VirtualHost>`,
  ],
];

for (const [label, directive, serverOrgs, body] of bad) {
  test(`apache2 -t rejects: ${label}`, async () => {
    const r = await h.configtest(body, serverOrgs);
    assert.notEqual(r.code, 0, `accepted:\n${h.confText}`);
    assert.doesNotMatch(r.stderr, /Cannot load/, 'the module itself did not load');
    assert.ok(r.stderr.includes(directive), `stderr does not name ${directive}:\n${r.stderr}`);
  });
}

const good = [
  ['defaults', undefined, protectedLoc()],
  [
    'every server directive',
    `${STORE}\nOrgsStoreMaxSize 1G\n${KEY}\nOrgsEndpoint /sso/orgs\nOrgsPublicURL https://apps.example.com/\n` +
      'OrgsSessionIdleTimeout 30m\nOrgsSessionMaxAge 7d\nOrgsLoginTimeout 300',
    protectedLoc(),
  ],
  [
    'every per-directory directive',
    undefined,
    protectedLoc(
      'OrgsOrganization org1\n    OrgsUnauthenticated 401\n    OrgsPassHeaders On\n    OrgsErrorURL /login-error',
    ),
  ],
  ['organization from an expression', undefined, protectedLoc('OrgsOrganization "%{HTTP_HOST}"')],
  ['absolute error URL', undefined, protectedLoc('OrgsErrorURL https://portal.example.com/error')],
  ['module loaded but unused (no Orgs directives)', '', '<Location /x>\n    Require all granted\n</Location>'],
  [
    'vhost inherits the main store',
    undefined,
    `<VirtualHost 127.0.0.1:{{PORT}}>\n    ServerName vh.test\n    ${protectedLoc('OrgsOrganization org2')}\n</VirtualHost>`,
  ],
];

for (const [label, serverOrgs, body] of good) {
  test(`apache2 -t accepts: ${label}`, async () => {
    const r = await h.configtest(body, serverOrgs);
    assert.equal(r.code, 0, `${r.stderr}\n${h.confText}`);
  });
}
