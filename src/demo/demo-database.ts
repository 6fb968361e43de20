import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { sessionAuthHash } from '../django/auth-hash.ts';
import { formatDjangoDatetime, nowMicros } from '../django/instant.ts';
import { signObject } from '../django/signing.ts';

/** Django's schema, captured from a real `migrate` (see the file's header). */
const SCHEMA = new URL('../../fixtures/django-schema.sqlite.sql', import.meta.url);
const KEY_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface DemoUser {
  readonly username: string;
  readonly isSuperuser: boolean;
  readonly isStaff: boolean;
}

/** Django's `get_random_string`: 32 characters from [a-z0-9], as session keys are made. */
export function randomSessionKey(): string {
  const bytes = randomBytes(32);
  return Array.from(bytes, (b) => KEY_CHARS[b % KEY_CHARS.length]).join('');
}

/** A `pbkdf2_sha256$…` hash exactly as Django 5.2's default hasher writes it. */
export function djangoPasswordHash(password: string, iterations = 1_000_000): string {
  const salt = randomBytes(16)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 22);
  const hash = pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('base64');
  return `pbkdf2_sha256$${iterations}$${salt}$${hash}`;
}

/** The `session_data` Django's db engine stores after `login()`: signed, compressed JSON. */
export function djangoSessionData(
  secretKey: string,
  userId: string,
  password: string,
  at = nowMicros(),
): string {
  const session = {
    _auth_user_id: userId,
    _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
    _auth_user_hash: sessionAuthHash(secretKey, password),
  };
  return signObject(JSON.stringify(session), {
    salt: 'django.contrib.sessions.SessionStore',
    secret: secretKey,
    timestamp: Math.floor(at / 1_000_000),
    compress: true,
  });
}

/**
 * Creates a SQLite database with Django's schema, the given users (with random passwords) and one
 * logged-in session per user; returns each user's session key.
 */
export function createDemoDatabase(
  path: string,
  secretKey: string,
  users: readonly DemoUser[],
  iterations?: number,
): Map<string, string> {
  const db = new DatabaseSync(path);
  try {
    db.exec(readFileSync(SCHEMA, 'utf8'));
    const now = nowMicros();
    const joined = formatDjangoDatetime(now, null);
    const expires = formatDjangoDatetime(now + 1_209_600 * 1_000_000, null);
    const insertUser = db.prepare(
      `INSERT INTO auth_user (password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
       VALUES (?, NULL, ?, ?, '', '', ?, ?, 1, ?)`,
    );
    const insertSession = db.prepare(
      'INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?, ?, ?)',
    );
    const keys = new Map<string, string>();
    for (const user of users) {
      const password = djangoPasswordHash(randomBytes(12).toString('base64url'), iterations);
      const { lastInsertRowid } = insertUser.run(
        password,
        user.isSuperuser ? 1 : 0,
        user.username,
        `${user.username}@example.com`,
        user.isStaff ? 1 : 0,
        joined,
      );
      const key = randomSessionKey();
      insertSession.run(key, djangoSessionData(secretKey, String(lastInsertRowid), password, now), expires);
      keys.set(user.username, key);
    }
    return keys;
  } finally {
    db.close();
  }
}
