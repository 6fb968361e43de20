/**
 * The Cookie header without the named cookies, or undefined when nothing is left. Chunks are split
 * and named exactly as Django's `parse_cookie` (and Tornado's copy of it) read them: split on `;`,
 * the name is what precedes the first `=` with whitespace stripped. So ` sessionid =x` or a repeated
 * `sessionid` cannot slip through under a spelling the upstream would still read as the session.
 */
export function withoutCookies(header: string | undefined, names: ReadonlySet<string>): string | undefined {
  if (header === undefined || names.size === 0) return header || undefined;
  const kept: string[] = [];
  for (const chunk of header.split(';')) {
    const trimmed = chunk.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const name = eq === -1 ? '' : trimmed.slice(0, eq).trim();
    if (!names.has(name)) kept.push(trimmed);
  }
  return kept.length ? kept.join('; ') : undefined;
}
