import type { Config } from '../../config/schema.ts';
import { createMysqlDatabase } from './mysql.ts';
import { createPostgresDatabase } from './postgres.ts';
import { createSqliteDatabase } from './sqlite.ts';
import type { DjangoDatabase } from './store.ts';

/** The one place that picks a database driver from the configured URL. */
export function openDatabase(config: Config): DjangoDatabase {
  const target = config.django.databaseUrl;
  const timeoutMs = Math.round(config.storeTimeout * 1000);
  switch (target.kind) {
    case 'sqlite':
      return createSqliteDatabase({ path: target.path, config: config.django, timeoutMs });
    case 'postgres':
      return createPostgresDatabase({ target, config: config.django, timeoutMs });
    case 'mysql':
      return createMysqlDatabase({ target, config: config.django, timeoutMs });
  }
}
