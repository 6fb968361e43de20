// `npm test`: lint, type check, prepare real-Django fixtures, then the ava suite.
// Each step's failure stops the run with its own exit code, so CI shows what broke.
import { spawnSync } from 'node:child_process';

const steps: [string, string, string[]][] = [
  ['lint', 'npx', ['biome', 'check', '.']],
  ['typecheck', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']],
  ['django fixtures', process.execPath, ['scripts/prepare-django-fixtures.ts']],
  ['tests', 'npx', ['ava', ...process.argv.slice(2)]],
];

for (const [name, command, args] of steps) {
  const started = performance.now();
  process.stdout.write(`\n=== ${name}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit' });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    process.stdout.write(`=== ${name} failed after ${seconds}s\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`=== ${name} passed in ${seconds}s\n`);
}
