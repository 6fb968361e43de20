import type { DjangoConfig } from '../../config/schema.ts';
import type { SessionSpan } from './batch.ts';

export type SqlDialect = 'sqlite' | 'postgres' | 'mysql';

export interface Queries {
  readonly session: string;
  readonly user: string;
  readonly groups: string;
  readonly permission: string;
  readonly ping: string;
}

/**
 * The four queries, built once from the configured user model. Identifiers are quoted for the
 * dialect; placeholders are `?` (SQLite, MySQL) or `$n` (PostgreSQL).
 */
export function buildQueries(dialect: SqlDialect, config: DjangoConfig): Queries {
  const q = quoter(dialect);
  const p = (n: number) => (dialect === 'postgres' ? `$${n}` : '?');
  const m = config.userModel;
  const nowCast = dialect === 'postgres' ? (config.useTz ? '::timestamptz' : '::timestamp') : '';
  const pkParam = (n: number) => `${p(n)}${pkCast(dialect, m.pkType)}`;
  return {
    // Django's own filter is session_key = key AND expire_date > now; selecting the comparison instead
    // tells "expired" apart from "unknown". Positional `?` parameters: (now, key); PostgreSQL: $1 key, $2 now.
    session: `SELECT session_data, (expire_date > ${dialect === 'postgres' ? '$2' : '?'}${nowCast}) AS live FROM django_session WHERE session_key = ${dialect === 'postgres' ? '$1' : '?'}`,
    user: `SELECT ${userColumns(config, q)} FROM ${q(m.table)} WHERE ${q(m.pkColumn)} = ${pkParam(1)}`,
    groups: [
      `SELECT g.name AS name FROM auth_group g JOIN ${q(m.groupsTable)} ug ON ug.group_id = g.id`,
      `WHERE ug.${q(m.m2mUserColumn)} = ${p(1)} ORDER BY g.name`,
    ].join(' '),
    // ModelBackend: the user's own permissions plus their groups' permissions, as "app_label.codename".
    permission: [
      'SELECT 1 AS found FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id',
      `WHERE ct.app_label = ${p(1)} AND p.codename = ${p(2)} AND (`,
      `p.id IN (SELECT up.permission_id FROM ${q(m.userPermissionsTable)} up WHERE up.${q(m.m2mUserColumn)} = ${p(3)})`,
      'OR p.id IN (SELECT gp.permission_id FROM auth_group_permissions gp',
      `JOIN ${q(m.groupsTable)} ug ON ug.group_id = gp.group_id WHERE ug.${q(m.m2mUserColumn)} = ${p(dialect === 'postgres' ? 3 : 4)}))`,
      'LIMIT 1',
    ].join(' '),
    ping: 'SELECT 1 FROM django_session WHERE 1 = 0',
  };
}

type Quote = (name: string) => string;

