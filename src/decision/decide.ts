import type { SessionVerdict } from '../django/verdict.ts';
import type { Match } from '../policy/policy.ts';
import { type Principal, satisfies } from '../policy/requirement.ts';
import type { DecisionKind, Reason } from './labels.ts';

export interface Outcome {
  readonly decision: DecisionKind;
  readonly reason: Reason;
  readonly principal: Principal | null;
}

/**
 * The policy's answer for an authenticated principal (or none). Public paths pass anyone; no
 * principal is `unauthenticated` with the session's own reason; a principal that misses the
 * requirement is `forbidden`.
 */
export async function decide(
  principal: Principal | null,
  anonymousReason: Reason,
  match: Match,
): Promise<Outcome> {
  if (match.requirement.kind === 'public') return { decision: 'allow', reason: 'public', principal };
  if (!principal) return { decision: 'unauthenticated', reason: anonymousReason, principal };
  const answer = await satisfies(match.requirement, principal);
  return answer.allowed
    ? { decision: 'allow', reason: 'ok', principal }
    : { decision: 'forbidden', reason: answer.reason, principal };
}

export function principalOf(verdict: SessionVerdict): Principal | null {
  return verdict.kind === 'user' ? { kind: 'django', identity: verdict.identity } : null;
}
