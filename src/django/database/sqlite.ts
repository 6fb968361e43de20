import { statSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
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
  toBoolean,
  toSessionSpan,
  userBatchParams,
} from './sql.ts';
import type { DjangoDatabase, SessionRow, UserKey, UserRecord } from './store.ts';

export interface SqliteOptions {
  readonly path: string;
  readonly config: DjangoConfig;
  /**
   * How long one attempt waits for Django's write lock. node:sqlite is synchronous, so this blocks the
   * event loop: keep it short; a busy database is retried without blocking until `timeoutMs`.
   */
  readonly busyTimeoutMs?: number;
  /** FLOWERGATE_STORE_TIMEOUT: how long a query may keep finding the database locked before it is a 503. */
  readonly timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** SQLITE_BUSY or SQLITE_LOCKED (primary codes), from node:sqlite, possibly wrapped while opening. */
function isBusy(error: unknown): boolean {
  const cause = error instanceof FlowergateError ? error.cause : error;
  const code = (cause as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && ((code & 0xff) === 5 || (code & 0xff) === 6);
}

/**
 * Django's SQLite database, opened read-only (flowergate never writes). Opened lazily so a missing
 * file heals, and opened again when the path names a new file (a restore moved over it).
 *
 * Every query made in one turn of the event loop shares one read transaction, ended at the next
 * `setImmediate`. Outside a transaction SQLite takes and drops its shared lock, checks for a hot
 * journal and rereads the header for every statement: 8 system calls, ~16 µs here against ~1 µs
 * inside one. The lock is held for microseconds, and a Django write still gets in: its pending lock
 * stops new readers, and we retry as for any busy database.
 */
export function createSqliteDatabase(options: SqliteOptions): DjangoDatabase & BatchLookups {
  const queries = buildQueries('sqlite', options.config);
  const batch = buildBatchQueries('sqlite', options.config);
  // Batched statements by text, prepared on first use (one per batch size, a power of two: at most 6 each).
  const batchStatements = new Map<string, StatementSync>();
  let db: DatabaseSync | undefined;
  let statements:
    | (Record<keyof typeof queries, StatementSync> & { begin: StatementSync; commit: StatementSync })
    | undefined;
  let inode: number | bigint | undefined;
  let inTransaction = false;

  const close = () => {
    try {
      db?.close();
    } catch {
      // already unusable; nothing to release
    }
    db = undefined;
    statements = undefined;
    batchStatements.clear();
    inTransaction = false;
  };
  const open = (fileInode: number | bigint) => {
    try {
      db = new DatabaseSync(options.path, { readOnly: true, timeout: options.busyTimeoutMs ?? 50 });
      inode = fileInode; // looked up before opening: a swap in between only costs one more reopen
      statements = {
        session: db.prepare(queries.session),
        user: db.prepare(queries.user),
        groups: db.prepare(queries.groups),
        permission: db.prepare(queries.permission),
        ping: db.prepare(queries.ping),
        begin: db.prepare('BEGIN'),
        commit: db.prepare('COMMIT'),
      };
      return statements;
    } catch (error) {
      close();
      throw unavailable(options.path, error);
    }
  };
  const endTransaction = () => {
    if (!inTransaction || !statements) return;
    inTransaction = false;
    try {
      statements.commit.run();
    } catch {
      close(); // a read transaction that cannot end: start over with a new connection
    }
  };
  const prepared = () => {
    if (statements && inTransaction) return statements;
    // First query of this turn: is the path still the file we have open?
    let current: number | bigint | undefined;
    try {
      current = statSync(options.path).ino;
    } catch (error) {
      close();
      throw unavailable(options.path, error);
    }
    let ready = statements;
    if (!ready || current !== inode) {
      close();
      ready = open(current);
    }
    ready.begin.run();
    inTransaction = true;
    setImmediate(endTransaction);
    return ready;
  };
  const batchStatement = (text: string): StatementSync => {
    prepared(); // opens the database and this turn's read transaction
    let statement = batchStatements.get(text);
    if (!statement) {
      statement = db!.prepare(text);
      batchStatements.set(text, statement);
    }
    return statement;
  };
  // Django writes (a login, a session save) lock a rollback-journal database for a moment; a reader that
  // gives up at once would answer 503 for every other user meanwhile. Retry off the event loop instead.
  const timeoutMs = options.timeoutMs ?? 2000;
  const run = async <T>(fn: () => T): Promise<T> => {
    const deadline = performance.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return fn();
      } catch (error) {
        const remaining = deadline - performance.now();
        if (isBusy(error) && remaining > 0) {
          await sleep(Math.min(10 * 2 ** attempt, 100, remaining));
          continue;
        }
        if (error instanceof FlowergateError) throw error;
        throw unavailable(options.path, error);
      }
    }
  };

  return {
    kind: 'sqlite',
    findSessions: (keys, from, to) =>
      run(() => {
        const rows = batchStatement(batch.sessions(keys.length)).all(
          ...sessionBatchParams('sqlite', keys, from, to),
        ) as Record<string, unknown>[];
        return matchRows(rows, keys.length, toSessionSpan);
      }),
    findUsers: (keys) =>
      run(() => {
        const values = userBatchParams(
          'sqlite',
          keys.map((key) => key.value),
        );
        const rows = batchStatement(batch.users(keys.length)).all(...values) as Record<string, unknown>[];
        return matchRows(rows, keys.length, toUser);
      }),
    findGroups: (userIds) =>
      run(() => {
        const rows = batchStatement(batch.groups(userIds.length)).all(
          ...userBatchParams('sqlite', userIds),
        ) as Record<string, unknown>[];
        return matchAllRows(rows, userIds.length, (row) => String(row['name']));
      }),
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
      endTransaction();
      close();
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
