import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { FlowergateError } from '../errors.ts';
import { ENV_PREFIX, type EnvKey, envKeys, parseEnvValue } from './env.ts';
import { type Config, configSchema } from './schema.ts';

export interface LoadConfigOptions {
  /** Path of a YAML or JSON file; FLOWERGATE_CONFIG when absent. */
  readonly file?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads `--config` and `…_FILE` files; injectable for tests. */
  readonly readFile?: (path: string) => string;
}

const KEYS: readonly EnvKey[] = envKeys(configSchema);
/**
 * Kubernetes injects `<SERVICE>_SERVICE_HOST`, `<SERVICE>_PORT_4180_TCP…` for every Service in the
 * namespace (service links); a Service named flowergate-… would otherwise make start-up fail.
 */
const SERVICE_LINK =
  /^FLOWERGATE(_[A-Z0-9_]+)?_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/;
const KNOWN = new Set(KEYS.flatMap((key) => [key.name, `${key.name}_FILE`]).concat([`${ENV_PREFIX}CONFIG`]));

/** All environment variables flowergate understands, for documentation and `--help`. */
export function configEnvironmentVariables(): readonly EnvKey[] {
  return KEYS;
}

/**
 * Loads configuration once at start-up: file, then environment (and `_FILE` secrets) on top, then
 * one validation. Every problem is reported at once, each with its path and what to do.
 */
export function loadConfig(options: LoadConfigOptions): Config {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const problems: string[] = [];
  const file = options.file ?? options.env[`${ENV_PREFIX}CONFIG`];
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFile(file);
    } catch (error) {
      throw new FlowergateError(
        'CONFIG_FILE_UNREADABLE',
        `cannot read configuration file ${file}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    try {
      const parsed: unknown = parseYaml(text); // YAML is a superset of JSON.
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== 'object' || Array.isArray(parsed))
          problems.push(`${file}: must hold a mapping of settings`);
        else raw = parsed as Record<string, unknown>;
      }
    } catch (error) {
      problems.push(`${file}: not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
    }
  }

  for (const name of Object.keys(options.env)) {
    if (name.startsWith(ENV_PREFIX) && !KNOWN.has(name) && !SERVICE_LINK.test(name)) {
      problems.push(`${name}: unknown setting${suggest(name)}`);
    }
  }
  for (const key of KEYS) {
    const direct = options.env[key.name];
    const fromFile = options.env[`${key.name}_FILE`];
    if (direct !== undefined && fromFile !== undefined) {
      problems.push(`${key.name}: set either ${key.name} or ${key.name}_FILE, not both`);
      continue;
    }
    let text = direct;
    if (fromFile !== undefined) {
      try {
        text = readFile(fromFile).replace(/\r?\n$/, '');
      } catch (error) {
        problems.push(
          `${key.name}_FILE: cannot read ${fromFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        );
        continue;
      }
    }
    if (text === undefined) continue;
    const parsed = parseEnvValue(key, text);
    if ('error' in parsed) problems.push(parsed.error);
    else setPath(raw, key.path, parsed.value);
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) problems.push(...result.error.issues.map(describeIssue));
  if (problems.length > 0 || !result.success) {
    throw new FlowergateError(
      'CONFIG_INVALID',
      `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      {
        status: 500,
      },
    );
  }
  return deepFreeze(result.data);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  const key = KEYS.find((k) => k.path.join('.') === path.join('.'));
  const where = path.length ? path.join('.') : '(root)';
  const env = key ? ` (${key.name})` : '';
  if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against the README's configuration table`;
  }
  return `${where}${env}: ${issue.message}`;
}

function suggest(name: string): string {
  let best: string | undefined;
  let bestDistance = 4;
  for (const known of KNOWN) {
    const distance = levenshtein(name, known);
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best ? `; did you mean ${best}?` : '; see the README for the list of FLOWERGATE_* settings';
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
