import type { z } from 'zod';

/** How an environment variable's text becomes a configuration value. */
export type EnvKind = 'string' | 'number' | 'boolean' | 'list' | 'json';

export interface EnvKey {
  readonly name: string;
  readonly path: readonly string[];
  readonly kind: EnvKind;
}

export const ENV_PREFIX = 'FLOWERGATE_';

type AnyDef = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
};

const defOf = (schema: z.ZodType): AnyDef => (schema as unknown as { _zod: { def: AnyDef } })._zod.def;

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (
      def.innerType &&
      ['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch'].includes(def.type)
    ) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else {
      return current;
    }
  }
}

const snake = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

function kindOf(schema: z.ZodType): EnvKind {
  const def = defOf(schema);
  if (def.type === 'number') return 'number';
  if (def.type === 'boolean') return 'boolean';
  if (def.type === 'array' && def.element && ['string', 'enum'].includes(defOf(unwrap(def.element)).type)) {
    return 'list';
  }
  if (['string', 'enum', 'literal'].includes(def.type)) return 'string';
  return 'json';
}

/** Every configuration leaf and its environment variable, derived from the schema so they never drift. */
export function envKeys(schema: z.ZodType, path: string[] = []): EnvKey[] {
  const inner = unwrap(schema);
  const def = defOf(inner);
  const nullableObject = path.length > 0 && def.type === 'object' && isNullable(schema);
  if (def.type === 'object' && def.shape && !nullableObject) {
    return Object.entries(def.shape).flatMap(([key, child]) => envKeys(child, [...path, key]));
  }
  return [{ name: ENV_PREFIX + path.map(snake).join('_'), path, kind: kindOf(inner) }];
}

function isNullable(schema: z.ZodType): boolean {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (def.type === 'nullable') return true;
    if (!def.innerType) return false;
    current = def.innerType;
  }
}

/** Converts one variable's text; returns an error message instead of throwing. */
export function parseEnvValue(key: EnvKey, text: string): { value: unknown } | { error: string } {
  switch (key.kind) {
    case 'string':
      return { value: text };
    case 'number': {
      const value = Number(text.trim());
      return text.trim() !== '' && Number.isFinite(value)
        ? { value }
        : { error: `${key.name} must be a number, got "${text}"` };
    }
    case 'boolean': {
      const lowered = text.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lowered)) return { value: true };
      if (['false', '0', 'no', 'off'].includes(lowered)) return { value: false };
      return { error: `${key.name} must be true or false, got "${text}"` };
    }
    case 'list':
      return {
        value: text
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== ''),
      };
    case 'json':
      if (text.trim() === 'null') return { value: null };
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { error: `${key.name} must be JSON` };
      }
  }
}
