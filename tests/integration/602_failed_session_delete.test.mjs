// Layer 602: a sign-out whose delete really fails, and the session refused
// anyway by every child. The failure is a real one: a store filled to its
// soft limit while a stuck reader (an `orgctl export` into a pipe nobody
// reads) pins an old snapshot, so every write transaction needs new pages
// and the reserve kept for deletes runs out: the map is full even for
// deletes. The sign-out then logs ORGS00244, and the note in memory the
// children share makes every child refuse the session (ORGS00101), those
// that did not serve the sign-out and those started by a graceful restart
// after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';

import { ORGCTL } from './lib/paths.mjs';
import { sleep } from './lib/proc.mjs';
import { HTML, fillStore, login, rogueAcme } from './lib/storefill.mjs';


const rogue = rogueAcme();

// The access log written with the serving child's pid: [{ pid, status, path }].
function served(h) {
  let text = '';
  try {
    text = fs.readFileSync(join(h.logs, 'pid_log'), 'utf8');
  } catch {
    return [];
  }
  return text.trim().split('\n').filter(Boolean).map((l) => {
    const [pid, status, path] = l.split(' ');
    return { pid: Number(pid), status: Number(status), path };
  });
}

// httpd writes a request's access-log line after its answer is sent: waits
// (at most 5 s) until the log holds `n` lines after the first `from`.
async function servedAfter(h, from, n) {
  const deadline = Date.now() + 5000;
  while (served(h).length < from + n && Date.now() < deadline) await sleep(50);
  return served(h).slice(from);
}

// n concurrent requests for /app/ with the cookies of a signed-in browser,
// kept before its sign-out (a copied cookie): the answers.
async function replay(h, cookies, n) {
  const reqs = [];
  for (let i = 0; i < n; i++) {
    const c = h.client({ headers: HTML });
    c.jar.cookies = cookies.map((k) => ({ ...k }));
    reqs.push(c.get('/app/'));
  }
  return Promise.all(reqs);
}

test('a sign-out whose delete fails (map full even for deletes): every child refuses the session', async () => {
  const h = await rogue.start({ name: 'delfail', serverOrgs: 'OrgsStoreMaxSize 8M\nCustomLog {{LOGS}}/pid_log "%P %>s %U"' });
  let stuck;
  try {
    const staying = await login(h, 'staying@delfail.example');
    const browsers = [];
    for (let i = 0; i < 16; i++) browsers.push(await login(h, `b${i}@delfail.example`));
    // the sessions are valid in every child that answers
    for (const res of await replay(h, browsers[0].jar.cookies, 16)) assert.equal(res.status, 200);

    const names = await fillStore(h);
    assert.ok(names.length > 100, `only ${names.length} orgs fit`);

    // a reader stuck inside its transaction: an export into a pipe that
    // nobody reads
    stuck = spawn('sh', ['-c', `"$0" -s "$1" --key-file "$2" export | sleep 600`, ORGCTL, h.storeDir, h.keyFile],
      { detached: true, stdio: 'ignore' });
    await sleep(1500);

    // deletes eat the reserve: each needs new pages the stuck reader's
    // snapshot keeps from being reused, until the map is full for them too
    let deleted = 0;
    let refusal = null;
    for (const name of names) {
      const r = await h.orgctl('org', 'delete', name, '--yes');
      if (r.code !== 0) {
        refusal = r;
        break;
      }
      deleted++;
    }
    assert.ok(refusal, `all ${deleted} deletes went through: the reader did not pin the map`);
    assert.equal(refusal.code, 5, refusal.stderr);
    assert.match(refusal.stderr, /full/);

    // sign-outs, until one's delete fails: logged, the cookie goes anyway
    let sid = null;
    let log = '';
    let signedOut = 0;
    for (const b of browsers) {
      const cookies = b.jar.cookies.map((k) => ({ ...k }));
      const mark = h.logMark();
      const out = await b.get('/orgs/logout?organization=acme');
      assert.equal(out.status, 302);
      log = h.errorLog(mark);
      if (/ORGS00244/.test(log)) {
        sid = cookies;
        break;
      }
      signedOut++;
    }
    assert.ok(sid, `all ${signedOut} sign-outs deleted their session`);
    assert.match(log, /ORGS00244: cannot end the session of org acme: .*full/);
    // every sign-out's line is logged before the replays are counted
    const deadline = Date.now() + 5000;
    const logouts = () => served(h).filter((s) => s.path === '/orgs/logout');
    while (logouts().length < signedOut + 1 && Date.now() < deadline) await sleep(50);
    const signOut = logouts().at(-1);

    // the session is still in the store, refused by every child all the same
    let mark = h.logMark();
    const before = served(h).length;
    for (const res of await replay(h, sid, 24)) {
      assert.equal(res.status, 302, res.body.slice(0, 200));
      assert.match(res.location, /\/orgs\/login\?/);
    }
    const replays = await servedAfter(h, before, 24);
    assert.equal(replays.length, 24);
    assert.ok(replays.every((s) => s.status === 302), JSON.stringify(replays));
    assert.match(h.errorLog(mark), /ORGS00101: session for org acme no longer valid/);
    const pidsBefore = new Set(replays.map((s) => s.pid));

    // children started after the sign-out (a graceful restart) refuse it too
    mark = h.logMark();
    await h.graceful({ waitMs: 0 });
    await h.waitForLog(/AH00489/, { from: mark, timeoutMs: 15000 });
    await sleep(500);
    const fromNew = served(h).length;
    for (const res of await replay(h, sid, 16)) assert.equal(res.status, 302);
    const fresh = await servedAfter(h, fromNew, 16);
    const pids = new Set(fresh.map((s) => s.pid));
    assert.ok(fresh.every((s) => s.pid !== signOut.pid && s.status === 302), JSON.stringify(fresh));
    console.log(`# ${deleted} org deletes and ${signedOut} sign-outs before the map was full; ` +
      `the failed sign-out in child ${signOut.pid}, ` +
      `refused by children ${[...pidsBefore].join(',')} then, after a graceful restart, by ${[...pids].join(',')}`);
    // the other session was never signed out
    assert.equal((await staying.get('/app/')).status, 200);
    assert.doesNotMatch(h.errorLog(), /\[(emerg|alert|crit)\]|AH00052/);
  } finally {
    if (stuck?.pid) {
      try {
        process.kill(-stuck.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await h.close();
  }
});
