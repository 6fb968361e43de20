import type { V1TokenReviewStatus } from '@kubernetes/client-node';
import type { KubeReviewClient } from './kube-client.ts';

/** Who a bearer token belongs to, as the API server says (`status.user` of a TokenReview). */
export interface KubeUser {
  readonly username: string;
  readonly uid: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

/** Authenticates a bearer token with a TokenReview: the user, or null when the token is not valid here. */
export type TokenReviewer = (token: string) => Promise<KubeUser | null>;

export function createTokenReviewer(deps: {
  client: Pick<KubeReviewClient, 'reviewToken'>;
  audiences: readonly string[];
}): TokenReviewer {
  const audiences = [...deps.audiences];
  return async (token) => {
    const status = await deps.client.reviewToken(audiences.length > 0 ? { token, audiences } : { token });
    return userFromStatus(status, audiences);
  };
}

/**
 * Reads a TokenReview status, failing closed: not authenticated, no username, or (when we asked for
 * audiences) no overlap between `status.audiences` and ours all mean "not this token". The apiserver
 * rejects a mismatch itself; checking again guards against an authenticator webhook that ignores
 * `spec.audiences`. Unlike client-go's webhook authenticator we read an absent `status.audiences` as
 * no overlap: a current API server always fills it in when audiences were asked for.
 */
export function userFromStatus(status: V1TokenReviewStatus, audiences: readonly string[]): KubeUser | null {
  if (status.authenticated !== true) return null;
  const granted = Array.isArray(status.audiences) ? status.audiences : [];
  if (audiences.length > 0 && !granted.some((a) => audiences.includes(a))) return null;
  const user = status.user;
  if (!user || typeof user.username !== 'string' || user.username === '') return null;
  return {
    username: user.username,
    uid: typeof user.uid === 'string' ? user.uid : '',
    groups: Array.isArray(user.groups) ? user.groups.filter((g) => typeof g === 'string') : [],
    extra: cleanExtra(user.extra),
  };
}

function cleanExtra(extra: unknown): Record<string, string[]> {
  const clean: Record<string, string[]> = {};
  if (typeof extra !== 'object' || extra === null) return clean;
  for (const [key, values] of Object.entries(extra)) {
    // A JSON key "__proto__" would replace the prototype on assignment.
    if (key === '__proto__') continue;
    if (Array.isArray(values)) clean[key] = values.filter((v): v is string => typeof v === 'string');
  }
  return clean;
}
