// Preloaded into flowergate by the bench (`node --import ./bench/servers/count-queries.ts`) for the rows
// that read the store: counts the SELECTs flowergate sends to SQLite (node:sqlite) and PostgreSQL (pg)
// and writes the running total to $BENCH_QUERY_COUNT_FILE every 100 ms, so the bench can report queries
// per decision without touching flowergate's code. BEGIN/COMMIT of SQLite's per-turn read transaction
// are not queries of their own and are not counted.

import { openSync, writeSync } from 'node:fs';
import { StatementSync } from 'node:sqlite';
import pg from 'pg';

const file = process.env['BENCH_QUERY_COUNT_FILE'];
if (!file) throw new Error('count-queries.ts needs BENCH_QUERY_COUNT_FILE');
let count = 0;

// Cheap enough not to show in the row it measures: `sourceSQL` copies the statement's text out of
// SQLite on every read, so whether a statement is a SELECT is decided once per statement.
const isSelect = new WeakMap<StatementSync, boolean>();
const proto = StatementSync.prototype as unknown as Record<'get' | 'all', (...args: unknown[]) => unknown>;
for (const name of ['get', 'all'] as const) {
  const original = proto[name];
  proto[name] = function (this: StatementSync, ...args: unknown[]) {
    let select = isSelect.get(this);
    if (select === undefined) {
      select = /^\s*select/i.test(this.sourceSQL);
      isSelect.set(this, select);
    }
    if (select) count++;
    return original.apply(this, args);
  };
}

const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  count++;
  return clientQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

// One descriptor, written in place when the count moved (it only grows, so the text never shortens):
// reopening the file ten times a second showed up as 2 % of a row's CPU.
const fd = openSync(file, 'w');
let written = -1;
setInterval(() => {
  if (count === written) return;
  written = count;
  writeSync(fd, String(count), 0);
}, 100).unref();
