import { readFileSync } from 'node:fs';

/** flowergate's version, from package.json, read once when the module loads. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
