#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { runCheck } from './check/check-command.ts';
import { runPolicyPrint } from './policy/presets-print.ts';

const USAGE = `usage:
  flowergate [serve] [--config FILE]
  flowergate check [--config FILE] [--at ISO-8601] [--method M] [--path P] [--host H] [--scheme https]
                   [--origin O] [--referer R] [--cookie-header H]...
      Explains verdicts without a server; Cookie headers from --cookie-header or one per line on stdin.
      An unsafe method (POST…) also faces the CSRF guard: give --host and --origin (or --referer) as the browser would.
      Exit 0 when every line is allowed, 1 when any is denied, 2 on a configuration error.
  flowergate policy print [--config FILE] [--preset NAME] [--operator-group G]
      Prints the rules in the order they apply (policy.rules, then the preset's) as YAML.
      Presets: superuser-only (default), flower-read-only-staff, flower-operators (needs --operator-group).
Configuration: FLOWERGATE_* environment variables or a YAML/JSON file (--config or FLOWERGATE_CONFIG); see README.md.`;

async function main(argv: string[]): Promise<number> {
  const [first] = argv;
  const command = first && !first.startsWith('-') ? first : 'serve';
  const rest = command === first ? argv.slice(1) : argv;
  if (command === 'help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    if (command === 'check') {
      const { values } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string' },
          at: { type: 'string' },
          method: { type: 'string' },
          path: { type: 'string' },
          host: { type: 'string' },
          scheme: { type: 'string' },
          origin: { type: 'string' },
          referer: { type: 'string' },
          'cookie-header': { type: 'string', multiple: true },
        },
        strict: true,
      });
      return await runCheck(
        { ...values, cookieHeaders: values['cookie-header'] ?? [] },
        { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
      );
    }
    if (command === 'policy') {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string' },
          preset: { type: 'string' },
          'operator-group': { type: 'string' },
        },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.join(' ') !== 'print') {
        process.stderr.write(`flowergate: usage: flowergate policy print [options]\n${USAGE}\n`);
        return 2;
      }
      return runPolicyPrint(
        { ...values, operatorGroup: values['operator-group'] },
        { env: process.env, stdout: process.stdout, stderr: process.stderr },
      );
    }
    if (command === 'serve') {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string' } }, strict: true });
      const { serve } = await import('./serve.ts');
      return await serve({ configFile: values.config, env: process.env });
    }
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`flowergate: ${(error as Error).message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  process.stderr.write(`flowergate: unknown command "${command}"\n${USAGE}\n`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
