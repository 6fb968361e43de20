import type { Config, PolicyRule } from '../config/schema.ts';
import { FLOWER_ROUTES, type FlowerAccess } from './presets-flower-routes.ts';

/**
 * Policy presets: rules made from Flower's route table (presets-flower-routes.ts), so nobody has to
 * write path rules for Flower by hand. They come after the user's own `policy.rules` (first match
 * wins, so a user rule can open or close any path further) and before `policy.default`, which
 * answers everything a preset leaves out: new routes, other methods, Flower's 404 page.
 */
type PresetSettings = Pick<Config['policy'], 'preset' | 'operatorGroup'>;

export function presetRules(policy: PresetSettings): PolicyRule[] {
  switch (policy.preset) {
    case 'superuser-only':
      return [];
    case 'flower-read-only-staff':
      return [
        ...flowerRules(policy.preset, 'read', 'staff'),
        ...flowerRules(policy.preset, 'act', 'superuser'),
      ];
    case 'flower-operators':
      // The schema makes operatorGroup required with this preset.
      return [
        ...flowerRules(policy.preset, 'read', 'staff'),
        ...flowerRules(policy.preset, 'act', `group:${policy.operatorGroup}`),
      ];
  }
}

/** The rules the service applies, in order: the user's, then the preset's. */
export function effectiveRules(policy: Config['policy']): PolicyRule[] {
  return [...policy.rules, ...presetRules(policy)];
}

/**
 * One rule per group of methods that cover the same routes: GET and HEAD on the read views, POST on
 * the one read-only POST, POST on the actions. HEAD is a read wherever GET is (Flower answers 405).
 */
function flowerRules(
  preset: string,
  access: Exclude<FlowerAccess, 'default'>,
  require: string,
): PolicyRule[] {
  const routesByMethod = new Map<string, string[]>();
  for (const { route, methods } of FLOWER_ROUTES) {
    for (const [method, kind] of Object.entries(methods)) {
      if (kind !== access) continue;
      const also = method === 'GET' && access === 'read' ? ['GET', 'HEAD'] : [method];
      for (const m of also) {
        const routes = routesByMethod.get(m) ?? [];
        if (!routes.includes(route)) routes.push(route);
        routesByMethod.set(m, routes);
      }
    }
  }
  const groups = new Map<string, { methods: string[]; routes: string[] }>();
  for (const [method, routes] of routesByMethod) {
    const key = routes.join('\n');
    const group = groups.get(key);
    if (group) group.methods.push(method);
    else groups.set(key, { methods: [method], routes });
  }
  return [...groups.values()].map(({ methods, routes }) => ({
    name: `${preset}: ${access} ${methods.join('/')}`,
    methods,
    path: { regex: `^(?:${routes.map(nonCapturing).join('|')})$` },
    require,
  }));
}

/** Tornado's `(.+)` groups become `(?:.+)`: the same match, nothing captured. */
const nonCapturing = (route: string) => route.replace(/\((?!\?)/g, '(?:');
