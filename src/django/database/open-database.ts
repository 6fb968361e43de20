import type { Config } from '../../config/schema.ts';
import { type BatchLookups, batchLookups } from './batch.ts';
import { createSqliteDatabase } from './sqlite.ts';
import type { DjangoDatabase } from './store.ts';

/** Django's database, with the session and user lookups of one event-loop turn batched (batch.ts). */
export async function openDatabase(config: Config): Promise<DjangoDatabase> {
  return batchLookups(await openDriver(config));
}

/**
 * The one place that picks a database driver from the configured URL. The network drivers are
 * loaded only when configured: a SQLite site never holds `pg` or `mysql2` in memory.
 */
export async function openDriver(config: Config): Promise<DjangoDatabase & BatchLookups> {
  const target = config.django.databaseUrl;
  const timeoutMs = Math.round(config.storeTimeout * 1000);
  switch (target.kind) {
    case 'sqlite':
      return createSqliteDatabase({ path: target.path, config: config.django, timeoutMs });
    case 'postgres': {
      const { createPostgresDatabase } = await import('./postgres.ts');
      return createPostgresDatabase({ target, config: config.django, timeoutMs });
    }
    case 'mysql': {
      const { createMysqlDatabase } = await import('./mysql.ts');
      return createMysqlDatabase({ target, config: config.django, timeoutMs });
    }
  }
}
