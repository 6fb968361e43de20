// Rows 1–4: the forward-auth decision itself, against a bare node:http server sent the same request bytes
// (1), with Koa alone for reference (1b): warm (2), cold on SQLite and PostgreSQL (3a, 3b), denials (4a,
// 4b). Every flowergate row runs again inside a memory group of the chart's limit; warm also at 128 MiB.

import { join } from 'node:path';
import { freePort } from '../../test/support/processes.ts';
import { writePostgres } from '../fixtures.ts';
import { type ComparedRow, compare, skip } from '../lines.ts';
import { BASE64URL_ALPHABET, RANDOM_KEY, type RequestSource } from '../load.ts';
import { measure, preflight, type Target } from '../measure.ts';
import type { Check, Summary } from '../report.ts';
import { authRequest, data, one, sqliteUrl, superuserKey } from '../requests.ts';
import { dir, startBare, startFlowergate, startNode, stopAll, versions } from '../servers.ts';
import { limitedLabel, log, REPO, settings } from '../settings.ts';

/** The small-sidecar footprint the issue asks the warm path to fit in. */
const SMALL_LIMIT = 128 * 2 ** 20;

interface RowSpec {
  id: string;
  row: string;
  what: string;
  min: number;
  env: Record<string, string>;
  source: RequestSource;
  expect: number;
  extra?: (c: number, s: Summary) => Check[];
  /** Count the store's queries per request (rows that read it). */
  countQueries?: boolean;
  /** Also run at these memory limits (bytes), besides the chart's. */
  moreLimits?: number[];
}

