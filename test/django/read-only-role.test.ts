import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ExecutionContext } from 'ava';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { runCheck } from '../../src/check/check-command.ts';
import { readmeRecipe } from '../support/hygiene-recipes.ts';
import { toolTest } from '../support/require-tool.ts';

// The README's read-only database role, run as written on the real PostgreSQL and MariaDB of this machine,
// against the databases real Django made for the conformance tests (.cache/fixtures, scripts/prepare-django-
// fixtures.ts): as that role, `flowergate check` must give Django's own verdict, groups and permissions for
// every session; and the role must not read another column or table, nor write.

interface Case {
  cookieHeader: string;
  at: string;
  django: {
    authenticated: boolean;
    userId: string | null;
    isActive: boolean;
    isSuperuser: boolean;
    groups: string[];
    perms: Record<string, boolean>;
  };
}
interface Scenario {
  name: string;
  env: Record<string, string>;
  cases: Case[];
}

/** The `db/default` scenario of the newest Django series generated for this database, if any. */
function fixture(database: 'postgres' | 'mysql'): Scenario | undefined {
  for (const series of ['5.2', '4.2', '3.2']) {
    const file = join('.cache/fixtures', `${series}-${database}`, 'cases.json');
    if (!existsSync(file)) continue;
    const { scenarios } = JSON.parse(readFileSync(file, 'utf8')) as { scenarios: Scenario[] };
    return scenarios.find((s) => s.name === 'db/default');
  }
  return undefined;
}

/** The recipe with this test's role, password and database. */
const recipe = (name: string, role: string, password: string, database: string) =>
  readmeRecipe(name)
    .replace(/\bflowergate\b/g, role)
    .replaceAll('CHANGE-ME', password)
    .replace(/\bmysite\b/g, database);

/** Every case as the role sees it, under three requirements: Django's answer decides each. */
async function agreesWithDjango(t: ExecutionContext, scenario: Scenario, databaseUrl: string) {
  const requirements: Array<[string, (d: Case['django']) => boolean]> = [
    ['superuser', (d) => d.isSuperuser],
    ['group:flower-viewers', (d) => d.groups.includes('flower-viewers')],
    ['perm:flowerperms.can_act', (d) => d.perms['flowerperms.can_act'] === true],
  ];
  const byInstant = new Map<string, Case[]>();
  for (const c of scenario.cases) byInstant.set(c.at, [...(byInstant.get(c.at) ?? []), c]);
  let judged = 0;
  for (const [requirement, meets] of requirements) {
    for (const [at, cases] of byInstant) {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (chunk) => (out += chunk));
      stderr.on('data', (chunk) => (err += chunk));
      const env = {
        ...scenario.env,
        FLOWERGATE_DJANGO_DATABASE_URL: databaseUrl,
        FLOWERGATE_POLICY_DEFAULT: requirement,
      };
      await runCheck(
        { at, cookieHeaders: cases.map((c) => c.cookieHeader) },
        { env, stdin: new PassThrough(), stdout, stderr },
      );
      t.is(err, '', 'no query was refused to the role');
      const lines = out
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      cases.forEach((c, i) => {
        const d = c.django;
        t.is(lines[i]?.authenticated, d.authenticated, `authenticated at ${at}`);
        t.is(lines[i]?.allowed, d.authenticated && d.isActive && meets(d), `${requirement} at ${at}`);
        judged++;
      });
    }
  }
  t.true(judged > 100, `${judged} verdicts compared`);
}

/** Runs when real Django made a database of this kind here; skips loudly otherwise, and fails under CI=true. */
const withFixture = (database: 'postgres' | 'mysql') =>
  toolTest({
    name: `a real-Django ${database} database`,
    check: () => {
      if (!fixture(database))
        throw new Error(
          `no ${database} fixture in .cache/fixtures: npm test generates it (scripts/prepare-django-fixtures.ts)`,
        );
    },
  });

const postgres = fixture('postgres');
const pgTest = await withFixture('postgres');

pgTest('PostgreSQL: the README role reads what flowergate needs and nothing else', async (t) => {
  const scenario = postgres!;
  const admin = new URL(scenario.env.FLOWERGATE_DJANGO_DATABASE_URL!);
  const database = admin.pathname.slice(1);
  const role = `fg_ro_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const owner = new pg.Client({ connectionString: admin.href });
  await owner.connect();
  t.teardown(async () => {
    await owner.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
    await owner.end();
  });
  await owner.query(recipe('postgres-role', role, password, database));

  const url = new URL(admin.href);
  url.username = role;
  url.password = password;
  await agreesWithDjango(t, scenario, url.href);

  const asRole = new pg.Client({ connectionString: url.href });
  await asRole.connect();
  t.teardown(() => asRole.end());
  for (const sql of [
    'SELECT first_name FROM auth_user',
    'SELECT * FROM auth_user',
    'SELECT 1 FROM django_migrations',
    "UPDATE django_session SET expire_date = expire_date WHERE session_key = 'x'",
    "DELETE FROM django_session WHERE session_key = 'x'",
    'UPDATE auth_user SET is_superuser = true WHERE id = 0',
  ])
    await t.throwsAsync(asRole.query(sql), { message: /permission denied/ }, sql);
  // The honest twin: the granted columns answer the same connection.
  t.true((await asRole.query('SELECT id, is_superuser FROM auth_user')).rows.length > 0);
});

const mariadb = fixture('mysql');
const myTest = await withFixture('mysql');

myTest('MariaDB: the README user reads what flowergate needs and nothing else', async (t) => {
  const scenario = mariadb!;
  const admin = new URL(scenario.env.FLOWERGATE_DJANGO_DATABASE_URL!);
  const database = admin.pathname.slice(1);
  const user = `fg_ro_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const root = await mysql.createConnection({ uri: admin.href, multipleStatements: true });
  t.teardown(async () => {
    await root.query(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => undefined);
    await root.end();
  });
  await root.query(recipe('mysql-role', user, password, database));

  const url = new URL(admin.href);
  url.username = user;
  url.password = password;
  await agreesWithDjango(t, scenario, url.href);

  const asUser = await mysql.createConnection({ uri: url.href });
  t.teardown(() => asUser.end());
  for (const sql of [
    'SELECT first_name FROM auth_user',
    'SELECT * FROM auth_user',
    'SELECT 1 FROM django_migrations',
    "UPDATE django_session SET expire_date = expire_date WHERE session_key = 'x'",
    "DELETE FROM django_session WHERE session_key = 'x'",
    'UPDATE auth_user SET is_superuser = 1 WHERE id = 0',
  ])
    await t.throwsAsync(asUser.query(sql), { message: /denied/ }, sql);
  t.true(((await asUser.query('SELECT id, is_superuser FROM auth_user'))[0] as unknown[]).length > 0);
});
