import type { DjangoConfig } from '../config/schema.ts';
import { createAuthHashChecker } from './auth-hash.ts';
import type { DjangoDatabase, UserRecord } from './database/store.ts';
import type { SessionData } from './session-codec.ts';
import { parseUserKey } from './user-key.ts';
import type { DjangoIdentity, SessionVerdict } from './verdict.ts';

const ALLOW_ALL_BUILTINS = [
  'django.contrib.auth.backends.AllowAllUsersModelBackend',
  'django.contrib.auth.backends.AllowAllUsersRemoteUserBackend',
];

/**
 * `django.contrib.auth.get_user` for a loaded session, read-only: Django's side effects (flush on a
 * bad hash, cycle_key on a fallback hash) happen on the user's next Django request instead.
 */
export function createGetUser(
  config: DjangoConfig,
  database: DjangoDatabase,
): (session: SessionData) => Promise<SessionVerdict> {
  const checkHash = createAuthHashChecker(config);
  const backends = new Set(config.authenticationBackends);
  const allowAll = new Set([...ALLOW_ALL_BUILTINS, ...config.allowAllUsersBackends]);
  const { pkType } = config.userModel;
  const hasIsActive = config.userModel.isActiveColumn !== null;

  return async (session) => {
    if (!Object.hasOwn(session, '_auth_user_id')) return { kind: 'anonymous', reason: 'not_logged_in' };
    // to_python runs before the backend is read; Django's ValidationError escapes get_user (a 500).
    const key = parseUserKey(session['_auth_user_id'], pkType, database.kind);
    if (key === 'invalid') return { kind: 'anonymous', reason: 'bad_user_id' };
    if (!Object.hasOwn(session, '_auth_user_backend')) return { kind: 'anonymous', reason: 'no_backend' };
    const backend = session['_auth_user_backend'];
    if (typeof backend !== 'string' || !backends.has(backend))
      return { kind: 'anonymous', reason: 'backend_not_allowed' };
    if (key === null) return { kind: 'anonymous', reason: 'unknown_user' };

    const user = await database.findUser(key);
    if (!user) return { kind: 'anonymous', reason: 'unknown_user' };
    if (!allowAll.has(backend) && !canAuthenticate(user, hasIsActive, config.version.inactiveNoneAllowed)) {
      return { kind: 'anonymous', reason: 'inactive', username: user.username };
    }
    const hash = checkHash(session['_auth_user_hash'], user.password);
    if (hash === 'mismatch') return { kind: 'anonymous', reason: 'hash_mismatch', username: user.username };
    return { kind: 'user', identity: identityOf(user, hasIsActive, pkType, database, hash === 'fallback') };
  };
}

/** `ModelBackend.user_can_authenticate`: 3.2 lets a NULL is_active through, 4.0+ does not. */
function canAuthenticate(user: UserRecord, hasIsActive: boolean, noneAllowed: boolean): boolean {
  if (!hasIsActive) return true;
  if (user.isActive === null) return noneAllowed;
  return user.isActive;
}

function identityOf(
  user: UserRecord,
  hasIsActive: boolean,
  pkType: DjangoConfig['userModel']['pkType'],
  database: DjangoDatabase,
  viaFallbackKey: boolean,
): DjangoIdentity {
  // AbstractBaseUser.is_active is True when the model has no such field.
  const isActive = hasIsActive ? user.isActive === true : true;
  const userId = pkType === 'uuid' ? dashedUuid(user.id) : user.id;
  let groups: Promise<readonly string[]> | undefined;
  const perms = new Map<string, Promise<boolean>>();
  return {
    userId,
    username: user.username,
    email: user.email,
    isSuperuser: user.isSuperuser,
    isStaff: user.isStaff,
    isActive,
    viaFallbackKey,
    groups() {
      groups ??= database.groupNames(user.id);
      return groups;
    },
    hasPerm(permission) {
      // PermissionsMixin.has_perm: active superusers have every permission; ModelBackend gives
      // inactive users none.
      if (!isActive) return Promise.resolve(false);
      if (user.isSuperuser) return Promise.resolve(true);
      const dot = permission.indexOf('.');
      if (dot <= 0) return Promise.resolve(false);
      let answer = perms.get(permission);
      if (!answer) {
        answer = database.hasPermission(user.id, permission.slice(0, dot), permission.slice(dot + 1));
        perms.set(permission, answer);
      }
      return answer;
    },
  };
}

function dashedUuid(value: string): string {
  const hex = value.replaceAll('-', '').toLowerCase();
  return hex.length === 32
    ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    : value;
}
