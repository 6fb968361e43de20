// Django data for the benchmark: thousands of active superusers, each logged in once, with sessions
// made exactly as Django makes them (signed, compressed session_data; 32-character keys from
// get_random_string; the `_auth_user_hash` of the user's password column), in SQLite and PostgreSQL.
//
// SQLite gets Django's schema from fixtures/django-schema.sqlite.sql (captured from a real migrate);
// PostgreSQL gets Django's own `migrate` run by the test project in test/support/django/project.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { djangoPasswordHash, djangoSessionData, randomSessionKey } from '../src/demo/demo-database.ts';
import { formatDjangoDatetime, nowMicros } from '../src/django/instant.ts';

const REPO = new URL('../', import.meta.url).pathname;
const SQLITE_SCHEMA = new URL('../fixtures/django-schema.sqlite.sql', import.meta.url);
const DJANGO_PROJECT = `${REPO}test/support/django/project`;
const GROUP = 'flower-admins';

export interface BenchUser {
  readonly id: number;
  readonly username: string;
  readonly password: string;
}

export interface BenchData {
  readonly secretKey: string;
  readonly users: readonly BenchUser[];
  /** One session key per user, in user order. */
  readonly sessionKeys: readonly string[];
  readonly sessionData: readonly string[];
  /** Microseconds; the moment of the logins. */
  readonly loginAt: number;
}

/** `count` superusers, one session each. Password hashes use few PBKDF2 rounds: only the text matters. */
export function makeBenchData(secretKey: string, count: number): BenchData {
  const loginAt = nowMicros();
  const users: BenchUser[] = [];
  const sessionKeys: string[] = [];
  const sessionData: string[] = [];
  for (let i = 1; i <= count; i++) {
    const password = djangoPasswordHash(`password-${i}-${randomSessionKey()}`, 1000);
    users.push({ id: i, username: `admin${i}`, password });
    sessionKeys.push(randomSessionKey());
    sessionData.push(djangoSessionData(secretKey, String(i), password, loginAt));
  }
  return { secretKey, users, sessionKeys, sessionData, loginAt };
}

const expiry = (data: BenchData) => data.loginAt + 1_209_600 * 1_000_000;

export function writeSqlite(path: string, data: BenchData): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(readFileSync(SQLITE_SCHEMA, 'utf8'));
    db.exec('BEGIN');
    const joined = formatDjangoDatetime(data.loginAt, null);
    const expires = formatDjangoDatetime(expiry(data), null);
    const insertUser = db.prepare(
      `INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
       VALUES (?, ?, ?, 1, ?, '', '', ?, 1, 1, ?)`,
    );
    const insertSession = db.prepare(
      'INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?, ?, ?)',
    );
    db.prepare('INSERT INTO auth_group (id, name) VALUES (1, ?)').run(GROUP);
    const insertMember = db.prepare('INSERT INTO auth_user_groups (user_id, group_id) VALUES (?, 1)');
    data.users.forEach((user, i) => {
      insertUser.run(user.id, user.password, joined, user.username, `${user.username}@example.com`, joined);
      insertMember.run(user.id);
      insertSession.run(data.sessionKeys[i]!, data.sessionData[i]!, expires);
    });
    db.exec('COMMIT');
  } finally {
    db.close();
  }
}

/** Debian's python3 with Django (5.2 from .cache/ when fetched, else the system's 3.2), or why not. */
function djangoPython(): { env: NodeJS.ProcessEnv } | string {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return 'no /usr/bin/python3 (install with: apt-get install -y python3-django)';
  const cached = `${REPO}.cache/django/5.2/usr/lib/python3/dist-packages`;
  const env = existsSync(cached) ? { ...process.env, PYTHONPATH: cached } : { ...process.env };
  const probe = spawnSync(python, ['-c', 'import django, psycopg2'], { env, encoding: 'utf8' });
  if (probe.status !== 0)
    return 'Django or psycopg2 missing (install with: apt-get install -y python3-django python3-psycopg2)';
  return { env };
}

/**
 * Recreates database `name` on the server at `serverUrl` (a postgres:// URL without a database),
 * runs Django's `migrate` on it and loads the same users and sessions. Returns the database URL, or
 * the reason it could not (PostgreSQL or Django missing).
 */
export async function writePostgres(serverUrl: string, name: string, data: BenchData): Promise<string> {
  const python = djangoPython();
  if (typeof python === 'string') throw new Error(python);
  const admin = new pg.Client({ connectionString: `${serverUrl}/postgres`, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${serverUrl} (${(error as Error).message}); install and start it with: apt-get install -y postgresql, or set FLOWERGATE_BENCH_POSTGRES`,
    );
  }
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = `${serverUrl}/${name}`;
  const migrate = spawnSync('/usr/bin/python3', ['manage.py', 'migrate', '-v0'], {
    cwd: DJANGO_PROJECT,
    env: { ...python.env, FLOWERGATE_DJANGO_SECRET_KEY: data.secretKey, FLOWERGATE_DJANGO_DATABASE_URL: url },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (migrate.status !== 0) throw new Error(`Django migrate failed:\n${migrate.stderr}`);

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    const joined = `${formatDjangoDatetime(data.loginAt, null)}+00:00`;
    const expires = `${formatDjangoDatetime(expiry(data), null)}+00:00`;
    await client.query('INSERT INTO auth_group (id, name) VALUES (1, $1)', [GROUP]);
    const BATCH = 500;
    for (let start = 0; start < data.users.length; start += BATCH) {
      const batch = data.users.slice(start, start + BATCH);
      const userValues: unknown[] = [];
      const sessionValues: unknown[] = [];
      const userRows: string[] = [];
      const sessionRows: string[] = [];
      batch.forEach((user, j) => {
        const i = start + j;
        const u = userValues.length;
        userValues.push(user.id, user.password, user.username, `${user.username}@example.com`, joined);
        userRows.push(
          `($${u + 1}, $${u + 2}, NULL, true, $${u + 3}, '', '', $${u + 4}, true, true, $${u + 5})`,
        );
        const s = sessionValues.length;
        sessionValues.push(data.sessionKeys[i], data.sessionData[i], expires);
        sessionRows.push(`($${s + 1}, $${s + 2}, $${s + 3})`);
      });
      await client.query(
        `INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES ${userRows.join(', ')}`,
        userValues,
      );
      await client.query(
        `INSERT INTO auth_user_groups (user_id, group_id) SELECT id, 1 FROM auth_user WHERE id = ANY($1::int[])`,
        [batch.map((user) => user.id)],
      );
      await client.query(
        `INSERT INTO django_session (session_key, session_data, expire_date) VALUES ${sessionRows.join(', ')}`,
        sessionValues,
      );
    }
    await client.query('COMMIT');
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
  return url;
}