export async function decisionRows(): Promise<void> {
  log('\n== rows 1–4: forward-auth decisions vs the bare node:http ceiling');
  const targets: Target[] = [];
  const ceiling = await startBare('ceiling', 'empty');
  targets.push({
    id: 'ceiling',
    origin: ceiling.origin,
    source: one(authRequest(superuserKey)),
    expect: 200,
    pid: ceiling.proc.pid,
  });
  const rows: ComparedRow[] = [];
  // Not a target: what Koa + @koa/router alone reach, so a reader can tell framework cost from flowergate's.
  const koaPort = await freePort();
  const koa = await startNode('koa', ['bench/servers/koa.ts', String(koaPort)], koaPort);
  targets.push({
    id: 'koa',
    origin: `http://127.0.0.1:${koaPort}`,
    source: one(authRequest(superuserKey)),
    expect: 200,
    pid: koa.pid,
  });
  rows.push({ id: 'koa', row: '1b', what: 'reference: Koa + @koa/router answering 200, no work', min: 0 });

  /** A flowergate row; with --compare-src, also that tree's; under the memory limits, again each. */
  const addRow = async (row: RowSpec) => {
    const variants: {
      suffix: string;
      root: string;
      env: Record<string, string>;
      limit?: number;
      nodeOptions?: string;
    }[] = [{ suffix: '', root: REPO, env: {} }];
    if (settings.compare) variants.push({ suffix: ' @compare', ...settings.compare });
    if (settings.memoryLimit !== null) {
      for (const limit of [settings.memoryLimit, ...(row.moreLimits ?? [])])
        variants.push({ suffix: ` @${limit / 2 ** 20}Mi`, root: REPO, env: {}, limit });
      if (settings.limitNodeOptions !== null) {
        const limit = settings.memoryLimit;
        variants.push({
          suffix: ` @${limit / 2 ** 20}Mi alt`,
          root: REPO,
          env: {},
          limit,
          nodeOptions: settings.limitNodeOptions,
        });
      }
    }
    for (const { suffix, root, env, limit, nodeOptions } of variants) {
      const id = `${row.id}${suffix}`;
      const slug = id.replaceAll(/[^a-z0-9]+/gi, '-');
      const queryCountFile = row.countQueries ? join(dir, `${slug}.queries`) : undefined;
      const fg = await startFlowergate(
        `flowergate-${slug}`,
        { ...row.env, ...env, ...(queryCountFile ? { BENCH_QUERY_COUNT_FILE: queryCountFile } : {}) },
        {
          root,
          ...(limit !== undefined ? { limitBytes: limit } : {}),
          ...(nodeOptions !== undefined ? { nodeOptions } : {}),
          ...(queryCountFile
            ? { nodeFlags: ['--import', join(REPO, 'bench/servers/count-queries.ts')] }
            : {}),
        },
      );
      targets.push({
        id,
        origin: fg.origin,
        source: row.source,
        expect: row.expect,
        pid: fg.proc.pid,
        ...(fg.cgroup ? { cgroup: fg.cgroup } : {}),
        ...(queryCountFile ? { queryCountFile } : {}),
      });
      const limited = limit !== undefined;
      rows.push({
        id,
        row: suffix && !limited ? `${row.row} (compare)` : row.row,
        what: limited
          ? `${row.what} — ${limitedLabel(limit, nodeOptions)}`
          : suffix
            ? `${row.what} — with ${settings.compare?.label}`
            : row.what,
        min: limited ? 0 : row.min,
        ...(row.extra && !limited ? { extra: row.extra } : {}),
        ...(limited ? { limited: { of: row.id, limitBytes: limit } } : {}),
      });
    }
  };

  if (settings.only.has('warm')) {
    await addRow({
      id: 'warm',
      row: '2',
      what: 'warm decision: one superuser session, cache hit (SQLite)',
      min: 0.55,
      env: { FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl },
      source: one(authRequest(superuserKey)),
      expect: 200,
      moreLimits: [SMALL_LIMIT],
    });
  }
  const cold = (engine: string) => ({
    FLOWERGATE_CACHE_ALLOW_TTL: '0',
    FLOWERGATE_CACHE_DENY_TTL: '0',
    FLOWERGATE_DJANGO_DATABASE_URL: engine,
  });
  const allSessions: RequestSource = { kind: 'list', requests: data.sessionKeys.map(authRequest) };
  if (settings.only.has('cold-sqlite')) {
    await addRow({
      id: 'cold-sqlite',
      row: '3a',
      what: `cold decision: ${settings.sessions} distinct sessions, cache off, SQLite`,
      min: 0.25,
      env: cold(sqliteUrl),
      source: allSessions,
      expect: 200,
      countQueries: true,
    });
  }
  if (settings.only.has('cold-postgres')) {
    const server = process.env['FLOWERGATE_BENCH_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432';
    let url: string | null = null;
    try {
      log(`loading the same users and sessions into PostgreSQL (${server}/fg_bench, Django migrate)…`);
      url = await writePostgres(server, 'fg_bench', data);
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      versions.postgres = (await client.query('SHOW server_version')).rows[0].server_version;
      await client.end();
    } catch (error) {
      skip('3b', 'cold decision (PostgreSQL)', (error as Error).message.split('\n')[0]!);
    }
    if (url) {
      await addRow({
        id: 'cold-postgres',
        row: '3b',
        what: `cold decision: ${settings.sessions} distinct sessions, cache off, PostgreSQL`,
        min: 0.2,
        env: cold(url),
        source: allSessions,
        expect: 200,
        countQueries: true,
      });
    }
  }
  if (settings.only.has('denial')) {
    // Garbage first (what the issue names), then the attacker who knows Django's key format.
    await addRow({
      id: 'denial',
      row: '4a',
      what: 'denial: a new garbage cookie every request (64 random base64url characters), SQLite',
      min: 0.5,
      env: { FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl },
      source: {
        kind: 'random-key',
        template: authRequest(RANDOM_KEY),
        alphabet: BASE64URL_ALPHABET,
        length: 64,
      },
      expect: 401,
    });
    await addRow({
      id: 'denial-keys',
      row: '4b',
      what: 'denial: a new well-formed session key every request (32 of [a-z0-9]: a store lookup each), SQLite',
      min: 0.5,
      env: { FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl },
      source: { kind: 'random-key', template: authRequest(RANDOM_KEY) },
      expect: 401,
      countQueries: true,
    });
  }
  for (const t of targets) await preflight(t);
  const results = await measure(targets, settings.connections);
  compare(
    results,
    { id: 'ceiling', row: '1', what: 'ceiling: bare node:http answering 200' },
    rows,
    settings.connections,
    'ceiling',
  );
  await stopAll();
}
