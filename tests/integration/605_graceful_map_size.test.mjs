// Layer 605: a graceful restart to a larger OrgsStoreMaxSize while a child
// of the previous generation still serves a long request. The new
// generation records the larger size, but that child keeps its smaller map
// until its request ends: orgctl --max-size beyond it is refused, one line
// naming the old children, while it runs, and accepted once it is gone;
// the next restart removes the old generation's record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';

import { DEFAULT_SERVER_ORGS, Httpd } from './lib/httpd.mjs';
import { sleep } from './lib/proc.mjs';

const SLOW_S = 30;
const body = 'ScriptAliasMatch "^/slow$" "{{HTDOCS}}/cgi/slow.cgi"';
const sized = (size) => `${DEFAULT_SERVER_ORGS}\nOrgsStoreMaxSize ${size}`;

async function graceful(h, serverOrgs) {
  const mark = h.logMark();
  h.writeConf(body, serverOrgs);
  await h.graceful({ waitMs: 0 });
  await h.waitForLog(/AH00489/, { from: mark, timeoutMs: 15000 });
}

test('orgctl may not grow the store past the map of a child from before a graceful restart until it is gone', async () => {
  const h = await Httpd.create({ name: 'graceful-map', body, serverOrgs: sized('8M') });
  try {
    // headers at once, then a line every 5 s (within httpd's Timeout 20)
    h.cgi('cgi/slow.cgi', `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
i=0
while [ $i -lt ${SLOW_S / 5} ]; do sleep 5; printf '.\\n'; i=$((i + 1)); done
printf 'done\\n'
`);
    await h.orgctlOk('org', 'create', 'acme');
    await h.start();
    await h.waitForLog(/AH00489/, { timeoutMs: 15000 });
    const record = join(h.storeDir, 'httpd-map-size');
    const started = Date.now();
    const slow = fetch(`${h.baseURL}/slow`).then(async (r) => ({ status: r.status, text: await r.text() }));
    await sleep(1000); // the request is in a child of the first generation

    await graceful(h, sized('32M'));
    assert.match(fs.readFileSync(record, 'utf8'), new RegExp(`^0*${32 << 20} `));
    const refused = await h.orgctl('--max-size', '32M', 'org', 'create', 'grown');
    assert.ok(Date.now() - started < SLOW_S * 1000, 'the long request ended before orgctl ran: raise SLOW_S');
    assert.equal(refused.code, 5, refused.stderr);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.match(refused.stderr, /--max-size 32M is more than children of httpd \(pid \d+\) started before its last restart still map, OrgsStoreMaxSize 8M: rerun once they have finished their requests/);
    assert.equal((await h.orgctl('org', 'show', 'grown')).code, 3, 'nothing written');
    const asides = () => fs.readdirSync(h.storeDir).filter((f) => f.startsWith('httpd-map-size.'));
    const setAside = asides();
    assert.equal(setAside.length, 1, 'the first generation\'s record is set aside');

    // the request ends and its child exits: the new generation's size binds
    const r = await slow;
    assert.equal(r.status, 200);
    assert.match(r.text, /done\n$/);
    let grown;
    for (const deadline = Date.now() + 20000; Date.now() < deadline; await sleep(250)) {
      grown = await h.orgctl('--max-size', '32M', 'org', 'create', 'grown');
      if (grown.code === 0) break;
    }
    assert.equal(grown.code, 0, grown.stderr);
    const beyond = await h.orgctl('--max-size', '64M', 'org', 'create', 'huge');
    assert.equal(beyond.code, 5);
    assert.match(beyond.stderr, /more than running httpd \(pid \d+\) maps, OrgsStoreMaxSize 32M: raise OrgsStoreMaxSize/);

    // the next restart removes the record nobody holds any more (the second
    // generation's own may be set aside in turn while its children exit)
    await graceful(h, sized('32M'));
    assert.ok(!asides().includes(setAside[0]), `${setAside[0]} was not removed`);
    assert.doesNotMatch(h.errorLog(), /ORGS00603|\[(emerg|alert|crit)\]/);
  } finally {
    await h.close();
  }
});
