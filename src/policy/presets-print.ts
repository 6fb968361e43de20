import type { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { effectiveRules, presetRules } from './presets.ts';

/**
 * `flowergate policy print`: the rules the service applies, in order, as YAML a user can read, or
 * paste into `policy.rules` (with `preset: superuser-only`) to pin and edit them.
 */
export function printPolicy(policy: Config['policy']): string {
  const header = [
    '# flowergate policy: the first rule that matches method, host, path and network decides;',
    "# when none matches, policy.default does. Paths are Flower's own (after FLOWERGATE_URL_PREFIX).",
    `# ${policy.rules.length} rule(s) from policy.rules, then ${presetRules(policy).length} from preset ${policy.preset}.`,
    '# To pin and edit these, paste the rules into policy.rules and set policy.preset: superuser-only.',
  ];
  const body = stringify(
    { policy: { default: policy.default, rules: effectiveRules(policy) } },
    { lineWidth: 0 },
  );
  return `${header.join('\n')}\n${body}`;
}

export interface PolicyPrintOptions {
  readonly config?: string | undefined;
  /** Shows this preset instead of the configured one. */
  readonly preset?: string | undefined;
  readonly operatorGroup?: string | undefined;
}

const SECRET = 'FLOWERGATE_DJANGO_SECRET_KEY';

/** Loads the configuration as `serve` does and prints its policy. Exit 0, or 2 on a configuration error. */
export function runPolicyPrint(
  options: PolicyPrintOptions,
  io: { env: Readonly<Record<string, string | undefined>>; stdout: Writable; stderr: Writable },
): number {
  // Printing rules needs no secret; a stand-in keeps the one validation path without asking for it.
  const hasSecret = io.env[SECRET] !== undefined || io.env[`${SECRET}_FILE`] !== undefined;
  const env = {
    ...io.env,
    ...(hasSecret ? {} : { [SECRET]: 'not-used-by-policy-print' }),
    ...(options.preset === undefined ? {} : { FLOWERGATE_POLICY_PRESET: options.preset }),
    ...(options.operatorGroup === undefined
      ? {}
      : { FLOWERGATE_POLICY_OPERATOR_GROUP: options.operatorGroup }),
  };
  try {
    io.stdout.write(printPolicy(loadConfig({ file: options.config, env }).policy));
    return 0;
  } catch (error) {
    io.stderr.write(`flowergate policy print: ${(error as Error).message}\n`);
    return 2;
  }
}
