// The README's forward-auth hygiene recipes, read from the README itself (the fenced block after each
// `<!-- recipe: NAME -->` marker), so the tests run exactly what users copy.
//
//   const recipe = nginxHygieneRecipe(fg.address);   // { location, server } for startNginx's snippets

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
/** The flowergate address the README's recipes name. */
const README_FLOWERGATE = 'flowergate.flower.svc.cluster.local:4180';

/** The code of the fenced block that follows `<!-- recipe: name -->` in the README. */
export function readmeRecipe(name: string): string {
  const text = readFileSync(README, 'utf8');
  const at = text.indexOf(`<!-- recipe: ${name} -->`);
  if (at === -1) throw new Error(`README.md has no <!-- recipe: ${name} --> block`);
  const block = /```[a-z]*\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block?.[1]) throw new Error(`README.md: no fenced block after <!-- recipe: ${name} -->`);
  return block[1];
}

/** The nginx recipe with flowergate at `address` (`127.0.0.1:<port>`). */
export function nginxHygieneRecipe(address: string): { location: string; server: string } {
  return {
    location: readmeRecipe('nginx-location'),
    server: readmeRecipe('nginx-server').replaceAll(README_FLOWERGATE, address),
  };
}

/** The lines inside the README's Caddy `reverse_proxy { … }` block. */
export function caddyHygieneRecipe(): string {
  const block = readmeRecipe('caddy-reverse-proxy');
  return block.slice(block.indexOf('{') + 1, block.lastIndexOf('}')).trim();
}
