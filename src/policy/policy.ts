import type { Config, PolicyRule } from '../config/schema.ts';
import { type NetworkSet, parseNetworks } from './networks.ts';
import { effectiveRules } from './presets.ts';
import { parseRequirement, type Requirement } from './requirement.ts';

/** The facts about the original request that rules match on. `path` is already normalised. */
export interface RequestFacts {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly client: string | null;
}

export interface Match {
  /** The rule's name, or `rule #n`, or `default`: shown on the 403 page and in whoami. */
  readonly rule: string;
  readonly requirement: Requirement;
  readonly requirementText: string;
}

export interface Policy {
  match(request: RequestFacts): Match;
}

/** Compiles the ordered rules (the user's, then the preset's) once; first match wins, then the default. */
export function createPolicy(config: Config['policy']): Policy {
  const rules = effectiveRules(config).map((rule, index) => compileRule(rule, index));
  const fallback: Match = {
    rule: 'default',
    requirement: parseRequirement(config.default),
    requirementText: config.default,
  };
  return {
    match(request) {
      for (const rule of rules) if (rule.test(request)) return rule.match;
      return fallback;
    },
  };
}

/** Problems the schema cannot see (CIDR syntax); reported at start-up with the rule's path. */
export function policyProblems(config: Config['policy']): string[] {
  const problems: string[] = [];
  config.rules.forEach((rule, index) => {
    const networks = rule.networks ? parseNetworks(rule.networks) : null;
    if (typeof networks === 'string') problems.push(`policy.rules.${index}.networks: ${networks}`);
  });
  return problems;
}

function compileRule(
  rule: PolicyRule,
  index: number,
): { test(request: RequestFacts): boolean; match: Match } {
  const methods = rule.methods ? new Set(rule.methods) : null;
  const hosts = rule.hosts?.map(hostMatcher) ?? null;
  const path = rule.path ? pathMatcher(rule.path) : null;
  const networks: NetworkSet | null = rule.networks ? (parseNetworks(rule.networks) as NetworkSet) : null;
  const match: Match = {
    rule: rule.name ?? `rule #${index + 1}`,
    requirement: parseRequirement(rule.require),
    requirementText: rule.require,
  };
  return {
    match,
    test(request) {
      if (methods && !methods.has(request.method)) return false;
      if (hosts && !hosts.some((test) => test(request.host))) return false;
      if (path && !path(request.path)) return false;
      if (networks && (request.client === null || !networks.has(request.client))) return false;
      return true;
    },
  };
}

function hostMatcher(pattern: string): (host: string) => boolean {
  const wanted = pattern.toLowerCase().replace(/\.$/, '');
  if (wanted.startsWith('*.')) {
    const suffix = wanted.slice(1);
    return (host) => hostname(host).endsWith(suffix);
  }
  return (host) => hostname(host) === wanted;
}

/**
 * The host without port or trailing dot, lower-cased. `flower.example.com.` is the same name to DNS,
 * to nginx's server_name and to ALLOWED_HOSTS: kept, it would slip past a rule naming the host.
 */
export function hostname(host: string): string {
  const lowered = host.toLowerCase();
  if (lowered.startsWith('[')) return lowered.slice(0, lowered.indexOf(']') + 1);
  const colon = lowered.lastIndexOf(':');
  const name = colon === -1 ? lowered : lowered.slice(0, colon);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function pathMatcher(path: NonNullable<PolicyRule['path']>): (value: string) => boolean {
  if ('exact' in path) return (value) => value === path.exact;
  if ('prefix' in path) {
    const prefix = path.prefix;
    // A prefix `/api` matches `/api` and `/api/…`, never `/apix`.
    const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    return (value) => value === bare || value.startsWith(bare === '' ? '/' : `${bare}/`);
  }
  const regex = new RegExp(path.regex, 'u');
  return (value) => regex.test(value);
}
