// Layer 000: the module loads into Debian's apache2 (event MPM), the
// configuration is accepted, httpd serves, and each child opened the store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';

import { Httpd } from './lib/httpd.mjs';
import { APACHE2, MODULE_SO } from './lib/paths.mjs';
import { run } from './lib/proc.mjs';

let h;

before(async () => {
  assert.ok(fs.existsSync(MODULE_SO), `module not built: ${MODULE_SO} (set BUILD_DIR)`);
  h = await Httpd.create({
    name: 'load',
    body: `<Location /protected>
    AuthType orgs
    OrgsUnauthenticated 401
    Require valid-user
</Location>`,
  });
});

after(async () => {
  await h?.close();
});

test('apache2 -t accepts the generated configuration', async () => {
  const r = await h.configtest();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /Syntax OK/);
});

test('the module is loaded as a shared module next to the event MPM', async () => {
  const r = await run(APACHE2, ['-M', '-f', h.confFile]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /auth_orgs_module \(shared\)/);
  assert.match(r.stdout, /mpm_event_module \(shared\)/);
});

test('httpd starts and serves a static file', async () => {
  await h.start();
  const res = await h.client().get('/index.html');
  assert.equal(res.status, 200);
  assert.match(res.body, /it works/);
});

test('the children opened the store, owned by the httpd user', async () => {
  await h.waitForLog(/ORGS00014: OrgsStore .* opened/);
  for (const f of ['data.mdb', 'lock.mdb']) {
    const st = fs.statSync(join(h.storeDir, f));
    assert.equal(st.uid, h.uid, `${f} owned by uid ${st.uid}`);
  }
  assert.doesNotMatch(h.errorLog(), /ORGS00013/);
  assert.doesNotMatch(h.errorLog(), /\[(emerg|alert|crit)\]/);
});

test('a store first created by orgctl run as root belongs to the httpd user', async () => {
  const h2 = await Httpd.create({ name: 'load-orgctl-first' });
  try {
    assert.equal(fs.readdirSync(h2.storeDir).length, 0);
    await h2.orgctlOk('org', 'create', 'first');
    for (const f of ['data.mdb', 'lock.mdb']) {
      const st = fs.statSync(join(h2.storeDir, f));
      assert.equal(st.uid, h2.uid, `${f} owned by uid ${st.uid}`);
    }
    await h2.start();
    assert.doesNotMatch(h2.errorLog(), /ORGS00011|ORGS00013/);
  } finally {
    await h2.close();
  }
});

test('httpd stops by PID and leaves no process behind', async () => {
  const pid = h.pid;
  await h.stop();
  assert.throws(() => process.kill(pid, 0));
});
