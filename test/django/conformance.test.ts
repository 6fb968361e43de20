// Real-Django conformance: every case a real Django produced (test/support/django/generate.py, run by
// scripts/prepare-django-fixtures.ts for each Django series and database) must get Django's own answer
// from flowergate, through the resolver and through `flowergate check`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { runCheck } from '../../src/check/check-command.ts';
import { loadConfig } from '../../src/config/load.ts';
import { batchLookups, MAX_BATCH } from '../../src/django/database/batch.ts';
import { openDatabase, openDriver } from '../../src/django/database/open-database.ts';
import { parseInstant } from '../../src/django/instant.ts';
import { createSessionResolver } from '../../src/django/resolve-session.ts';
import type { SessionVerdict } from '../../src/django/verdict.ts';

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

/** Our verdict for one case against Django's recorded answer. */
async function agree(
  t: ExecutionContext,
  scenario: Scenario,
  c: Case,
  verdict: SessionVerdict,
): Promise<void> {
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
}

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
        await agree(t, scenario, c, await resolver.resolve(resolver.sessionCookie(c.cookieHeader), at!));
        compared++;
      }
      t.is(compared, scenario.cases.length);
    });

    if (scenario.env['FLOWERGATE_DJANGO_SESSION_ENGINE']?.endsWith('db')) {
      serial(
        `${title}: all ${scenario.cases.length} cases at once share batched queries and still agree with Django`,
        async (t) => {
          const config = loadConfig({ env: { ...scenario.env, FLOWERGATE_STORE_TIMEOUT: '10' } });
          const driver = await openDriver(config);
          t.teardown(() => driver.close());
          const counted = { sessions: 0, users: 0, sessionBatches: 0, userBatches: 0, groupBatches: 0 };
          const tally =
            <A extends unknown[], R>(name: keyof typeof counted, fn: (...args: A) => R) =>
            (...args: A): R => {
              counted[name]++;
              return fn(...args);
            };
          const resolver = createSessionResolver(
            config.django,
            batchLookups({
              ...driver,
              findSession: tally('sessions', driver.findSession),
              findUser: tally('users', driver.findUser),
              findSessions: tally('sessionBatches', driver.findSessions),
              findUsers: tally('userBatches', driver.findUsers),
              findGroups: tally('groupBatches', driver.findGroups),
            }),
          );
          // Every case's own instant, all in one turn: the batches span instants days apart, so rows that
          // expire inside a batch's span are asked again alone at their case's instant.
          const verdicts = await Promise.all(
            scenario.cases.map((c) =>
              resolver.resolve(resolver.sessionCookie(c.cookieHeader), parseInstant(c.at)!),
            ),
          );
          // Every user's groups at once too (the identity keeps the answer for agree() below).
          await Promise.all(verdicts.map((v) => (v.kind === 'user' ? v.identity.groups() : null)));
          for (const [i, c] of scenario.cases.entries()) await agree(t, scenario, c, verdicts[i]!);
          t.log(`all at once: ${JSON.stringify(counted)}`);
          t.true(counted.sessionBatches >= 1, 'session lookups went out batched');

          // The cases of one instant at once: at most one session query per 64 of them, none alone.
          const byInstant = Map.groupBy(scenario.cases, (c) => c.at);
          for (const name of Object.keys(counted) as (keyof typeof counted)[]) counted[name] = 0;
          let bound = 0;
          for (const [at, cases] of byInstant) {
            const answers = await Promise.all(
              cases.map((c) => resolver.resolve(resolver.sessionCookie(c.cookieHeader), parseInstant(at)!)),
            );
            for (const [i, c] of cases.entries()) await agree(t, scenario, c, answers[i]!);
            bound += Math.ceil(cases.length / MAX_BATCH);
          }
          t.log(`by instant (${byInstant.size} instants): ${JSON.stringify(counted)}`);
          t.true(
            counted.sessions + counted.sessionBatches <= bound,
            `${counted.sessions + counted.sessionBatches} session queries for ${byInstant.size} instants`,
          );
        },
      );
    }

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
