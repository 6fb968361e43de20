import type { SessionVerdict } from '../django/verdict.ts';
import type { Match } from '../policy/policy.ts';
import { type Principal, type RequirementAnswer, satisfies } from '../policy/requirement.ts';
import type { Reason } from '../reasons.ts';
import type { DecisionKind } from './labels.ts';

export interface Outcome {
  readonly decision: DecisionKind;
  readonly reason: Reason;
  readonly principal: Principal | null;
}

/**
 * The policy's answer for an authenticated principal (or none). Public paths pass anyone; no
 * principal is `unauthenticated` with the session's own reason; a principal that misses the
 * requirement is `forbidden`. Synchronous whenever the requirement is (see `satisfies`).
 */
export function decide(
  principal: Principal | null,
  anonymousReason: Reason,
  match: Match,
): Outcome | Promise<Outcome> {
  if (match.requirement.kind === 'public') return { decision: 'allow', reason: 'public', principal };
  if (!principal) return { decision: 'unauthenticated', reason: anonymousReason, principal };
  const answer = satisfies(match.requirement, principal);
  return answer instanceof Promise
    ? answer.then((a) => outcomeOf(a, principal))
    : outcomeOf(answer, principal);
}

function outcomeOf(answer: RequirementAnswer, principal: Principal): Outcome {
  return answer.allowed
    ? { decision: 'allow', reason: 'ok', principal }
    : { decision: 'forbidden', reason: answer.reason, principal };
}

export function principalOf(verdict: SessionVerdict): Principal | null {
  return verdict.kind === 'user' ? { kind: 'django', identity: verdict.identity } : null;
}
