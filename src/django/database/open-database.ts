import type { Config } from '../../config/schema.ts';
import { createSqliteDatabase } from './sqlite.ts';
import type { DjangoDatabase } from './store.ts';

/**
 * The one place that picks a database driver from the configured URL. The network drivers are
 * loaded only when configured: a SQLite site never holds `pg` or `mysql2` in memory.
 */
export async function openDatabase(config: Config): Promise<DjangoDatabase> {
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
