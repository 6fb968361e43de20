import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import test from 'ava';
import { loadConfig } from '../../src/config/load.ts';
import { createDemoDatabase } from '../../src/demo/demo-database.ts';
import { createSqliteDatabase } from '../../src/django/database/sqlite.ts';

// Django holds SQLite's write lock while it saves a session (every login); flowergate must wait for it, off the
// event loop, up to FLOWERGATE_STORE_TIMEOUT, instead of answering 503 to everyone else meanwhile.

const dir = mkdtempSync(join(tmpdir(), 'fg-sqlite-busy-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const secret = 'sqlite-busy-test-secret-key-with-enough-length-0123456789';
const path = join(dir, 'db.sqlite3');
const keys = createDemoDatabase(path, secret, [{ username: 'root', isSuperuser: true, isStaff: true }], 1000);
const config = loadConfig({ env: { FLOWERGATE_DJANGO_SECRET_KEY: secret } }).django;
const NOW = '2000-01-01 00:00:00.000000';

/** Takes Django's write lock (as a session save does) and releases it after `ms`. */
function holdWriteLock(ms: number): Promise<void> {
  const writer = new DatabaseSync(path);
  writer.exec('BEGIN EXCLUSIVE');
  return new Promise((resolve) =>
    setTimeout(() => {
      writer.exec('COMMIT');
      writer.close();
      resolve();
    }, ms),
  );
}

test.serial(
  'a read waits for a write lock shorter than the store timeout, without blocking the event loop',
  async (t) => {
    // The lock is released by a timer on this event loop: a read that blocked the loop would never see it go.
    const db = createSqliteDatabase({ path, config, timeoutMs: 10_000, busyTimeoutMs: 20 });
    t.teardown(() => db.close());
    const released = holdWriteLock(1000);
    // Turns of the event loop while the read waits: a blocked loop makes none; a free one thousands, even on
    // a machine too busy to run a 10 ms interval more than a few times a second.
    let turns = 0;
    let waiting = true;
    const turn = () => {
      turns++;
      if (waiting) setImmediate(turn);
    };
    setImmediate(turn);
    const started = performance.now();
    const row = await db.findSession(keys.get('root')!, NOW);
    waiting = false;
    await released;
    t.truthy(row, 'the session row was read once the lock was gone');
    t.true(performance.now() - started >= 950, 'it did wait for the lock');
    t.true(turns >= 100, `the event loop kept running while it waited (${turns} turns)`);
  },
);

test.serial('a write lock held past the store timeout is a store failure (503), not a hang', async (t) => {
  const db = createSqliteDatabase({ path, config, timeoutMs: 150, busyTimeoutMs: 20 });
  t.teardown(() => db.close());
  // Held 3 s against a store timeout of 0.15 s: the failure must come while the lock is still held.
  let lockHeld = true;
  const released = holdWriteLock(3000).then(() => {
    lockHeld = false;
  });
  const started = performance.now();
  const error = await t.throwsAsync(db.findSession(keys.get('root')!, NOW));
  const took = performance.now() - started;
  const failedWhileHeld = lockHeld;
  await released;
  t.is((error as { code?: string }).code, 'STORE_UNAVAILABLE');
  t.true(took >= 140, `gave up after ${Math.round(took)} ms, not before the store timeout`);
  t.true(failedWhileHeld, 'gave up at the store timeout, not once the lock was gone');
});
