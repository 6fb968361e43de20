import type { DjangoDatabase, SessionRow, UserKey, UserRecord } from './store.ts';

/** A session row read for a batch of lookups made at different instants (the earliest and the latest). */
export interface SessionSpan {
  readonly data: string;
  /** `expire_date > from` and `expire_date > to`, compared by the database as for a single lookup. */
  readonly liveFrom: boolean;
  readonly liveTo: boolean;
}

/** What a driver adds so lookups can share one query: the answer for each key, in order. */
export interface BatchLookups {
  findSessions(keys: readonly string[], from: string, to: string): Promise<(SessionSpan | null)[]>;
  findUsers(keys: readonly UserKey[]): Promise<(UserRecord | null)[]>;
  /** Each user's group names (by `UserRecord.id`), sorted as `groupNames` sorts them. */
  findGroups(userIds: readonly string[]): Promise<string[][]>;
}

/** At most this many distinct keys in one query: bounds the statement, its parameters and its rows. */
export const MAX_BATCH = 64;

/**
 * A batch's keys padded to the next power of two (repeating the last key) so each driver prepares at
 * most log2(MAX_BATCH) statement texts per query instead of one per batch size: every pooled connection
 * of PostgreSQL and MySQL keeps its prepared statements. Answers past `keys.length` are dropped.
 */
export function padBatch<T>(keys: readonly T[]): readonly T[] {
  let size = 2;
  while (size < keys.length) size *= 2;
  if (size === keys.length) return keys;
  const padded = keys.slice();
  while (padded.length < size) padded.push(keys[keys.length - 1]!);
  return padded;
}
/** Asks `ask` for the padded keys and hands back the answers for `keys` alone. */
const padded = <K, A>(keys: readonly K[], ask: (keys: readonly K[]) => Promise<A[]>): Promise<A[]> =>
  ask(padBatch(keys)).then((answers) =>
    answers.length === keys.length ? answers : answers.slice(0, keys.length),
  );

/**
 * Session and user lookups made in one turn of the event loop go to the database as one query each
 * (`WHERE session_key IN (…)`, then one for the users, then one for their groups): a burst of cold misses, honest or made-up keys,
 * costs the database a query per turn instead of one per request. A lone lookup keeps the one-row query.
 *
 * Django's answer is unchanged: each row is compared with each lookup's own instant (a row that expires
 * between the batch's earliest and latest instant is looked up again alone), each key gets only the
 * row the database itself matches it with, and the caller checks each user's hash. A failed query
 * fails every lookup in it; a bad row is only its own lookup's answer.
 */
export function batchLookups(database: DjangoDatabase & BatchLookups, maxBatch = MAX_BATCH): DjangoDatabase {
  type SessionWaiter = Waiter<SessionRow | null> & { now: string };

  const sessions = createQueue<SessionWaiter>(maxBatch, (pending) => {
    const keys = [...pending.keys()];
    const waiters = [...pending.values()];
    if (keys.length === 1 && waiters[0]!.length === 1) {
      const [waiter] = waiters[0]!;
      database.findSession(keys[0]!, waiter!.now).then(waiter!.resolve, waiter!.reject);
      return;
    }
    let from: string | undefined;
    let to: string | undefined;
    // The instants share one fixed format, so text order is time order (as the database compares them).
    for (const list of waiters) {
      for (const { now } of list) {
        if (from === undefined || now < from) from = now;
        if (to === undefined || now > to) to = now;
      }
    }
    padded(keys, (asked) => database.findSessions(asked, from!, to!)).then(
      (rows) => {
        rows.forEach((row, i) => {
          for (const waiter of waiters[i]!) {
            if (!row) {
              waiter.resolve(null);
              continue;
            }
            let live: boolean | undefined;
            if (row.liveTo || waiter.now === to) live = row.liveTo;
            else if (!row.liveFrom || waiter.now === from) live = row.liveFrom;
            if (live !== undefined) waiter.resolve({ data: row.data, live });
            // Expires strictly inside the batch's span: this lookup's own instant decides.
            else database.findSession(keys[i]!, waiter.now).then(waiter.resolve, waiter.reject);
          }
        });
      },
      (error: unknown) => {
        for (const list of waiters) for (const waiter of list) waiter.reject(error);
      },
    );
  });

  const users = createQueue<Waiter<UserRecord | null> & { key: UserKey }>(maxBatch, (pending) => {
    const waiters = [...pending.values()];
    const keys = waiters.map((list) => list[0]!.key);
    settle(
      waiters,
      keys.length === 1
        ? database.findUser(keys[0]!).then((row) => [row])
        : padded(keys, (asked) => database.findUsers(asked)),
    );
  });

  const groups = createQueue<Waiter<readonly string[]>>(maxBatch, (pending) => {
    const ids = [...pending.keys()];
    settle(
      [...pending.values()],
      ids.length === 1
        ? database.groupNames(ids[0]!).then((names) => [names])
        : padded(ids, (asked) => database.findGroups(asked)),
    );
  });

  return {
    kind: database.kind,
    findSession: (sessionKey, now) =>
      new Promise((resolve, reject) => sessions(sessionKey, { now, resolve, reject })),
    findUser: (key) =>
      new Promise((resolve, reject) => users(`${key.kind}:${key.value}`, { key, resolve, reject })),
    groupNames: (userId) =>
      new Promise<readonly string[]>((resolve, reject) => groups(userId, { resolve, reject })).then(
        (names) => [...names],
      ),
    hasPermission: database.hasPermission.bind(database),
    ping: database.ping.bind(database),
    close: database.close.bind(database),
  };
}

type Waiter<T> = { resolve(value: T): void; reject(error: unknown): void };

/** Hands each key's answer to that key's waiters, or the failure to every waiter. */
function settle<T>(waiters: readonly (readonly Waiter<T>[])[], answers: Promise<readonly T[]>): void {
  answers.then(
    (values) => {
      values.forEach((value, i) => {
        for (const waiter of waiters[i]!) waiter.resolve(value);
      });
    },
    (error: unknown) => {
      for (const list of waiters) for (const waiter of list) waiter.reject(error);
    },
  );
}

/**
 * Collects items by key until the end of this turn of the event loop (`setImmediate` runs after the
 * turn's I/O callbacks and their promise jobs), or until `max` distinct keys, then hands them to `flush`.
 */
function createQueue<T>(
  max: number,
  flush: (pending: Map<string, T[]>) => void,
): (key: string, item: T) => void {
  let pending = new Map<string, T[]>();
  let scheduled = false;
  const run = () => {
    scheduled = false;
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    flush(batch);
  };
  return (key, item) => {
    let list = pending.get(key);
    if (!list) {
      if (pending.size >= max) run();
      list = [];
      pending.set(key, list);
    }
    list.push(item);
    if (!scheduled) {
      scheduled = true;
      setImmediate(run);
    }
  };
}
