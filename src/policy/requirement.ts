import type { DjangoIdentity } from '../django/verdict.ts';
import type { Reason } from '../reasons.ts';

/** Who is asking, once authenticated: a Django user, or a Kubernetes service account. */
export type Principal =
  | { readonly kind: 'django'; readonly identity: DjangoIdentity }
  | { readonly kind: 'kube'; readonly username: string; readonly groups: readonly string[] };

export type Requirement =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'staff' }
  | { readonly kind: 'superuser' }
  | { readonly kind: 'group'; readonly name: string }
  | { readonly kind: 'perm'; readonly permission: string }
  | { readonly kind: 'serviceaccount'; readonly username: string | null }
  | { readonly kind: 'kube-group'; readonly name: string };

export function parseRequirement(text: string): Requirement {
  if (text === 'public' || text === 'authenticated' || text === 'staff' || text === 'superuser')
    return { kind: text };
  if (text.startsWith('group:')) return { kind: 'group', name: text.slice('group:'.length) };
  if (text.startsWith('perm:')) return { kind: 'perm', permission: text.slice('perm:'.length) };
  if (text.startsWith('kube-group:')) return { kind: 'kube-group', name: text.slice('kube-group:'.length) };
  if (text === 'serviceaccount') return { kind: 'serviceaccount', username: null };
  if (text.startsWith('serviceaccount:')) {
    // namespace/name → the username Kubernetes gives that service account's tokens.
    const [namespace, name] = text.slice('serviceaccount:'.length).split('/');
    return { kind: 'serviceaccount', username: `system:serviceaccount:${namespace}:${name}` };
  }
  throw new Error(`unknown requirement ${text}`); // The schema rejects these before we get here.
}

export type RequirementAnswer =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: Reason };

const yes: RequirementAnswer = { allowed: true };
const no = (reason: Reason): RequirementAnswer => ({ allowed: false, reason });

/**
 * Does an authenticated principal meet the requirement? Django users must be active for anything
 * beyond `authenticated`'s own rule: Django's get_user lets inactive users through only under
 * AllowAllUsers backends, and we still refuse them. Answers without a promise unless groups or
 * permissions must be read: the common rules sit on every request's path.
 */
export function satisfies(
  requirement: Requirement,
  principal: Principal,
): RequirementAnswer | Promise<RequirementAnswer> {
  if (requirement.kind === 'public') return yes;
  if (principal.kind === 'kube') {
    switch (requirement.kind) {
      case 'serviceaccount':
        return requirement.username === null || requirement.username === principal.username
          ? yes
          : no('kube_not_allowed');
      case 'kube-group':
        return principal.groups.includes(requirement.name) ? yes : no('kube_not_allowed');
      default:
        return no('kube_not_allowed');
    }
  }
  const user = principal.identity;
  if (!user.isActive) return no('inactive');
  switch (requirement.kind) {
    case 'authenticated':
      return yes;
    case 'staff':
      return user.isStaff || user.isSuperuser ? yes : no('not_staff');
    case 'superuser':
      return user.isSuperuser ? yes : no('not_superuser');
    case 'group':
      return user.groups().then((groups) => (groups.includes(requirement.name) ? yes : no('not_in_group')));
    case 'perm':
      return user.hasPerm(requirement.permission).then((has) => (has ? yes : no('missing_permission')));
    case 'serviceaccount':
    case 'kube-group':
      return no('requires_service_account');
  }
}
