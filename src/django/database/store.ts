/** What flowergate reads from Django's database: the session row, the user, groups and permissions. */

export interface UserRecord {
  /** `str(user.pk)`. */
  readonly id: string;
  readonly password: string;
  readonly username: string;
  readonly email: string;
  /** null when the model has no is_active column, or the value is NULL. */
  readonly isActive: boolean | null;
  readonly isSuperuser: boolean;
  readonly isStaff: boolean;
}

export interface SessionRow {
  readonly data: string;
  /** `expire_date > now`, compared by the database itself at microsecond precision, as Django does. */
  readonly live: boolean;
}

/** A primary key already parsed the way Django's field parses it, in the form the database stores. */
export type UserKey =
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'text'; readonly value: string };

export interface DjangoDatabase {
  readonly kind: 'sqlite' | 'postgres' | 'mysql';
  findSession(sessionKey: string, now: string): Promise<SessionRow | null>;
  findUser(key: UserKey): Promise<UserRecord | null>;
  groupNames(userId: string): Promise<string[]>;
  hasPermission(userId: string, appLabel: string, codename: string): Promise<boolean>;
  /** A cheap query for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Called after every query, for metrics: result is ok, miss (no row), error or timeout. */
export type QueryObserver = (result: 'ok' | 'miss' | 'error' | 'timeout', seconds: number) => void;
