import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadConfig } from '../../src/config/load.ts';
import { createDemoDatabase } from '../../src/demo/demo-database.ts';
import { createSqliteDatabase } from '../../src/django/database/sqlite.ts';

// flowergate keeps one read-only connection and batches each event-loop turn's queries into one read
// transaction. These tests hold it to what Django's own per-request connections would see: a file
// moved over the database (a restore) is read at once, a removed one is a store failure, and Django's
// writes are never locked out by our reads.

const dir = mkdtempSync(join(tmpdir(), 'fg-sqlite-file-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const secret = 'sqlite-file-test-secret-key-with-enough-length-0123456789';
const config = loadConfig({ env: { FLOWERGATE_DJANGO_SECRET_KEY: secret } }).django;
const NOW = '2000-01-01 00:00:00.000000';
const users = [{ username: 'root', isSuperuser: true, isStaff: true }];
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test.serial('a database file moved over the path is read from the next turn on', async (t) => {
  const path = join(dir, 'swap.sqlite3');
  const before = createDemoDatabase(path, secret, users, 1000).get('root')!;
  const db = createSqliteDatabase({ path, config });
  t.teardown(() => db.close());
  t.truthy(await db.findSession(before, NOW));

  const replacement = join(dir, 'restored.sqlite3');
  const after = createDemoDatabase(replacement, secret, users, 1000).get('root')!;
  renameSync(replacement, path);
  await nextTurn();
  t.truthy(await db.findSession(after, NOW), 'the restored file is the one read');
  t.is(await db.findSession(before, NOW), null, 'the old file is not read any more');
});

test.serial('a removed database file is a store failure, and heals when the file is back', async (t) => {
  const path = join(dir, 'removed.sqlite3');
  const key = createDemoDatabase(path, secret, users, 1000).get('root')!;
  const db = createSqliteDatabase({ path, config, timeoutMs: 100 });
  t.teardown(() => db.close());
  t.truthy(await db.findSession(key, NOW));
  renameSync(path, `${path}.away`);
  await nextTurn();
  const error = await t.throwsAsync(db.findSession(key, NOW));
  t.is((error as { code?: string }).code, 'STORE_UNAVAILABLE');
  await t.throwsAsync(db.ping());
  renameSync(`${path}.away`, path);
  await nextTurn();
  t.truthy(await db.findSession(key, NOW));
});

test.serial('Django can write (real sqlite3 from Python) while flowergate reads in every turn', async (t) => {
  const path = join(dir, 'busy.sqlite3');
  const key = createDemoDatabase(path, secret, users, 1000).get('root')!;
  // A busy machine may pause the writer mid-commit for seconds; the reader's retry budget is not under test.
  const db = createSqliteDatabase({ path, config, timeoutMs: 30_000 });
  t.teardown(() => db.close());
  let reads = 0;
  let stop = false;
  const reader = (async () => {
    while (!stop) {
      if (!(await db.findSession(key, NOW))) throw new Error('the session disappeared');
      reads++;
      await nextTurn();
    }
  })();
  // 200 commits, each as Django makes a session save: a transaction on its own connection, with
  // Django's default 5 s timeout; a reader that starved it would make it raise "database is locked".
  const python = [
    'import sqlite3, sys',
    'c = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)',
    'for i in range(200):',
    '    c.execute("BEGIN")',
    '    c.execute("UPDATE auth_user SET last_login = ? WHERE username = ?", ("2000-01-01 00:00:%02d" % (i % 60), "root"))',
    '    c.execute("COMMIT")',
    'print("committed", 200)',
  ].join('\n');
  const writer = spawn('python3', ['-c', python, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  writer.stdout.on('data', (chunk: Buffer) => (output += chunk));
  writer.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => writer.on('close', resolve));
  stop = true;
  await reader;
  t.is(code, 0, output);
  t.regex(output, /committed 200/);
  t.true(reads > 0, `flowergate read ${reads} times meanwhile`);
});
