// Layer 800: the audit log's directives. A bad value stops `apache2 -t`
// naming the directive; good values (and "off" / 0) are accepted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { DEFAULT_SERVER_ORGS, Httpd } from './lib/httpd.mjs';

let h;

before(async () => {
  h = await Httpd.create({ name: 'audit-config' });
});

after(async () => {
  await h?.close();
});

const bad = [
  ['OrgsAuditMaxAge', 'OrgsAuditMaxAge 5x'],
  ['OrgsAuditMaxAge', 'OrgsAuditMaxAge -1d'],
  ['OrgsAuditMaxPerOrg', 'OrgsAuditMaxPerOrg -1'],
  ['OrgsAuditMaxPerOrg', 'OrgsAuditMaxPerOrg lots'],
];

for (const [directive, line] of bad) {
  test(`apache2 -t rejects: ${line}`, async () => {
    const r = await h.configtest('', `${DEFAULT_SERVER_ORGS}\n${line}`);
    assert.notEqual(r.code, 0, `accepted:\n${h.confText}`);
    assert.doesNotMatch(r.stderr, /Cannot load/);
    assert.ok(r.stderr.includes(directive), `stderr does not name ${directive}:\n${r.stderr}`);
  });
}

for (const line of ['OrgsAuditMaxAge 90d\nOrgsAuditMaxPerOrg 50000', 'OrgsAuditMaxAge off\nOrgsAuditMaxPerOrg 0']) {
  test(`apache2 -t accepts: ${line.replace('\n', ', ')}`, async () => {
    const r = await h.configtest('', `${DEFAULT_SERVER_ORGS}\n${line}`);
    assert.equal(r.code, 0, r.stderr);
  });
}
