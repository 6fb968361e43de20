import mysql from 'mysql2/promise';
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

export interface MysqlOptions {
  readonly target: Extract<DatabaseTarget, { kind: 'mysql' }>;
  readonly config: DjangoConfig;
  readonly poolSize?: number;
  readonly timeoutMs: number;
}

/** MySQL/MariaDB through a `mysql2` pool with server-side prepared statements. */
export function createMysqlDatabase(options: MysqlOptions): DjangoDatabase & BatchLookups {
  const { target } = options;
  const queries = buildQueries('mysql', options.config);
  const batch = buildBatchQueries('mysql', options.config);
  const pool = mysql.createPool({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    connectionLimit: options.poolSize ?? 10,
    connectTimeout: options.timeoutMs,
    // Django stores UTC in DATETIME(6) when USE_TZ is on; read values as text, never shift them.
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: 'utf8mb4',
    enableKeepAlive: true,
    ssl: target.options['ssl'] === 'true' ? {} : undefined,
  });

  // Server-side prepared per text; a batch's text is per size, a power of two (padBatch): at most 6 per query.
  const run = async <T>(text: string, values: unknown[]): Promise<T[]> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new FlowergateError('STORE_TIMEOUT', `MySQL query took longer than ${options.timeoutMs} ms`),
            ),
          options.timeoutMs,
        );
      });
      const [rows] = await Promise.race([pool.execute(text, values as string[]), timeout]);
      return rows as T[];
    } catch (error) {
      if (error instanceof FlowergateError) throw error;
      throw new FlowergateError(
        'STORE_UNAVAILABLE',
        `MySQL ${target.host}:${target.port}/${target.database}: ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  };

  const query = <T>(name: keyof typeof queries, values: unknown[]) => run<T>(queries[name], values);

  return {
    kind: 'mysql',
    async findSessions(keys, from, to) {
      const rows = await run<Record<string, unknown>>(
        batch.sessions(keys.length),
        sessionBatchParams('mysql', keys, from, to),
      );
      return matchRows(rows, keys.length, toSessionSpan);
    },
    async findUsers(keys) {
      const values = keys.map((key) => String(key.value));
      const rows = await run<Record<string, unknown>>(
        batch.users(keys.length),
        userBatchParams('mysql', values),
      );
      return matchRows(rows, keys.length, toUser);
    },
    async findGroups(userIds) {
      const rows = await run<Record<string, unknown>>(
        batch.groups(userIds.length),
        userBatchParams('mysql', userIds),
      );
      return matchAllRows(rows, userIds.length, (row) => String(row['name']));
    },
    async findSession(sessionKey, now) {
      const [row] = await query<{ session_data: string; live: number | string }>('session', [
        now,
        sessionKey,
      ]);
      return row ? { data: String(row.session_data), live: Number(row.live) === 1 } : null;
    },
    async findUser(key: UserKey) {
      const [row] = await query<Record<string, unknown>>('user', [String(key.value)]);
      return row ? toUser(row) : null;
    },
    async groupNames(userId) {
      return (await query<{ name: string }>('groups', [userId])).map((row) => String(row.name));
    },
    async hasPermission(userId, appLabel, codename) {
      return (await query('permission', permissionParams('mysql', userId, appLabel, codename))).length > 0;
    },
    async ping() {
      await query('ping', []);
    },
    close: () => pool.end(),
  };
}
