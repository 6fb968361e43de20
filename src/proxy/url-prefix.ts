/**
 * Flower mounts everything under `--url_prefix` and answers the bare prefix with a 404 (research
 * flower.md §5). We redirect `/flower` to `/flower/` (301; 308 keeps a non-GET method), and the site
 * root to the dashboard (302, as the root may serve something else one day). The Location is a
 * path, so it stays on whatever host and scheme the browser used. Everything else passes unchanged.
 */
export function prefixRedirect(
  prefix: string,
  method: string,
  url: string,
): { status: number; location: string } | null {
  if (prefix === '') return null;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  const safe = method === 'GET' || method === 'HEAD';
  if (path === prefix) return { status: safe ? 301 : 308, location: `${prefix}/${query}` };
  if (path === '/') return { status: safe ? 302 : 307, location: `${prefix}/${query}` };
  return null;
}
