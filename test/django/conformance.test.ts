// Real-Django conformance: every case a real Django produced (test/support/django/generate.py, run by
// scripts/prepare-django-fixtures.ts for each Django series and database) must get Django's own answer
// from flowergate, through the resolver and through `flowergate check`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import test from 'ava';
import { runCheck } from '../../src/check/check-command.ts';
import { loadConfig } from '../../src/config/load.ts';
import { openDatabase } from '../../src/django/database/open-database.ts';
import { parseInstant } from '../../src/django/instant.ts';
import { createSessionResolver } from '../../src/django/resolve-session.ts';

interface DjangoAnswer {
  authenticated: boolean;
  crashed: boolean;
  userId: string | null;
  username: string;
  email?: string;
  isSuperuser: boolean;
  isStaff: boolean;
  isActive: boolean;
  groups: string[];
  perms: Record<string, boolean>;
}
interface Case {
  name: string;
  cookieHeader: string;
  at: string;
  django: DjangoAnswer;
}
interface Scenario {
  name: string;
  env: Record<string, string>;
  perms: string[];
  cases: Case[];
}
interface Fixture {
  django: string;
  series: string;
  database: string;
  scenarios: Scenario[];
}

const root = '.cache/fixtures';
const fixtures: Fixture[] = existsSync(root)
  ? readdirSync(root)
      .filter((dir) => existsSync(join(root, dir, 'cases.json')))
      .map((dir) => JSON.parse(readFileSync(join(root, dir, 'cases.json'), 'utf8')) as Fixture)
  : [];

if (fixtures.length === 0) {
  const why =
    'no real-Django fixtures in .cache/fixtures: run `npm test` (it generates them) with python3-django installed';
  if (process.env['CI'] === 'true') {
    test('real-Django fixtures exist', (t) => t.fail(why));
  } else {
    process.stderr.write(`\nSKIPPED conformance suite: ${why}\n`);
    test.skip('real-Django conformance (fixtures missing)', () => {});
  }
}

const quiet = () => new PassThrough();
// Scenarios share each database server; one at a time keeps connection counts and timings sane.
const serial = test.serial;

for (const fixture of fixtures) {
  for (const scenario of fixture.scenarios) {
    const title = `Django ${fixture.django} on ${fixture.database}, ${scenario.name}`;

    serial(`${title}: flowergate agrees with Django on all ${scenario.cases.length} cases`, async (t) => {
      const config = loadConfig({ env: { ...scenario.env, FLOWERGATE_STORE_TIMEOUT: '10' } });
      const database = await openDatabase(config);
      const resolver = createSessionResolver(config.django, database);
      t.teardown(() => database.close());
      let compared = 0;
      for (const c of scenario.cases) {
        const at = parseInstant(c.at);
        t.not(at, null, `${c.name}: bad instant ${c.at}`);
        const verdict = await resolver.resolve(resolver.sessionCookie(c.cookieHeader), at!);
        const ours = verdict.kind === 'user' ? verdict.identity : null;
        const expected = c.django;
        const label = `${c.name} (${verdict.kind === 'anonymous' ? verdict.reason : 'user'})`;
        t.is(ours !== null, expected.authenticated, `${label}: authenticated`);
        if (ours && expected.authenticated) {
          t.is(ours.userId as string | null, expected.userId, `${label}: userId`);
          t.is(ours.username, expected.username, `${label}: username`);
          t.is(ours.isSuperuser, expected.isSuperuser, `${label}: isSuperuser`);
          t.is(ours.isStaff, expected.isStaff, `${label}: isStaff`);
          t.is(ours.isActive, expected.isActive, `${label}: isActive`);
          t.deepEqual([...(await ours.groups())].sort(), [...expected.groups].sort(), `${label}: groups`);
          for (const perm of scenario.perms) {
            t.is(await ours.hasPerm(perm), expected.perms[perm] === true, `${label}: has_perm(${perm})`);
          }
        }
        compared++;
      }
      t.is(compared, scenario.cases.length);
    });

    serial(`${title}: flowergate check gives Django's verdict for every cookie`, async (t) => {
      const byInstant = new Map<string, Case[]>();
      for (const c of scenario.cases) byInstant.set(c.at, [...(byInstant.get(c.at) ?? []), c]);
      for (const [at, cases] of byInstant) {
        const stdin = new PassThrough();
        const stdout = new PassThrough();
        let output = '';
        stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
        });
        stdin.end(cases.map((c) => `${c.cookieHeader}\n`).join(''));
        const code = await runCheck(
          { at, cookieHeaders: [] },
          { env: scenario.env, stdin, stdout, stderr: quiet() },
        );
        const lines = output
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        t.is(lines.length, cases.length, `one line per cookie at ${at}`);
        cases.forEach((c, i) => {
          const line = lines[i]!;
          const allowed = c.django.authenticated && c.django.isActive && c.django.isSuperuser;
          t.is(line['authenticated'], c.django.authenticated, `${c.name}: authenticated`);
          t.is(line['userId'], c.django.authenticated ? c.django.userId : null, `${c.name}: userId`);
          t.is(line['allowed'], allowed, `${c.name}: allowed (${String(line['reason'])})`);
        });
        t.is(
          code,
          cases.every((c) => c.django.authenticated && c.django.isActive && c.django.isSuperuser) ? 0 : 1,
        );
      }
    });
  }
  const first = fixture.scenarios[0];
  const sample = first?.cases.find(
    (c) => c.django.authenticated && c.django.isSuperuser && c.django.isActive,
  );
  if (first && sample) {
    serial(
      `Django ${fixture.django} on ${fixture.database}: the flowergate check command allows a superuser's cookie`,
      (t) => {
        const run = spawnSync(
          process.execPath,
          ['src/cli.ts', 'check', '--at', sample.at, '--cookie-header', sample.cookieHeader],
          {
            env: { ...process.env, ...first.env },
            encoding: 'utf8',
          },
        );
        t.is(run.status, 0, run.stderr);
        const line = JSON.parse(run.stdout.trim()) as Record<string, unknown>;
        t.is(line['allowed'], true);
        t.is(line['userId'], sample.django.userId);
      },
    );
  }
}
