import { isAbsolute, resolve } from 'node:path';

export type DatabaseTarget =
  | { kind: 'sqlite'; path: string }
  | ({ kind: 'postgres' } & ServerDatabase)
  | ({ kind: 'mysql' } & ServerDatabase);

export interface ServerDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Query-string options such as sslmode, kept for the driver. */
  options: Readonly<Record<string, string>>;
}

const SCHEMES: Record<string, DatabaseTarget['kind']> = {
  sqlite: 'sqlite',
  postgres: 'postgres',
  postgresql: 'postgres',
  pgsql: 'postgres',
  mysql: 'mysql',
  mysql2: 'mysql',
  mariadb: 'mysql',
};

/**
 * Parses a URL as dj-database-url writes it. `sqlite:////abs/db.sqlite3` is absolute,
 * `sqlite:///db.sqlite3` relative to the working directory. Returns an error message, never throws.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget | string {
  const scheme = url.slice(0, Math.max(0, url.indexOf('://'))).toLowerCase();
  const kind = SCHEMES[scheme];
  if (!kind) {
    return 'must start with sqlite://, postgres:// or mysql:// (as dj-database-url writes DATABASE_URL)';
  }
  if (kind === 'sqlite') {
    const rest = url.slice('sqlite://'.length);
    if (!rest.startsWith('/') || rest.length < 2)
      return 'sqlite URL must look like sqlite:////abs/path/db.sqlite3';
    const path = rest.slice(1);
    if (path === ':memory:')
      return 'an in-memory SQLite database holds no Django sessions; point at the file';
    return { kind, path: isAbsolute(path) ? path : resolve(path) };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!parsed.hostname || !database)
    return `${scheme} URL must name a host and a database: ${scheme}://user:password@host:port/name`;
  return {
    kind: kind as 'postgres' | 'mysql',
    host: decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, '')),
    port: parsed.port ? Number(parsed.port) : kind === 'postgres' ? 5432 : 3306,
    user: decodeURIComponent(parsed.username) || (kind === 'postgres' ? 'postgres' : 'root'),
    password: decodeURIComponent(parsed.password),
    database,
    options: Object.fromEntries(parsed.searchParams),
  };
}

/** The URL with its password masked, for logs and the start-up summary. */
export function describeDatabase(target: DatabaseTarget): string {
  if (target.kind === 'sqlite') return `sqlite:///${target.path}`;
  const auth = target.password ? `${target.user}:***@` : `${target.user}@`;
  return `${target.kind}://${auth}${target.host}:${target.port}/${target.database}`;
}
