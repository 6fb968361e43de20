// The composition root's start-up: what it warns about once, before serving anything.
import { Writable } from 'node:stream';
import test from 'ava';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { createDemoDatabase } from '../src/demo/demo-database.ts';
import { openDatabase } from '../src/django/database/open-database.ts';
import { createLogger } from '../src/log/logger.ts';
import { makeTempDir, removeDir } from './support/processes.ts';

const SECRET = 'app-start-up-test-secret-not-a-real-one';

async function start(t: import('ava').ExecutionContext, env: Record<string, string>) {
  const dir = makeTempDir('app');
  t.teardown(() => removeDir(dir));
  const db = `${dir}/db.sqlite3`;
  createDemoDatabase(db, SECRET, [{ username: 'root', isSuperuser: true, isStaff: true }], 1000);
  const config = loadConfig({
    env: { FLOWERGATE_DJANGO_SECRET_KEY: SECRET, FLOWERGATE_DJANGO_DATABASE_URL: `sqlite:///${db}`, ...env },
  });
  const lines: Array<{ level: string; msg: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const app = createApp({ config, logger, database: await openDatabase(config) });
  t.teardown(() => app.close());
  return lines;
}

test('without FLOWERGATE_ALLOWED_HOSTS, start-up warns once and says what to set', async (t) => {
  const lines = await start(t, {});
  const warnings = lines.filter((l) => l.level === 'warn' && l.msg.includes('FLOWERGATE_ALLOWED_HOSTS'));
  t.is(warnings.length, 1);
  t.regex(warnings[0]!.msg, /Set it to Flower's public host names/);
});

test('with FLOWERGATE_ALLOWED_HOSTS set, there is nothing to warn about', async (t) => {
  const lines = await start(t, { FLOWERGATE_ALLOWED_HOSTS: 'flower.example.com' });
  t.false(lines.some((l) => l.msg?.includes('FLOWERGATE_ALLOWED_HOSTS')));
});
