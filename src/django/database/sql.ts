import type { DjangoConfig } from '../../config/schema.ts';

export type SqlDialect = 'sqlite' | 'postgres' | 'mysql';

export interface Queries {
  readonly session: string;
  readonly user: string;
  readonly groups: string;
  readonly permission: string;
  readonly ping: string;
}

/**
 * The four queries, built once from the configured user model. Identifiers are quoted for the
 * dialect; placeholders are `?` (SQLite, MySQL) or `$n` (PostgreSQL).
 */
export function buildQueries(dialect: SqlDialect, config: DjangoConfig): Queries {
  const q = (name: string) =>
    dialect === 'mysql' ? `\`${name.replaceAll('`', '``')}\`` : `"${name.replaceAll('"', '""')}"`;
  const p = (n: number) => (dialect === 'postgres' ? `$${n}` : '?');
  const m = config.userModel;
  const optional = (column: string | null, alias: string) =>
    column ? `${q(column)} AS ${alias}` : `NULL AS ${alias}`;
  const nowCast = dialect === 'postgres' ? (config.useTz ? '::timestamptz' : '::timestamp') : '';
  const pkParam =
    dialect === 'postgres' && m.pkType === 'int'
      ? `${p(1)}::bigint`
      : dialect === 'postgres' && m.pkType === 'uuid'
        ? `${p(1)}::uuid`
        : p(1);
  return {
    // Django's own filter is session_key = key AND expire_date > now; selecting the comparison instead
    // tells "expired" apart from "unknown". Positional `?` parameters: (now, key); PostgreSQL: $1 key, $2 now.
    session: `SELECT session_data, (expire_date > ${dialect === 'postgres' ? '$2' : '?'}${nowCast}) AS live FROM django_session WHERE session_key = ${dialect === 'postgres' ? '$1' : '?'}`,
    user: [
      `SELECT ${q(m.pkColumn)} AS id, ${q(m.passwordColumn)} AS password, ${q(m.usernameColumn)} AS username,`,
      `${optional(m.emailColumn, 'email')}, ${optional(m.isActiveColumn, 'is_active')},`,
      `${optional(m.isSuperuserColumn, 'is_superuser')}, ${optional(m.isStaffColumn, 'is_staff')}`,
      `FROM ${q(m.table)} WHERE ${q(m.pkColumn)} = ${pkParam}`,
    ].join(' '),
    groups: [
      `SELECT g.name AS name FROM auth_group g JOIN ${q(m.groupsTable)} ug ON ug.group_id = g.id`,
      `WHERE ug.${q(m.m2mUserColumn)} = ${p(1)} ORDER BY g.name`,
    ].join(' '),
    // ModelBackend: the user's own permissions plus their groups' permissions, as "app_label.codename".
    permission: [
      'SELECT 1 AS found FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id',
      `WHERE ct.app_label = ${p(1)} AND p.codename = ${p(2)} AND (`,
      `p.id IN (SELECT up.permission_id FROM ${q(m.userPermissionsTable)} up WHERE up.${q(m.m2mUserColumn)} = ${p(3)})`,
      'OR p.id IN (SELECT gp.permission_id FROM auth_group_permissions gp',
      `JOIN ${q(m.groupsTable)} ug ON ug.group_id = gp.group_id WHERE ug.${q(m.m2mUserColumn)} = ${p(dialect === 'postgres' ? 3 : 4)}))`,
      'LIMIT 1',
    ].join(' '),
    ping: 'SELECT 1 FROM django_session WHERE 1 = 0',
  };
}

/** Parameters for the permission query, in placeholder order. */
export function permissionParams(
  dialect: SqlDialect,
  userId: string,
  appLabel: string,
  codename: string,
): string[] {
  return dialect === 'postgres' ? [appLabel, codename, userId] : [appLabel, codename, userId, userId];
}

/** Databases return 0/1, true/false or NULL for booleans. */
export function toBoolean(value: unknown): boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return value !== 0 && value !== 0n;
  if (typeof value === 'string') return value !== '' && value !== '0';
  return Boolean(value);
}
