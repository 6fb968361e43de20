import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { DjangoConfig } from '../../config/schema.ts';
import { FlowergateError } from '../../errors.ts';
import { buildQueries, permissionParams, toBoolean } from './sql.ts';
import type { DjangoDatabase, SessionRow, UserKey, UserRecord } from './store.ts';

export interface SqliteOptions {
  readonly path: string;
  readonly config: DjangoConfig;
  /**
   * How long a query waits for Django's write lock. node:sqlite is synchronous, so this blocks the
   * event loop: keep it short and let a busy database answer 503 instead.
   */
  readonly busyTimeoutMs?: number;
}

/** Django's SQLite database, opened read-only (flowergate never writes). Opened lazily so a missing file heals. */
export function createSqliteDatabase(options: SqliteOptions): DjangoDatabase {
  const queries = buildQueries('sqlite', options.config);
  let db: DatabaseSync | undefined;
  let statements: Record<keyof typeof queries, StatementSync> | undefined;

  const prepared = () => {
    if (!statements) {
      try {
        db = new DatabaseSync(options.path, { readOnly: true, timeout: options.busyTimeoutMs ?? 200 });
        statements = {
          session: db.prepare(queries.session),
          user: db.prepare(queries.user),
          groups: db.prepare(queries.groups),
          permission: db.prepare(queries.permission),
          ping: db.prepare(queries.ping),
        };
      } catch (error) {
        db?.close();
        db = undefined;
        throw unavailable(options.path, error);
      }
    }
    return statements;
  };
  const run = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      if (error instanceof FlowergateError) return Promise.reject(error);
      return Promise.reject(unavailable(options.path, error));
    }
  };

  return {
    kind: 'sqlite',
    findSession: (sessionKey, now) =>
      run((): SessionRow | null => {
        const row = prepared().session.get(now, sessionKey) as
          | { session_data: string; live: number }
          | undefined;
        return row ? { data: String(row.session_data), live: row.live === 1 } : null;
      }),
    findUser: (key: UserKey) =>
      run((): UserRecord | null => {
        const row = prepared().user.get(key.value) as Record<string, unknown> | undefined;
        return row ? toUser(row) : null;
      }),
    groupNames: (userId) =>
      run(() => (prepared().groups.all(userId) as { name: string }[]).map((row) => String(row.name))),
    hasPermission: (userId, appLabel, codename) =>
      run(
        () =>
          prepared().permission.get(...permissionParams('sqlite', userId, appLabel, codename)) !== undefined,
      ),
    ping: () =>
      run(() => {
        prepared().ping.all();
      }),
    close: async () => {
      db?.close();
      db = undefined;
      statements = undefined;
    },
  };
}

export function toUser(row: Record<string, unknown>): UserRecord {
  return {
    id: String(row['id']),
    password: String(row['password'] ?? ''),
    username: String(row['username'] ?? ''),
    email: String(row['email'] ?? ''),
    isActive: toBoolean(row['is_active']),
    isSuperuser: toBoolean(row['is_superuser']) ?? false,
    isStaff: toBoolean(row['is_staff']) ?? false,
  };
}

function unavailable(path: string, error: unknown): FlowergateError {
  const message = (error as Error)?.message ?? String(error);
  return new FlowergateError(
    'STORE_UNAVAILABLE',
    `SQLite database ${path} is not usable: ${message}. Check FLOWERGATE_DJANGO_DATABASE_URL and that the file is readable and holds Django's tables (run migrate).`,
    { cause: error },
  );
}
