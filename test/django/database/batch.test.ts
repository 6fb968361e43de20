// Cold lookups batched per event-loop turn (src/django/database/batch.ts), against a real SQLite database with
// Django-made sessions. Each batched answer is compared with its unbatched twin: the same driver asked alone.
// PostgreSQL and MySQL run the same batches against real-Django fixtures in test/django/conformance.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import test from 'ava';
import { loadConfig } from '../../../src/config/load.ts';
import { createDemoDatabase, djangoSessionData, randomSessionKey } from '../../../src/demo/demo-database.ts';
import { type BatchLookups, batchLookups, MAX_BATCH } from '../../../src/django/database/batch.ts';
import { createSqliteDatabase } from '../../../src/django/database/sqlite.ts';
import type { DjangoDatabase } from '../../../src/django/database/store.ts';
import { formatDjangoDatetime, nowMicros } from '../../../src/django/instant.ts';
import { createSessionResolver } from '../../../src/django/resolve-session.ts';
import type { SessionVerdict } from '../../../src/django/verdict.ts';
import { startFlowergateInProcess } from '../../support/e2e.ts';

const dir = mkdtempSync(join(tmpdir(), 'fg-batch-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const secret = 'batch-test-secret-key-with-enough-length-0123456789';
const path = join(dir, 'db.sqlite3');
const users = Array.from({ length: 12 }, (_, i) => ({
  username: `user${i}`,
  isSuperuser: i % 3 === 0,
  isStaff: i % 2 === 0,
}));
const made = createDemoDatabase(
  path,
  secret,
  [...users, { username: 'retired', isSuperuser: true, isStaff: true }],
  1000,
);
/** The 12 active users' session keys. */
const keys = new Map([...made].filter(([name]) => name !== 'retired'));
const config = loadConfig({
  env: { FLOWERGATE_DJANGO_SECRET_KEY: secret, FLOWERGATE_DJANGO_DATABASE_URL: `sqlite:///${path}` },
});
const NOW = nowMicros();

// Rows a real site has that must each get their own answer, next to good neighbours in one batch.
const bad = (() => {
  const db = new DatabaseSync(path);
  const expires = formatDjangoDatetime(NOW + 3600 * 1_000_000, null);
  const insert = db.prepare(
    'INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?, ?, ?)',
  );
  const user = (name: string) =>
    db.prepare('SELECT id, password FROM auth_user WHERE username = ?').get(name) as {
      id: number;
      password: string;
    };
  const session = (data: string, expire = expires) => {
    const key = randomSessionKey();
    insert.run(key, data, expire);
    return key;
  };
  const u1 = user('user1');
  const retired = user('retired');
  // Groups, so batched group lookups have something to tell apart: user i is in ops when i is even,
  // in dev when i is a multiple of 3, in zeta when i is 0 (names sort differently from ids).
  for (const name of ['zeta', 'ops', 'dev']) db.prepare('INSERT INTO auth_group (name) VALUES (?)').run(name);
  const groupId = (name: string) =>
    (db.prepare('SELECT id FROM auth_group WHERE name = ?').get(name) as { id: number }).id;
  users.forEach((_u, i) => {
    const member = (name: string) =>
      db
        .prepare('INSERT INTO auth_user_groups (user_id, group_id) VALUES (?, ?)')
        .run(user(`user${i}`).id, groupId(name));
    if (i % 2 === 0) member('ops');
    if (i % 3 === 0) member('dev');
    if (i === 0) member('zeta');
  });
  const u4 = user('user4');
  const rows = {
    garbage: session('not a signed session at all'),
    wrongHash: session(
      djangoSessionData(secret, String(u1.id), 'pbkdf2_sha256$1$salt$changed-password', NOW),
    ),
    inactive: made.get('retired')!,
    deletedUser: session(djangoSessionData(secret, '999999', 'x', NOW)),
    expired: session(
      djangoSessionData(secret, String(u4.id), u4.password, NOW),
      formatDjangoDatetime(NOW - 1_000_000, null),
    ),
  };
  const expiry = NOW + 10_000_000;
  const expiring = { key: session('data', formatDjangoDatetime(expiry, null)), expiry };
  db.prepare('UPDATE auth_user SET is_active = 0 WHERE id = ?').run(retired.id);
  db.close();
  return { ...rows, expiring };
})();

/** The real driver, with every query it is asked for counted. */
function countedDriver() {
  const driver = createSqliteDatabase({ path, config: config.django });
  const counted = {
    findSession: 0,
    findUser: 0,
    findSessions: [] as number[],
    findUsers: [] as number[],
    findGroups: [] as number[],
  };
  /** The statement sizes the driver was asked for (distinct keys padded to a power of two). */
  const sizes: number[] = [];
  // Each list counts the distinct keys a query asked for; the padding repeats a key.
  const distinct = (batch: readonly unknown[]) => {
    sizes.push(batch.length);
    return new Set(batch).size;
  };
  const database: DjangoDatabase & BatchLookups = {
    ...driver,
    findSession: (key, now) => {
      counted.findSession++;
      return driver.findSession(key, now);
    },
    findUser: (key) => {
      counted.findUser++;
      return driver.findUser(key);
    },
    findSessions: (batch, from, to) => {
      counted.findSessions.push(distinct(batch));
      return driver.findSessions(batch, from, to);
    },
    findUsers: (batch) => {
      counted.findUsers.push(distinct(batch));
      return driver.findUsers(batch);
    },
    findGroups: (batch) => {
      counted.findGroups.push(distinct(batch));
      return driver.findGroups(batch);
    },
  };
  return { driver, database, counted, sizes };
}

/** What a verdict says, comparably. */
const summary = (verdict: SessionVerdict) =>
  verdict.kind === 'user'
    ? { kind: 'user', user: verdict.identity.username, superuser: verdict.identity.isSuperuser }
    : verdict;

test('lookups made in one turn go out as one query each for sessions, users and groups, each with its lone answer', async (t) => {
  const { driver, database, counted } = countedDriver();
  t.teardown(() => driver.close());
  const batched = createSessionResolver(config.django, batchLookups(database));
  const alone = createSessionResolver(config.django, driver);
  const cookies = [...keys.values(), ...Array.from({ length: 12 }, randomSessionKey)];

  const together = await Promise.all(cookies.map((cookie) => batched.resolve(cookie, NOW)));
  t.deepEqual(counted.findSessions, [24], 'one query for all 24 session keys');
  t.deepEqual(counted.findUsers, [12], 'one query for the 12 users the sessions name');
  t.is(counted.findSession + counted.findUser, 0, 'no single-row queries');

  const one = [];
  for (const cookie of cookies) one.push(summary(await alone.resolve(cookie, NOW)));
  t.deepEqual(together.map(summary), one);
  const groups = await Promise.all(together.map((v) => (v.kind === 'user' ? v.identity.groups() : null)));
  t.deepEqual(counted.findGroups, [12], "one query for the 12 users' groups");
  const groupsAlone = [];
  for (const cookie of cookies) {
    const verdict = await alone.resolve(cookie, NOW);
    groupsAlone.push(verdict.kind === 'user' ? await verdict.identity.groups() : null);
  }
  t.deepEqual(groups, groupsAlone, 'each user gets their own groups');
  t.true(
    groups.some((list) => list !== null && list.length > 0),
    'some users are in groups (the comparison is not vacuous)',
  );
  t.is(together.filter((v) => v.kind === 'user').length, 12, 'every real session is its user');
  t.true(
    together.slice(12).every((v) => v.kind === 'anonymous' && v.reason === 'no_session'),
    'every made-up key is no session',
  );
});

test('a lone lookup keeps the one-row query', async (t) => {
  const { driver, database, counted } = countedDriver();
  t.teardown(() => driver.close());
  const batched = createSessionResolver(config.django, batchLookups(database));
  const verdict = await batched.resolve(keys.get('user0')!, NOW);
  t.like(verdict, { kind: 'user' });
  t.deepEqual(counted, { findSession: 1, findUser: 1, findSessions: [], findUsers: [], findGroups: [] });
});

test('a burst of made-up keys is bounded: one query per 64 keys, none larger', async (t) => {
  const { driver, database, counted } = countedDriver();
  t.teardown(() => driver.close());
  const batched = createSessionResolver(config.django, batchLookups(database));
  const burst = Array.from({ length: 2 * MAX_BATCH + 10 }, randomSessionKey);
  const verdicts = await Promise.all(burst.map((cookie) => batched.resolve(cookie, NOW)));
  t.deepEqual(counted.findSessions, [MAX_BATCH, MAX_BATCH, 10]);
  t.is(counted.findSession, 0);
  t.true(verdicts.every((v) => v.kind === 'anonymous' && v.reason === 'no_session'));
});

test('batches are padded to a power of two, so a driver prepares a handful of statements, not one per size', async (t) => {
  const { driver, database, counted, sizes } = countedDriver();
  t.teardown(() => driver.close());
  const batched = createSessionResolver(config.django, batchLookups(database));
  const asked: number[] = [];
  for (const count of [2, 3, 5, 9, 17, 24, 33, 63, 64]) {
    const cookies = Array.from({ length: count }, randomSessionKey);
    cookies[0] = keys.get('user0')!; // a real session among them: its answer must survive the padding
    const verdicts = await Promise.all(cookies.map((cookie) => batched.resolve(cookie, NOW)));
    t.like(verdicts[0], { kind: 'user' }, `${count}: the real session is its user`);
    t.true(verdicts.slice(1).every((v) => v.kind === 'anonymous' && v.reason === 'no_session'));
    asked.push(count);
  }
  t.deepEqual(counted.findSessions, asked, 'every distinct key asked once');
  t.deepEqual(sizes, [2, 4, 8, 16, 32, 32, 64, 64, 64], 'session statements of 6 sizes at most');
});

test('one bad row answers only its own lookup; its neighbours in the batch are unaffected', async (t) => {
  const { driver, database, counted } = countedDriver();
  t.teardown(() => driver.close());
  const batched = createSessionResolver(config.django, batchLookups(database));
  const cookies = [
    keys.get('user0')!,
    bad.garbage,
    keys.get('user3')!,
    bad.wrongHash,
    bad.inactive,
    keys.get('user6')!,
    bad.deletedUser,
    bad.expired,
    keys.get('user9')!,
  ];
  const verdicts = await Promise.all(cookies.map((cookie) => batched.resolve(cookie, NOW)));
  t.deepEqual(counted.findSessions, [cookies.length], 'all in one session query');
  t.is(counted.findUsers.length, 1, 'the users named by decodable sessions in one user query');
  t.deepEqual(
    verdicts.map((v) => (v.kind === 'user' ? v.identity.username : v.reason)),
    [
      'user0',
      'bad_signature',
      'user3',
      'hash_mismatch',
      'inactive',
      'user6',
      'unknown_user',
      'expired',
      'user9',
    ],
  );
});

test("a row that expires between two lookups' instants in one batch is live for the earlier, expired for the later", async (t) => {
  const { driver, database, counted } = countedDriver();
  t.teardown(() => driver.close());
  const { key, expiry } = bad.expiring;
  const batched = batchLookups(database);
  const at = (micros: number) => formatDjangoDatetime(micros, null);
  const [before, exactly, after, other] = await Promise.all([
    batched.findSession(key, at(expiry - 1)),
    batched.findSession(key, at(expiry)),
    batched.findSession(key, at(expiry + 1)),
    batched.findSession(keys.get('user0')!, at(expiry + 1)),
  ]);
  t.like(before, { live: true }, 'expire_date > now one microsecond before');
  t.like(exactly, { live: false }, 'Django: expire_date > now is false at the instant itself');
  t.like(after, { live: false });
  t.like(other, { live: true });
  t.deepEqual(counted.findSessions, [2], 'one batch for both keys');
  t.is(counted.findSession, 1, 'only the lookup strictly inside the span was asked again alone');
});

test('a store that fails fails every lookup of the batch, never an answer', async (t) => {
  const missing = createSqliteDatabase({ path: join(dir, 'missing.sqlite3'), config: config.django });
  const resolver = createSessionResolver(config.django, batchLookups(missing));
  const results = await Promise.allSettled(
    [...keys.values(), randomSessionKey()].map((cookie) => resolver.resolve(cookie, NOW)),
  );
  t.is(results.length, 13);
  for (const result of results) {
    t.is(result.status, 'rejected');
    if (result.status === 'rejected') t.is((result.reason as { code?: string }).code, 'STORE_UNAVAILABLE');
  }
});

test('concurrent requests while the database is missing are each answered 503; the healthy twin answers each its own', async (t) => {
  const request = (url: string, cookie: string) =>
    fetch(`${url}/_flowergate/auth/forward`, {
      headers: {
        accept: 'application/json',
        cookie: `sessionid=${cookie}`,
        'x-forwarded-method': 'GET',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'flower.example.com',
        'x-forwarded-uri': '/',
      },
    }).then((response) => response.status);
  const start = (file: string) =>
    startFlowergateInProcess({
      site: null,
      configFile: null, // the default policy: superusers only
      t,
      env: { FLOWERGATE_DJANGO_SECRET_KEY: secret, FLOWERGATE_DJANGO_DATABASE_URL: `sqlite:///${file}` },
    });
  const cookies = [...keys.values(), ...Array.from({ length: 8 }, randomSessionKey)];

  const broken = await start(join(dir, 'not-yet-mounted.sqlite3'));
  const failing = await Promise.all(cookies.map((cookie) => request(broken.url, cookie)));
  t.deepEqual(
    failing,
    cookies.map(() => 503),
  );

  const healthy = await start(path);
  const answers = await Promise.all(cookies.map((cookie) => request(healthy.url, cookie)));
  const expected = [
    ...users.map((u) => (u.isSuperuser ? 200 : 403)),
    ...Array.from({ length: 8 }, () => 401),
  ];
  t.deepEqual(answers, expected);
});
