import { DatabaseSync } from 'node:sqlite';
import { auditLines, djangoTool, request, startDjangoSite, startFlowergate } from '../support/e2e.ts';
import { toolTest } from '../support/require-tool.ts';

// A session Django refuses because its user was deactivated, or changed their password, still names a user
// Django found: the audit line says who, so an operator can tell a leaver's stale tab from a forged cookie.

const maybe = await toolTest(djangoTool());

maybe(
  'audit lines for inactive and hash_mismatch name the user; a cookie naming nobody stays null',
  async (t) => {
    const users = [
      { username: 'leaver', password: 'leaver-pass-9x', is_staff: true, is_superuser: true },
      { username: 'changer', password: 'changer-pass-4y', is_staff: true, is_superuser: true },
    ];
    const site = await startDjangoSite({ users, t });
    const fg = await startFlowergate({ site, configFile: null, t });
    const cookies = {
      root: await site.cookie('root'),
      leaver: await site.cookie('leaver'),
      changer: await site.cookie('changer'),
      forged: 'sessionid=abcdefghijklmnopqrstuvwxyz012345',
    };
    // What a Django admin does: deactivate one account, set another's password (Django's hash is irrelevant:
    // any change to the column makes the session's _auth_user_hash stale).
    const db = new DatabaseSync(site.dbPath);
    db.prepare("UPDATE auth_user SET is_active = 0 WHERE username = 'leaver'").run();
    db.prepare("UPDATE auth_user SET password = 'md5$new$0123' WHERE username = 'changer'").run();
    db.close();

    for (const [name, cookie] of Object.entries(cookies)) {
      const res = await request(`${fg.url}/_flowergate/auth/forward`, {
        headers: {
          cookie,
          'x-forwarded-method': 'GET',
          'x-forwarded-host': 'flower.example.com',
          'x-forwarded-uri': '/tasks',
        },
      });
      t.is(res.status, name === 'root' ? 200 : 401, name);
    }
    // One line per request, in order (the audit path leaves the query out).
    t.deepEqual(
      auditLines(fg).map((line) => [line.user, line.reason]),
      [
        ['root', 'ok'],
        ['leaver', 'inactive'],
        ['changer', 'hash_mismatch'],
        [null, 'no_session'],
      ],
    );
  },
);
