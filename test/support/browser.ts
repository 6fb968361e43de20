// Headless Debian Chromium through playwright-core, with a fresh profile dir that close() removes.
//
//   const { page, close } = await launchBrowser({ t });
//   await page.goto(`${flower.base}/`);
//
// Flags as research/tooling.md §7 tested them. Chromium prints harmless noise on stderr ("Failed to connect to
// the bus", "/usr/bin/chromium: 9: [: ...: unexpected operator" from /etc/chromium.d/dev-shm).

import { existsSync } from 'node:fs';
import type { BrowserContext, BrowserType, LaunchOptions, Page } from 'playwright-core';
import { MissingToolError, makeTempDir, removeDir, type Teardown } from './processes.ts';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Throws MissingToolError unless /usr/bin/chromium and the playwright-core package are there. */
export function assertChromium(): string {
  if (!existsSync(CHROMIUM)) throw new MissingToolError(CHROMIUM, 'chromium');
  try {
    import.meta.resolve('playwright-core');
  } catch {
    throw new MissingToolError('playwright-core', 'chromium', 'the npm package is missing: run npm ci');
  }
  return CHROMIUM;
}

export interface BrowserOptions {
  /** Added after CHROMIUM_ARGS. */
  extraArgs?: string[];
  /** Other Playwright launchPersistentContext options (viewport, extraHTTPHeaders, ...). */
  contextOptions?: Omit<NonNullable<Parameters<BrowserType['launchPersistentContext']>[1]>, 'args'>;
  /** Launch timeout, default 30 s. */
  timeoutMs?: number;
  /** ava's `t`: registers close() with t.teardown. */
  t?: Teardown;
}

export interface Browser {
  context: BrowserContext;
  /** The context's first page. */
  page: Page;
  profileDir: string;
  /** Closes the browser and removes the profile dir; idempotent. */
  close(): Promise<void>;
}

export async function launchBrowser(options: BrowserOptions = {}): Promise<Browser> {
  const executablePath = assertChromium();
  const { chromium } = await import('playwright-core');
  const profileDir = makeTempDir('chromium');
  let context: BrowserContext;
  try {
    const launch: LaunchOptions = {
      executablePath,
      headless: true,
      timeout: options.timeoutMs ?? 30_000,
    };
    context = await chromium.launchPersistentContext(profileDir, {
      ...options.contextOptions,
      ...launch,
      args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])],
    });
  } catch (e) {
    removeDir(profileDir);
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= context
      .close()
      .catch(() => undefined)
      .finally(() => removeDir(profileDir));
    return closing;
  };
  options.t?.teardown(close);
  return { context, page, profileDir, close };
}