/** Identifiers quoted for the dialect. */
function quoter(dialect: SqlDialect): Quote {
  return (name) =>
    dialect === 'mysql' ? `\`${name.replaceAll('`', '``')}\`` : `"${name.replaceAll('"', '""')}"`;
}

/** PostgreSQL compares a key parameter with the primary key's own type. */
function pkCast(dialect: SqlDialect, pkType: DjangoConfig['userModel']['pkType']): string {
  if (dialect !== 'postgres') return '';
  return pkType === 'int' ? '::bigint' : pkType === 'uuid' ? '::uuid' : '';
}

function userColumns(config: DjangoConfig, q: Quote): string {
  const m = config.userModel;
  const optional = (column: string | null, alias: string) =>
    column ? `${q(column)} AS ${alias}` : `NULL AS ${alias}`;
  return [
    `${q(m.pkColumn)} AS id, ${q(m.passwordColumn)} AS password, ${q(m.usernameColumn)} AS username,`,
    `${optional(m.emailColumn, 'email')}, ${optional(m.isActiveColumn, 'is_active')},`,
    `${optional(m.isSuperuserColumn, 'is_superuser')}, ${optional(m.isStaffColumn, 'is_staff')}`,
  ].join(' ');
}

export interface BatchQueries {
  /**
   * Up to n session rows in one query, parameters from `sessionBatchParams`. Each row says whether it is
   * live at the batch's earliest and latest instant (live_from, live_to), and, in m0…m{n-1}, which of the
   * n keys it answers by the database's own comparison (a case-insensitive MySQL collation included).
   */
  sessions(n: number): string;
  /** Up to n user rows, parameters from `userBatchParams`; m0…m{n-1} as for sessions. */
  users(n: number): string;
  /** The group names of n users (by primary key as text), parameters from `userBatchParams`. */
  groups(n: number): string;
}

/** The batched session and user queries, built once per batch size (callers bound the size). */
export function buildBatchQueries(dialect: SqlDialect, config: DjangoConfig): BatchQueries {
  const q = quoter(dialect);
  const m = config.userModel;
  const nowCast = dialect === 'postgres' ? (config.useTz ? '::timestamptz' : '::timestamp') : '';
  // PostgreSQL reuses $n for a key's match flag; `?` dialects take every key twice (IN list, then flags).
  const keyParam = (i: number, offset: number) => (dialect === 'postgres' ? `$${offset + i + 1}` : '?');
  const build = (n: number, offset: number, column: string, cast: string) => {
    const list = Array.from({ length: n }, (_, i) => `${keyParam(i, offset)}${cast}`).join(', ');
    const flags = Array.from(
      { length: n },
      (_, i) => `(${column} = ${keyParam(i, offset)}${cast}) AS m${i}`,
    ).join(', ');
    return { list, flags };
  };
  const memo = (make: (n: number) => string) => {
    const built = new Map<number, string>();
    return (n: number) => {
      let text = built.get(n);
      if (text === undefined) {
        text = make(n);
        built.set(n, text);
      }
      return text;
    };
  };
  const from = dialect === 'postgres' ? `$1${nowCast}` : '?';
  const to = dialect === 'postgres' ? `$2${nowCast}` : '?';
  return {
    sessions: memo((n) => {
      const { list, flags } = build(n, 2, 'session_key', '');
      // `?` dialects: the flags come before the IN list in the text, so their parameters do too.
      return `SELECT session_data, (expire_date > ${from}) AS live_from, (expire_date > ${to}) AS live_to, ${flags} FROM django_session WHERE session_key IN (${list})`;
    }),
    users: memo((n) => {
      const { list, flags } = build(n, 0, q(m.pkColumn), pkCast(dialect, m.pkType));
      return `SELECT ${userColumns(config, q)}, ${flags} FROM ${q(m.table)} WHERE ${q(m.pkColumn)} IN (${list})`;
    }),
    groups: memo((n) => {
      const { list, flags } = build(n, 0, `ug.${q(m.m2mUserColumn)}`, '');
      return [
        `SELECT g.name AS name, ${flags} FROM auth_group g JOIN ${q(m.groupsTable)} ug ON ug.group_id = g.id`,
        `WHERE ug.${q(m.m2mUserColumn)} IN (${list}) ORDER BY g.name`,
      ].join(' ');
    }),
  };
}

/** Parameters for `sessions(keys.length)`, in placeholder order. */
export function sessionBatchParams(
  dialect: SqlDialect,
  keys: readonly string[],
  from: string,
  to: string,
): string[] {
  return dialect === 'postgres' ? [from, to, ...keys] : [from, to, ...keys, ...keys];
}

/** Parameters for `users(keys.length)`, in placeholder order. */
export function userBatchParams<T>(dialect: SqlDialect, keys: readonly T[]): T[] {
  return dialect === 'postgres' ? [...keys] : [...keys, ...keys];
}

/** The flag columns' names, m0…m{MAX_BATCH-1}, made once: a batch's rows are read flag by flag. */
const FLAGS = Array.from({ length: 64 }, (_, i) => `m${i}`);
const flag = (i: number) => FLAGS[i] ?? `m${i}`;

/** For each of n keys, the row whose flag m{i} is true (or null), mapped by `map`. */
export function matchRows<T>(
  rows: readonly Record<string, unknown>[],
  n: number,
  map: (row: Record<string, unknown>) => T,
): (T | null)[] {
  const matched: (T | null)[] = new Array(n).fill(null);
  for (const row of rows) {
    const value = map(row);
    for (let i = 0; i < n; i++) if (toBoolean(row[flag(i)])) matched[i] = value;
  }
  return matched;
}

/** For each of n keys, every row whose flag m{i} is true, in the rows' order, mapped by `map`. */
export function matchAllRows<T>(
  rows: readonly Record<string, unknown>[],
  n: number,
  map: (row: Record<string, unknown>) => T,
): T[][] {
  const matched: T[][] = Array.from({ length: n }, () => []);
  for (const row of rows) {
    const value = map(row);
    for (let i = 0; i < n; i++) if (toBoolean(row[flag(i)])) matched[i]!.push(value);
  }
  return matched;
}

/** Parameters for the permission query, in placeholder order. */
export function permissionParams(
  dialect: SqlDialect,
  userId: string,
  appLabel: string,
  codename: string,
): string[] {
  return dialect === 'postgres' ? [appLabel, codename, userId] : [appLabel, codename, userId, userId];
}

/** A row of the batched session query. */
export function toSessionSpan(row: Record<string, unknown>): SessionSpan {
  return {
    data: String(row['session_data']),
    liveFrom: toBoolean(row['live_from']) === true,
    liveTo: toBoolean(row['live_to']) === true,
  };
}

/** Databases return 0/1, true/false or NULL for booleans. */
export function toBoolean(value: unknown): boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return value !== 0 && value !== 0n;
  if (typeof value === 'string') return value !== '' && value !== '0';
  return Boolean(value);
}
