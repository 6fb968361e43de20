// Tests that need an external tool (nginx, Caddy, Tornado, Chromium, ...):
//
//   const maybe = await toolTest('nginx', 'tornado');
//   maybe('nginx forwards the identity headers', async (t) => { ... });
//
// Tool present: `maybe` is ava's `test`. Tool missing: outside CI it is `test.skip` and one loud line goes to
// stderr, `SKIPPED: <why> — install with: apt-get install -y <package>`; with CI=true every such test is
// registered and fails with that message, so a CI machine without the tool can never look green.

import test, { type ExecutionContext } from 'ava';
import { MissingToolError, requireBinary } from './processes.ts';

/** Tools the support helpers know how to check. */
export const KNOWN_TOOLS = {
  nginx: async () => (await import('./nginx.ts')).assertNginx(),
  /** nginx plus set_escape_uri, needed by startNginx({ signinUrl }) */
  'nginx-set-misc': async () => (await import('./nginx.ts')).assertNginxSetMisc(),
  caddy: async () => (await import('./caddy.ts')).assertCaddy(),
  tornado: async () => (await import('./flower-upstream.ts')).assertTornado(),
  chromium: async () => (await import('./browser.ts')).assertChromium(),
  prometheus: () => requireBinary('prometheus', 'prometheus'),
  promtool: () => requireBinary('promtool', 'prometheus'),
} satisfies Record<string, () => unknown>;

export type KnownTool = keyof typeof KNOWN_TOOLS;

export interface ToolStatus {
  name: string;
  available: boolean;
  /** Why it is unavailable, with the install hint. */
  why?: string;
}

const reported = new Set<string>();

/**
 * Runs `check` (which throws when the tool is missing) and reports; prints the SKIPPED line outside CI unless
 * `silent`.
 */
export async function requireTool(
  name: string,
  check: () => unknown,
  options: { silent?: boolean } = {},
): Promise<ToolStatus> {
  try {
    await check();
    return { name, available: true };
  } catch (e) {
    const why =
      e instanceof MissingToolError
        ? e.message
        : `${name} is not usable: ${e instanceof Error ? e.message : e}`;
    if (process.env.CI !== 'true' && !options.silent && !reported.has(why)) {
      reported.add(why);
      process.stderr.write(`\nSKIPPED: ${why}\n`);
    }
    return { name, available: false, why };
  }
}

export type MaybeTest = {
  (title: string, implementation: (t: ExecutionContext) => PromiseLike<void> | void): void;
  serial(title: string, implementation: (t: ExecutionContext) => PromiseLike<void> | void): void;
  /** Whether the tests will really run. */
  readonly available: boolean;
};

/** ava's `test` when every tool is there; otherwise skipping (or, with CI=true, failing) stand-ins. */
export async function toolTest(
  ...tools: Array<KnownTool | { name: string; check: () => unknown }>
): Promise<MaybeTest> {
  const statuses = await Promise.all(
    tools.map((tool) =>
      typeof tool === 'string' ? requireTool(tool, KNOWN_TOOLS[tool]) : requireTool(tool.name, tool.check),
    ),
  );
  const missing = statuses.filter((s) => !s.available).map((s) => s.why);
  if (missing.length === 0) {
    return Object.assign(
      (title: string, impl: (t: ExecutionContext) => PromiseLike<void> | void) => test(title, impl),
      {
        serial: (title: string, impl: (t: ExecutionContext) => PromiseLike<void> | void) =>
          test.serial(title, impl),
        available: true,
      },
    );
  }
  const message = missing.join('\n');
  if (process.env.CI === 'true') {
    const failing = (title: string) =>
      test(title, (t) => {
        t.fail(`CI=true and a required tool is missing:\n${message}`);
      });
    return Object.assign(failing, { serial: failing, available: false });
  }
  const skipping = (title: string) => test.skip(`${title} (SKIPPED: ${message})`, () => {});
  return Object.assign(skipping, { serial: skipping, available: false });
}
