// Batched look-ups on a real MySQL/MariaDB database made by Django (the conformance fixtures), where the
// session table's collation is case-insensitive: Django's own `session_key = %s` then finds a row for the
// upper-cased key too. A batch must give every key the row the database matches it with, exactly as a lone
// query does, even when one row answers two keys of the same batch.
import { existsSync, readFileSync } from 'node:fs';
import test from 'ava';
import { loadConfig } from '../../../src/config/load.ts';
import { batchLookups } from '../../../src/django/database/batch.ts';
import { openDriver } from '../../../src/django/database/open-database.ts';
import { parseInstant } from '../../../src/django/instant.ts';
import { createSessionResolver } from '../../../src/django/resolve-session.ts';
import type { SessionVerdict } from '../../../src/django/verdict.ts';

interface Fixture {
  scenarios: {
    name: string;
    env: Record<string, string>;
    cases: { name: string; cookieHeader: string; at: string; django: { authenticated: boolean } }[];
  }[];
}

const file = '.cache/fixtures/5.2-mysql/cases.json';
const fixture = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Fixture) : null;
const scenario = fixture?.scenarios.find((s) => s.name === 'db/default');

if (!scenario) {
  const why = `no real-Django MySQL fixture in ${file}: run \`npm test\` (it generates them) with MariaDB and python3-django`;
  if (process.env['CI'] === 'true') test('real-Django MySQL fixture exists', (t) => t.fail(why));
  else {
    process.stderr.write(`\nSKIPPED batched MySQL look-ups: ${why}\n`);
    test.skip('batched look-ups on MySQL (fixture missing)', () => {});
  }
} else {
  test("an upper-cased session key in the same batch as the real one gets MySQL's answer, as alone", async (t) => {
    const config = loadConfig({ env: { ...scenario.env, FLOWERGATE_STORE_TIMEOUT: '10' } });
    const driver = await openDriver(config);
    t.teardown(() => driver.close());
    let batches = 0;
    const batched = createSessionResolver(
      config.django,
      batchLookups({
        ...driver,
        findSessions: (keys, from, to) => {
          batches++;
          return driver.findSessions(keys, from, to);
        },
      }),
    );
    const alone = createSessionResolver(config.django, driver);
    const real = scenario.cases.find((c) => c.django.authenticated)!;
    const key = batched.sessionCookie(real.cookieHeader)!;
    const at = parseInstant(real.at)!;
    const cookies = [key, key.toUpperCase(), 'x'.repeat(32), `${key.slice(0, -1)}!`];

    const together = await Promise.all(cookies.map((cookie) => batched.resolve(cookie, at)));
    t.is(batches, 1, 'one batched session query');
    const one: SessionVerdict[] = [];
    for (const cookie of cookies) one.push(await alone.resolve(cookie, at));
    const who = (v: SessionVerdict) => (v.kind === 'user' ? `user ${v.identity.userId}` : v.reason);
    t.deepEqual(together.map(who), one.map(who), 'each key as it is answered alone');
    t.is(who(together[0]!), who(together[1]!), 'the collation matches the upper-cased key to the same row');
    t.like(together[0], { kind: 'user' });
    t.like(together[2], { kind: 'anonymous', reason: 'no_session' });
  });
}
