import type { Reason } from '../reasons.ts';

/** Who the user is according to Django, plus lazily loaded facts for the policy. */
export interface DjangoIdentity {
  readonly userId: string;
  readonly username: string;
  readonly email: string;
  readonly isSuperuser: boolean;
  readonly isStaff: boolean;
  /** `is_active` as Django reads it; a missing column counts as active. */
  readonly isActive: boolean;
  /** The session's hash matched only a SECRET_KEY_FALLBACKS entry; Django will cycle the session. */
  readonly viaFallbackKey: boolean;
  groups(): Promise<readonly string[]>;
  /** `user.has_perm('app_label.codename')`: active superusers pass all; inactive users none. */
  hasPerm(permission: string): Promise<boolean>;
}

/** The answer to "who is this according to Django". Expected outcomes are values, never errors. */
export type SessionVerdict =
  | { readonly kind: 'user'; readonly identity: DjangoIdentity }
  | {
      readonly kind: 'anonymous';
      readonly reason: AnonymousReason;
      /**
       * The user the session names, when Django found them but will not log them in (`inactive`,
       * `hash_mismatch`): for the audit log only, never an identity to decide on.
       */
      readonly username?: string;
    };

export type AnonymousReason = Extract<
  Reason,
  | 'no_cookie'
  | 'invalid_session_key'
  | 'bad_signature'
  | 'expired'
  | 'no_session'
  | 'bad_payload'
  | 'not_logged_in'
  | 'bad_user_id'
  | 'no_backend'
  | 'backend_not_allowed'
  | 'unknown_user'
  | 'inactive'
  | 'hash_mismatch'
>;
