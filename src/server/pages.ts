/** Small, self-contained HTML pages for browsers; every interpolated value is escaped. */

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px}</style></head>
<body>${body}</body></html>\n`;
}

/** Ways out of a refusal: sign in as someone else (back to the same page), or log out of Django. */
export interface RefusalLinks {
  readonly signIn: string | null;
  readonly logout: string | null;
}

export function forbiddenPage(
  user: string,
  rule: string,
  requirement: string,
  reason: string,
  links: RefusalLinks = { signIn: null, logout: null },
): string {
  const ways = [
    links.signIn ? `<a href="${escapeHtml(links.signIn)}">Sign in as another user</a>` : null,
    links.logout ? `<a href="${escapeHtml(links.logout)}">Log out</a>` : null,
  ].filter((way) => way !== null);
  return page(
    'Forbidden',
    `<h1>403 Forbidden</h1><p>You are signed in as <strong>${escapeHtml(user)}</strong>, but this page needs
<code>${escapeHtml(requirement)}</code> (rule <code>${escapeHtml(rule)}</code>; reason <code>${escapeHtml(reason)}</code>).</p>
<p>Ask an administrator for access${ways.length ? '.' : ', or sign in as another user.'}</p>${ways.length ? `\n<p>${ways.join(' · ')}</p>` : ''}`,
  );
}

export function signInPage(loginUrl: string | null): string {
  return page(
    'Sign in required',
    loginUrl
      ? `<h1>401 Sign in required</h1><p><a href="${escapeHtml(loginUrl)}">Sign in</a> with your Django account, then come back.</p>`
      : '<h1>401 Sign in required</h1><p>Sign in to the Django site first, then come back.</p>',
  );
}

export function errorPage(status: number, title: string, detail: string): string {
  return page(title, `<h1>${status} ${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p>`);
}
