/** One Traefik/Caddy-style forward-auth sub-request (GET /_flowergate/auth/forward); the status, or 0 when nothing answers. */
export function askForward(base: string, sessionKey?: string): Promise<number> {
  return fetch(`${base}/_flowergate/auth/forward`, {
    headers: {
      'X-Forwarded-Method': 'GET',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'flower.example.com',
      'X-Forwarded-Uri': '/',
      ...(sessionKey ? { Cookie: `sessionid=${sessionKey}` } : {}),
    },
    redirect: 'manual',
  }).then(
    (r) => r.status,
    () => 0,
  );
}
