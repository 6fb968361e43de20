// Preloaded into flowergate by the bench (`node --import ./bench/servers/count-queries.ts`) for the rows
// that read the store: counts the SELECTs flowergate sends to SQLite (node:sqlite) and PostgreSQL (pg)
// and writes the running total to $BENCH_QUERY_COUNT_FILE every 100 ms, so the bench can report queries
// per decision without touching flowergate's code. BEGIN/COMMIT of SQLite's per-turn read transaction
// are not queries of their own and are not counted.

import { writeFileSync } from 'node:fs';
import { StatementSync } from 'node:sqlite';
import pg from 'pg';

const file = process.env['BENCH_QUERY_COUNT_FILE'];
if (!file) throw new Error('count-queries.ts needs BENCH_QUERY_COUNT_FILE');
let count = 0;

const proto = StatementSync.prototype as unknown as Record<'get' | 'all', (...args: unknown[]) => unknown>;
for (const name of ['get', 'all'] as const) {
  const original = proto[name];
  proto[name] = function (this: StatementSync, ...args: unknown[]) {
    if (/^\s*select/i.test(this.sourceSQL)) count++;
    return original.apply(this, args);
  };
}

const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  count++;
  return clientQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

setInterval(() => writeFileSync(file, String(count)), 100).unref();
