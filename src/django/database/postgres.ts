import pg from 'pg';
import type { DatabaseTarget } from '../../config/database-url.ts';
import type { DjangoConfig } from '../../config/schema.ts';
import { FlowergateError } from '../../errors.ts';
import type { BatchLookups } from './batch.ts';
import {
  buildBatchQueries,
  buildQueries,
  matchAllRows,
  matchRows,
  permissionParams,
  sessionBatchParams,
  toSessionSpan,
  userBatchParams,
} from './sql.ts';
import { toUser } from './sqlite.ts';
import type { DjangoDatabase, UserKey } from './store.ts';

export interface PostgresOptions {
  readonly target: Extract<DatabaseTarget, { kind: 'postgres' }>;
  readonly config: DjangoConfig;
  readonly poolSize?: number;
  readonly timeoutMs: number;
}

/** PostgreSQL through a `pg` pool; queries are named so each connection prepares them once. */
export function createPostgresDatabase(options: PostgresOptions): DjangoDatabase & BatchLookups {
  const { target } = options;
  const queries = buildQueries('postgres', options.config);
  const batch = buildBatchQueries('postgres', options.config);
  const sslmode = target.options['sslmode'];
  const pool = new pg.Pool({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.timeoutMs,
    statement_timeout: options.timeoutMs,
    query_timeout: options.timeoutMs + 250,
    idleTimeoutMillis: 30_000,
    application_name: 'flowergate',
    ssl:
      sslmode && sslmode !== 'disable'
        ? { rejectUnauthorized: sslmode === 'verify-full' || sslmode === 'verify-ca' }
        : undefined,
  });
  // An idle client's error must not crash the process; the next query reports it.
  pool.on('error', () => {});

  // Named statements: each connection prepares a text once (a batch's text is per size, a power of two: at most 6 per query).
  const run = async <T extends pg.QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<T[]> => {
    try {
      const result = await pool.query<T>({ name: `flowergate_${name}`, text, values });
      return result.rows;
    } catch (error) {
      throw new FlowergateError(
        /timeout/i.test((error as Error).message) ? 'STORE_TIMEOUT' : 'STORE_UNAVAILABLE',
        `PostgreSQL ${target.host}:${target.port}/${target.database}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  };

  const query = <T extends pg.QueryResultRow>(name: keyof typeof queries, values: unknown[]) =>
    run<T>(name, queries[name], values);
  const instant = (now: string) => (options.config.useTz ? `${now}+00:00` : now);

  return {
    kind: 'postgres',
    async findSessions(keys, from, to) {
      const rows = await run(
        `sessions_${keys.length}`,
        batch.sessions(keys.length),
        sessionBatchParams('postgres', keys, instant(from), instant(to)),
      );
      return matchRows(rows, keys.length, toSessionSpan);
    },
    async findUsers(keys) {
      const values = keys.map((key) => String(key.value));
      const rows = await run(
        `users_${keys.length}`,
        batch.users(keys.length),
        userBatchParams('postgres', values),
      );
      return matchRows(rows, keys.length, toUser);
    },
    async findGroups(userIds) {
      const rows = await run(
        `groups_${userIds.length}`,
        batch.groups(userIds.length),
        userBatchParams('postgres', userIds),
      );
      return matchAllRows(rows, userIds.length, (row) => String(row['name']));
    },
    async findSession(sessionKey, now) {
      const at = instant(now);
      const [row] = await query<{ session_data: string; live: boolean }>('session', [sessionKey, at]);
      return row ? { data: row.session_data, live: row.live === true } : null;
    },
    async findUser(key: UserKey) {
      const [row] = await query('user', [String(key.value)]);
      return row ? toUser(row) : null;
    },
    async groupNames(userId) {
      return (await query<{ name: string }>('groups', [userId])).map((row) => row.name);
    },
    async hasPermission(userId, appLabel, codename) {
      return (await query('permission', permissionParams('postgres', userId, appLabel, codename))).length > 0;
    },
    async ping() {
      await query('ping', []);
    },
    close: () => pool.end(),
  };
}
