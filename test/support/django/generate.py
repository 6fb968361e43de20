#!/usr/bin/python3
"""Golden test data for flowergate, produced by real Django.

    PYTHONPATH=<django series> /usr/bin/python3 test/support/django/generate.py \
        --out DIR --database sqlite|postgres|mysql

Creates a fresh database (Django's own `migrate`), users, and sessions through Django's real
code paths (`django.contrib.auth.login()` behind SessionMiddleware, `SessionStore.save()`,
`django.core.signing`), for the session engines db, cached_db, signed_cookies and file. Then, for
every case, asks Django itself who the user is: a request with the case's Cookie header goes
through SessionMiddleware + AuthenticationMiddleware and `request.user` is read, with time frozen
at the case's instant and with every session side effect (flush, cycle_key, save, delete, create)
disabled, so that evaluating one case cannot change the data another case sees. The database and
session files stay in place for the TypeScript conformance tests; DIR/cases.json holds the cases.

Nothing here decides an outcome: cases only say how a cookie was made; `django` in each case is
what Django answered.
"""

import argparse
import base64
import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import string
import sys
import time
import types
import warnings
from importlib import import_module
from urllib.parse import urlsplit

sys.dont_write_bytecode = True  # keep __pycache__ out of the repository
HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.join(HERE, "project")
sys.path.insert(0, PROJECT)

import django  # noqa: E402  (after sys.path; PYTHONPATH selects the series)

SERIES = "%d.%d" % django.VERSION[:2]
V = django.VERSION[:2]

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
ALLOW_ALL_BACKEND = "django.contrib.auth.backends.AllowAllUsersModelBackend"
PERMS = ["flowerperms.can_act", "auth.view_user", "flowerperms.no_such_perm"]
DEFAULT_AGE = 1209600
KEY_CHARS = string.ascii_lowercase + string.digits
DB_SALT = "django.contrib.sessions.SessionStore"
COOKIE_SALT = "django.contrib.sessions.backends.signed_cookies"
US = 1_000_000  # microseconds per second; all instants are int microseconds since the epoch
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def log(*args):
    print("generate.py:", *args, file=sys.stderr, flush=True)


def iso(us):
    return (EPOCH + dt.timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def random_key(n=32):
    return "".join(secrets.choice(KEY_CHARS) for _ in range(n))


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b62(n):
    chars = string.digits + string.ascii_uppercase + string.ascii_lowercase
    if n == 0:
        return "0"
    sign, n = ("-", -n) if n < 0 else ("", n)
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = chars[r] + out
    return sign + out


def flip(s, i):
    """Change exactly one character of s."""
    c = s[i]
    return s[:i] + ("A" if c != "A" else "B") + s[i + 1 :]


# --------------------------------------------------------------------------------------------
# Frozen clock: django.core.signing and the session middleware use time.time(); everything
# else on the session/auth path uses django.utils.timezone.now(). Both are replaced for the
# whole run, so every session is made, and every verdict taken, at an instant we choose.


class Clock:
    us = None

    def time(self):
        return self.us / US

    def now(self):
        return EPOCH + dt.timedelta(microseconds=self.us)


CLOCK = Clock()


def freeze_time():
    from django.contrib.sessions import middleware as session_middleware
    from django.core import signing
    from django.utils import timezone

    fake_time = types.SimpleNamespace(time=CLOCK.time)
    signing.time = fake_time
    session_middleware.time = fake_time
    timezone.now = CLOCK.now


# --------------------------------------------------------------------------------------------
# Databases


def prepare_database(kind, out, args):
    """Create a fresh, empty database and return its dj-database-url style URL."""
    if kind == "sqlite":
        path = os.path.join(out, "db.sqlite3")
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path + suffix)
        return "sqlite:///" + path
    name = args.db_name or "fg_cases_" + SERIES.replace(".", "")
    if not name.startswith("fg_") or not all(c in KEY_CHARS + "_" for c in name):
        sys.exit(f"generate.py: database name must start with fg_ and be [a-z0-9_]: {name!r}")
    if kind == "postgres":
        import psycopg2

        base = urlsplit(args.postgres)
        conn = psycopg2.connect(
            host=base.hostname, port=base.port or 5432, user=base.username or "postgres",
            password=base.password or None, dbname="postgres",
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        conn.close()
        return f"{base.scheme}://{base.netloc}/{name}"
    if kind == "mysql":
        import MySQLdb

        base = urlsplit(args.mysql)
        conn = MySQLdb.connect(
            host=base.hostname, port=base.port or 3306, user=base.username or "root",
            passwd=base.password or "",
        )
        cur = conn.cursor()
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        # The server's default collation for utf8mb4 (MariaDB: utf8mb4_general_ci), as a
        # `CREATE DATABASE` without COLLATE gives a Django project.
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        conn.close()
        return f"{base.scheme}://{base.netloc}/{name}"
    raise ValueError(kind)


# --------------------------------------------------------------------------------------------
# No side effects while Django judges a cookie


SIDE_EFFECTS = ("flush", "cycle_key", "delete", "save", "create")


@contextlib.contextmanager
def no_session_side_effects():
    from django.contrib.sessions.backends import base, cache, cached_db, db, file, signed_cookies

    patched = []
    classes = {base.SessionBase}
    for module in (db, cached_db, signed_cookies, file, cache):
        classes.update(module.SessionStore.__mro__)
    for cls in classes:
        for name in SIDE_EFFECTS:
            if name in cls.__dict__:
                patched.append((cls, name, cls.__dict__[name]))
                setattr(cls, name, lambda self, *a, **k: None)
    try:
        yield
    finally:
        for cls, name, original in patched:
            setattr(cls, name, original)


# --------------------------------------------------------------------------------------------
# Scenarios and cases


class Scenario:
    def __init__(self, run, engine, label, settings, env_extra=None):
        self.run = run
        self.engine = engine
        self.name = f"{engine}/{label}"
        self.settings = {
            "SECRET_KEY": settings.pop("SECRET_KEY"),
            "SECRET_KEY_FALLBACKS": settings.pop("SECRET_KEY_FALLBACKS", []),
            "SESSION_ENGINE": "django.contrib.sessions.backends." + engine,
            "SESSION_COOKIE_NAME": settings.pop("SESSION_COOKIE_NAME", "sessionid"),
            "SESSION_COOKIE_AGE": settings.pop("SESSION_COOKIE_AGE", DEFAULT_AGE),
            "AUTHENTICATION_BACKENDS": settings.pop("AUTHENTICATION_BACKENDS", [MODEL_BACKEND]),
        }
        if engine == "file":
            path = os.path.join(run.out, "sessions", self.name.replace("/", "-"))
            os.makedirs(path)
            self.settings["SESSION_FILE_PATH"] = path
        if "DEFAULT_HASHING_ALGORITHM" in settings:
            self.settings["DEFAULT_HASHING_ALGORITHM"] = settings.pop("DEFAULT_HASHING_ALGORITHM")
        assert not settings, settings
        s = self.settings
        env = {
            "FLOWERGATE_DJANGO_SECRET_KEY": s["SECRET_KEY"],
            "FLOWERGATE_DJANGO_DATABASE_URL": run.database_url,
            "FLOWERGATE_DJANGO_SESSION_ENGINE": engine,
            "FLOWERGATE_DJANGO_SESSION_COOKIE_NAME": s["SESSION_COOKIE_NAME"],
            "FLOWERGATE_DJANGO_SESSION_COOKIE_AGE": str(s["SESSION_COOKIE_AGE"]),
            "FLOWERGATE_DJANGO_AUTHENTICATION_BACKENDS": ",".join(s["AUTHENTICATION_BACKENDS"]),
            "FLOWERGATE_DJANGO_VERSION": SERIES,
        }
        if s["SECRET_KEY_FALLBACKS"]:
            env["FLOWERGATE_DJANGO_SECRET_KEY_FALLBACKS"] = ",".join(s["SECRET_KEY_FALLBACKS"])
        if engine == "file":
            env["FLOWERGATE_DJANGO_SESSION_FILE_PATH"] = s["SESSION_FILE_PATH"]
        if s.get("DEFAULT_HASHING_ALGORITHM", "sha256") != "sha256":
            env["FLOWERGATE_DJANGO_DEFAULT_HASHING_ALGORITHM"] = s["DEFAULT_HASHING_ALGORITHM"]
        self.env = env
        self.cases = []
        self.names = set()

    # -- settings ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def active(self, at=None, **overrides):
        """This scenario's settings (plus overrides), with the clock at `at`."""
        from django.contrib.sessions.backends import file as file_backend
        from django.test.utils import override_settings

        if at is not None:
            CLOCK.us = at
        # The file engine caches SESSION_FILE_PATH on the class; reset it for each scenario.
        with contextlib.suppress(AttributeError):
            del file_backend.SessionStore._storage_path
        with override_settings(**{**self.settings, **overrides}):
            yield
        with contextlib.suppress(AttributeError):
            del file_backend.SessionStore._storage_path

    @property
    def cookie_name(self):
        return self.settings["SESSION_COOKIE_NAME"]

    @property
    def age(self):
        return self.settings["SESSION_COOKIE_AGE"]

    @property
    def delay(self):
        """How long after making a session an ordinary case is judged."""
        return min(3600, self.age // 2) * US + 250_000

    @property
    def salt(self):
        return COOKIE_SALT if self.engine == "signed_cookies" else DB_SALT

    def hdr(self, value):
        return f"{self.cookie_name}={value}"

    # -- cases ------------------------------------------------------------------------------

    def add(self, name, header, at):
        if name in self.names:
            raise AssertionError(f"duplicate case name in {self.name}: {name}")
        self.names.add(name)
        self.cases.append({"name": name, "cookieHeader": header, "at": at})

    # -- making sessions ----------------------------------------------------------------------

    def _store(self):
        from django.conf import settings

        return import_module(settings.SESSION_ENGINE).SessionStore

    def _touch(self, key, ns):
        """The file engine's expiry counts from the file's mtime: pin it (in nanoseconds)."""
        path = os.path.join(self.settings["SESSION_FILE_PATH"], self.cookie_name + key)
        os.utime(path, ns=(ns, ns))

    def login(self, username, at, backend=MODEL_BACKEND, expiry=None, before=None, **overrides):
        """Log `username` in as Django does: SessionMiddleware around a view that calls
        django.contrib.auth.login(); the middleware saves the session and sets the cookie.
        Returns the cookie value."""
        from django.conf import settings
        from django.contrib.auth import get_user_model, login
        from django.contrib.sessions.middleware import SessionMiddleware
        from django.http import HttpResponse
        from django.test import RequestFactory

        with self.active(at, **overrides):
            user = get_user_model().objects.get(username=username)
            request = RequestFactory().post("/accounts/login/")

            def view(req):
                if before:
                    req.session.update(before)
                login(req, user, backend=backend)
                if expiry is not None:
                    req.session.set_expiry(expiry)
                return HttpResponse("ok")

            response = SessionMiddleware(view)(request)
            value = response.cookies[settings.SESSION_COOKIE_NAME].value
            if self.engine == "file":
                self._touch(value, at * 1000)
            return value

    def store_dict(self, data, at, **overrides):
        """Save `data` as a session with Django's own SessionStore; returns the cookie value."""
        with self.active(at, **overrides):
            store = self._store()()
            store.update(data)
            store.save()
            if self.engine == "file":
                self._touch(store.session_key, at * 1000)
            return store.session_key

    def data_of(self, cookie):
        """The stored session data string behind a cookie value."""
        from django.contrib.sessions.models import Session

        if self.engine == "signed_cookies":
            return cookie
        if self.engine == "file":
            path = os.path.join(self.settings["SESSION_FILE_PATH"], self.cookie_name + cookie)
            with open(path, encoding="ascii") as f:
                return f.read()
        return Session.objects.get(session_key=cookie).session_data

    def put(self, data, at, key=None, expire=None, mtime_ns=None):
        """Store an arbitrary session data string under a (new) key; returns the cookie value.
        For signed_cookies the data string is the cookie value."""
        from django.contrib.sessions.models import Session

        if self.engine == "signed_cookies":
            return data
        key = key or random_key()
        if self.engine == "file":
            path = os.path.join(self.settings["SESSION_FILE_PATH"], self.cookie_name + key)
            with open(path, "w", encoding="ascii") as f:
                f.write(data)
            self._touch(key, mtime_ns if mtime_ns is not None else at * 1000)
            return key
        if expire is None:
            expire = at + self.age * US
        Session.objects.create(
            session_key=key,
            session_data=data,
            expire_date=EPOCH + dt.timedelta(microseconds=expire),
        )
        return key

    def sign(self, value, at, key=None, algorithm=None, timestamp=True, **overrides):
        """Sign a raw string with this engine's salt (TimestampSigner unless timestamp=False)."""
        from django.core.signing import Signer, TimestampSigner

        with self.active(at, **overrides):
            cls = TimestampSigner if timestamp else Signer
            return cls(key=key, salt=self.salt, algorithm=algorithm).sign(value)

    def sign_object(self, obj, at, key=None, algorithm=None, compress=True, **overrides):
        from django.core.signing import JSONSerializer, TimestampSigner

        with self.active(at, **overrides):
            signer = TimestampSigner(key=key, salt=self.salt, algorithm=algorithm)
            return signer.sign_object(obj, serializer=JSONSerializer, compress=compress)

    def legacy_encode(self, data, at):
        """The pre-Django-3.1 session format, b64(hexsha1 ":" json). Django 3.2 writes it with
        its own SessionStore._legacy_encode; later versions no longer have that code, so the
        same bytes are produced with django.utils.crypto.salted_hmac (what 3.2 does)."""
        from django.contrib.sessions.backends.db import SessionStore
        from django.core.signing import JSONSerializer
        from django.utils.crypto import salted_hmac

        with self.active(at):
            store = SessionStore()
            if hasattr(store, "_legacy_encode"):
                return store._legacy_encode(data)
            serialized = JSONSerializer().dumps(data)
            digest = salted_hmac("django.contrib.sessions" + "SessionStore", serialized, algorithm="sha1").hexdigest()
            return base64.b64encode(digest.encode() + b":" + serialized).decode("ascii")

    def auth_hash(self, username, **overrides):
        from django.contrib.auth import get_user_model

        with self.active(**overrides):
            return get_user_model().objects.get(username=username).get_session_auth_hash()

    def legacy_auth_hash(self, username):
        """Django 3.2's _legacy_get_session_auth_hash (sha1); replicated on later versions."""
        from django.contrib.auth import get_user_model
        from django.utils.crypto import salted_hmac

        with self.active():
            user = get_user_model().objects.get(username=username)
            if hasattr(user, "_legacy_get_session_auth_hash"):
                return user._legacy_get_session_auth_hash()
            key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
            return salted_hmac(key_salt, user.password, algorithm="sha1").hexdigest()

    def auth_dict(self, username="root", backend=MODEL_BACKEND, **overrides):
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(username=username)
        return {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": backend,
            "_auth_user_hash": self.auth_hash(username, **overrides),
        }


class Run:
    def __init__(self, out, database, database_url):
        self.out = out
        self.database = database
        self.database_url = database_url
        self.scenarios = []
        # Sessions are made from one minute ago onwards, one second apart.
        self.base = (int(time.time()) - 60) * US
        self.n = 0

    def instant(self, micros=None):
        """A fresh instant for making one session; micros fixes the fractional part."""
        self.n += 1
        second = self.base + self.n * US
        if micros is None:
            micros = (self.n * 104_729 + 123_456) % US
        return second + micros

    def scenario(self, engine, label, **settings):
        scn = Scenario(self, engine, label, settings)
        self.scenarios.append(scn)
        return scn


def secret():
    from django.core.management.utils import get_random_secret_key

    return get_random_secret_key()


# --------------------------------------------------------------------------------------------
# The cases. Each builder is called twice: phase "before" (users as created) and phase "after"
# (once the password of `changer` has been changed and `ghost` deleted). Verdicts are taken only
# after both phases, so they describe the database exactly as the conformance tests will see it.


def cases_users(scn, run, phase):
    """Real logins of every kind of user."""
    if phase == "before":
        for username, what in [
            ("root", "active superuser"),
            ("staff", "staff (not superuser)"),
            ("plain", "plain user"),
            ("viewer", "group member (flower-viewers)"),
            ("direct", "user with direct permissions"),
            ("user10", "user with pk 10"),
            ("sso-root", "superuser with an unusable password"),
            ("inactive-root", "inactive superuser"),
            ("inactive-plain", "inactive plain user"),
        ]:
            t = run.instant()
            scn.add(f"{what}, fresh login", scn.hdr(scn.login(username, t)), t + scn.delay)
        t = run.instant()
        scn.add("password changed after login", scn.hdr(scn.login("changer", t)), t + scn.delay)
        t = run.instant()
        scn.add("user deleted after login", scn.hdr(scn.login("ghost", t)), t + scn.delay)
    else:
        t = run.instant()
        scn.add("new login after the password change", scn.hdr(scn.login("changer", t)), t + scn.delay)


def cases_default(scn, run, phase):
    cases_users(scn, run, phase)
    if phase != "before":
        return
    engine = scn.engine
    stored = engine != "signed_cookies"
    name = scn.cookie_name

    t = run.instant()
    v = scn.login("root", t, before={"cart": [1, 2], "theme": "dark"})
    scn.add("active superuser, logged in over an anonymous session with data", scn.hdr(v), t + scn.delay)

    # ---- the cookie header ------------------------------------------------------------------
    t = run.instant()
    v = scn.login("root", t)
    at = t + scn.delay
    junk = random_key() if stored else flip(v, len(v) - 1)
    # No Cookie header at all is the same as an empty one for Django (environ.get("HTTP_COOKIE", "")),
    # and cookieHeader is always a string, so only the empty header is listed.
    scn.add("empty Cookie header", "", at)
    scn.add("empty cookie value", f"{name}=", at)
    scn.add("quoted empty cookie value", f'{name}=""', at)
    scn.add("other cookies around the session cookie", f"csrftoken={random_key()}; {name}={v}; theme=dark", at)
    scn.add("duplicate cookie, valid then invalid (last wins)", f"{name}={v}; {name}={junk}", at)
    scn.add("duplicate cookie, invalid then valid (last wins)", f"{name}={junk}; {name}={v}", at)
    scn.add("duplicate cookie, valid then empty", f"{name}={v}; {name}=", at)
    scn.add("quoted value", f'{name}="{v}"', at)
    scn.add("quoted value with an octal escape", f'{name}="\\{ord(v[0]):03o}{v[1:]}"', at)
    scn.add("quoted value with a backslash escape", f'{name}="\\{v[0]}{v[1:]}"', at)
    scn.add("unbalanced quote", f'{name}="{v}', at)
    scn.add("whitespace around name and value", f"  {name}  =  {v}  ;  theme=dark ", at)
    scn.add("tabs around the value", f"{name}=\t{v}\t", at)
    scn.add("no space after semicolons", f"a=1;{name}={v};b=2", at)
    scn.add("empty chunks", f";;{name}={v};;", at)
    scn.add("chunk without '=' before the cookie", f"{v}; {name}={v}", at)
    scn.add("value only, no name", v, at)
    scn.add("empty name with the value", f"={v}", at)
    scn.add("name in upper case", f"{name.upper()}={v}", at)
    scn.add("comma-separated cookies (not a separator)", f"theme=dark, {name}={v}", at)
    scn.add("comma after the value", f"{name}={v}, theme=dark", at)
    scn.add("$Version attribute before the cookie", f"$Version=1; {name}={v}", at)
    scn.add("value with '=' appended", f"{name}={v}=", at)
    scn.add("percent-encoded first character", f"{name}=%{ord(v[0]):02X}{v[1:]}", at)

    # ---- the session key ---------------------------------------------------------------------
    scn.add("unknown session key", scn.hdr(random_key()), at)
    scn.add("key in upper case", scn.hdr(v.upper()), at)
    scn.add("key with a trailing space (quoted)", f'{name}="{v} "', at)
    scn.add("key with one character appended", scn.hdr(v + "a"), at)
    scn.add("key with the last character removed", scn.hdr(v[:-1]), at)
    scn.add("7-character garbage", scn.hdr("abc1234"), at)
    if stored:
        d = scn.auth_dict()
        with scn.active(t):
            data = scn._store()().encode(d)
        scn.add("stored session with a 7-character key", scn.hdr(scn.put(data, t, key=random_key(7))), at)
        scn.add("stored session with an 8-character key", scn.hdr(scn.put(data, t, key=random_key(8))), at)
        scn.add("stored session with a 40-character key", scn.hdr(scn.put(data, t, key=random_key(40))), at)
        scn.add("stored session with a key containing upper case", scn.hdr(scn.put(data, t, key="AbC" + random_key(29))), at)
        scn.add("stored session with a key containing '-'", scn.hdr(scn.put(data, t, key=random_key(16) + "-" + random_key(15))), at)

    # ---- the signed data ---------------------------------------------------------------------
    t = run.instant()
    at = t + scn.delay
    v = scn.login("root", t)
    data = scn.data_of(v)
    payload_end = data.index(":")
    sig_start = data.rindex(":") + 1
    d = scn.auth_dict()

    def add_data(case, value, when=t):
        scn.add(case, scn.hdr(scn.put(value, when)), at)

    add_data("tampered signature (last character)", flip(data, len(data) - 1))
    add_data("tampered signature (first character)", flip(data, sig_start))
    add_data("tampered payload", flip(data, payload_end // 2))
    add_data("tampered timestamp", flip(data, sig_start - 2))
    add_data("truncated signature", data[:-1])
    add_data("signature missing", data[:sig_start - 1])
    add_data("character appended to the signature", data + "A")
    add_data("payload without the compression dot", data[1:] if data.startswith(".") else "." + data)
    other_salt = COOKIE_SALT if stored else DB_SALT
    from django.core.signing import JSONSerializer, TimestampSigner

    with scn.active(t):
        foreign = TimestampSigner(salt=other_salt).sign_object(d, serializer=JSONSerializer, compress=True)
    add_data("signed with the other engine's salt", foreign)
    add_data("signed with an unrelated key", scn.sign_object(d, t, key=secret()))
    add_data("signed with SHA-1 (3.2 accepts legacy signatures)", scn.sign_object(d, t, algorithm="sha1"))
    add_data("pre-3.1 legacy session format", scn.legacy_encode(d, t))
    add_data("pre-3.1 legacy format, tampered hash", flip(scn.legacy_encode(d, t), 3))
    add_data("uncompressed payload", scn.sign_object(d, t, compress=False))
    raw = JSONSerializer().dumps(d)
    add_data("'.' payload that is not zlib", scn.sign("." + b64(b"this is not zlib data"), t))
    add_data("payload that is not JSON", scn.sign(b64(b"this is not json"), t))
    add_data("payload is a JSON array", scn.sign(b64(b"[1,2,3]"), t))
    add_data("payload is JSON null", scn.sign(b64(b"null"), t))
    add_data("payload is a JSON string", scn.sign(b64(b'"root"'), t))
    add_data("payload is a JSON number", scn.sign(b64(b"1"), t))
    add_data("payload is an empty JSON object", scn.sign(b64(b"{}"), t))
    add_data("payload with a duplicate _auth_user_id (last wins)", scn.sign(b64(
        b'{"_auth_user_id":"3",' + raw[1:]), t))
    add_data("payload with a raw 0xFF byte in a string (latin-1)", scn.sign(b64(
        raw[:-1] + b',"note":"\xff\xfe"}'), t))
    add_data("payload with raw UTF-8 in a string", scn.sign(b64(
        raw[:-1] + ',"note":"h\u00e9llo"}'.encode("utf-8")), t))
    add_data("payload with \\u escapes in keys", scn.sign(b64(
        raw.replace(b'"_auth_user_id"', b'"\\u005fauth_user_id"')), t))
    pb = b64(raw)
    add_data("base64 payload with a '!' inside", scn.sign(pb[:10] + "!" + pb[10:], t))
    add_data("base64 payload with '=' padding", scn.sign(pb + "=" * (-len(pb) % 4 or 4), t))
    add_data("base64 payload in standard alphabet ('+' '/')", scn.sign(base64.b64encode(raw).decode().rstrip("="), t))
    add_data("signed without a timestamp", scn.sign(pb, t, timestamp=False))
    add_data("timestamp that is not base62", scn.sign(pb + ":ab!c", t, timestamp=False))
    add_data("empty timestamp", scn.sign(pb + ":", t, timestamp=False))
    add_data("negative timestamp", scn.sign(pb + ":-" + b62(t // US), t, timestamp=False))
    add_data("timestamp one year in the future", scn.sign(pb + ":" + b62(t // US + 365 * 86400), t, timestamp=False))
    add_data("timestamp zero", scn.sign(pb + ":0", t, timestamp=False))
    add_data("empty session", scn.store_dict({}, t))
    add_data("anonymous session with other data", scn.store_dict({"theme": "dark"}, t))

    for case, value in [
        ("random printable garbage", "".join(secrets.choice(string.ascii_letters + string.digits + "!#$%&'()*+-./:<>?@[]^_`{|}~") for _ in range(60))),
        ("invalid base64 with separators", "!!!!:abc:def"),
        ("only separators", "::"),
        ("dot only", "."),
        ("huge cookie (8 KiB)", "".join(secrets.choice(string.ascii_letters + string.digits + "-_") for _ in range(8192))),
        ("huge signed-looking cookie (12 KiB)", "." + "A" * 12000 + ":1a2B3c:" + "x" * 43),
        ("latin-1 high bytes", "\u00e9\u00e8\u00ff\u00fe" * 4),
        ("UTF-8 bytes of a non-ASCII key", "sessi\u00c3\u00b6n-key-with-utf8"),
    ]:
        scn.add(case, scn.hdr(value), at)

    # ---- _auth_user_id / _auth_user_backend / _auth_user_hash -------------------------------
    t = run.instant()
    at = t + scn.delay
    root_hash = scn.auth_hash("root")
    for case, uid in [
        ('" 1\\n" (whitespace)', " 1\n"),
        ('"+1"', "+1"),
        ('"01"', "01"),
        ('"0_1"', "0_1"),
        ('"1_0" (is 10) with the hash of user 1', "1_0"),
        ("JSON number 1", 1),
        ("JSON number 1.9", 1.9),
        ("JSON number 1.0", 1.0),
        ("JSON true", True),
        ("JSON false", False),
        ('"1.0"', "1.0"),
        ('"1e0"', "1e0"),
        ('"abc"', "abc"),
        ('""', ""),
        ('"-1"', "-1"),
        ('"0x1"', "0x1"),
        ('"\\u0661" (Arabic-Indic digit one)', "\u0661"),
        ('"\\uff11" (fullwidth digit one)', "\uff11"),
        ("JSON null", None),
        ("JSON array [1]", [1]),
        ("JSON object", {"id": 1}),
        ('"9223372036854775808" (2^63)', "9223372036854775808"),
        ('"99999999999999999999"', "99999999999999999999"),
    ]:
        value = scn.store_dict({"_auth_user_id": uid, "_auth_user_backend": MODEL_BACKEND, "_auth_user_hash": root_hash}, t)
        scn.add(f"_auth_user_id {case}", scn.hdr(value), at)
    value = scn.store_dict({"_auth_user_id": "1_0", "_auth_user_backend": MODEL_BACKEND, "_auth_user_hash": scn.auth_hash("user10")}, t)
    scn.add('_auth_user_id "1_0" with the hash of user 10', scn.hdr(value), at)
    value = scn.store_dict({"_auth_user_backend": MODEL_BACKEND, "_auth_user_hash": root_hash}, t)
    scn.add("_auth_user_id missing", scn.hdr(value), at)

    for case, backend in [
        ("not in AUTHENTICATION_BACKENDS", "flowerperms.backends.EmailBackend"),
        ("AllowAllUsersModelBackend, not configured", ALLOW_ALL_BACKEND),
        ("with a trailing space", MODEL_BACKEND + " "),
        ("in lower case", MODEL_BACKEND.lower()),
        ("empty string", ""),
        ("JSON null", None),
    ]:
        value = scn.store_dict({"_auth_user_id": "1", "_auth_user_backend": backend, "_auth_user_hash": root_hash}, t)
        scn.add(f"_auth_user_backend {case}", scn.hdr(value), at)
    value = scn.store_dict({"_auth_user_id": "1", "_auth_user_hash": root_hash}, t)
    scn.add("_auth_user_backend missing", scn.hdr(value), at)

    for case, h in [
        ("empty string", ""),
        ("in upper case", root_hash.upper()),
        ("of another user", scn.auth_hash("plain")),
        ("SHA-1 legacy hash (3.2 accepts)", scn.legacy_auth_hash("root")),
        ("with a trailing newline", root_hash + "\n"),
        ("truncated", root_hash[:-1]),
        ("JSON null", None),
        ("JSON true", True),
        ("JSON number", 12345),
    ]:
        value = scn.store_dict({"_auth_user_id": "1", "_auth_user_backend": MODEL_BACKEND, "_auth_user_hash": h}, t)
        scn.add(f"_auth_user_hash {case}", scn.hdr(value), at)
    value = scn.store_dict({"_auth_user_id": "1", "_auth_user_backend": MODEL_BACKEND}, t)
    scn.add("_auth_user_hash missing", scn.hdr(value), at)
    value = scn.store_dict({"cart": [1, 2], **scn.auth_dict("root"), "_csrftoken": random_key()}, t)
    scn.add("extra keys in the session", scn.hdr(value), at)
    if SERIES == "3.2":
        t2 = run.instant()
        value = scn.login("root", t2, DEFAULT_HASHING_ALGORITHM="sha1")
        scn.add("logged in while DEFAULT_HASHING_ALGORITHM was sha1", scn.hdr(value), t2 + scn.delay)

    cases_expiry(scn, run)


def cases_expiry(scn, run):
    """Boundaries of each engine's expiry rule, at microsecond precision."""
    engine = scn.engine
    age = scn.age * US
    if engine in ("db", "cached_db"):
        for label, micros in [("", None), (" (login at a whole second)", 0)]:
            t = run.instant(micros)
            v = scn.hdr(scn.login("root", t))
            scn.add(f"db row expire_date == now{label}", v, t + age)
            scn.add(f"db row expire_date 1 us after now{label}", v, t + age - 1)
            scn.add(f"db row expire_date 1 us before now{label}", v, t + age + 1)
        t = run.instant()
        v = scn.hdr(scn.login("root", t, expiry=300))
        scn.add("set_expiry(300): expire_date == now", v, t + 300 * US)
        scn.add("set_expiry(300): 1 us before expire_date", v, t + 300 * US - 1)
        t = run.instant()
        v = scn.hdr(scn.login("root", t, expiry=0))
        scn.add("set_expiry(0) (browser session): expire_date == now", v, t + age)
        scn.add("set_expiry(0) (browser session): 1 us before expire_date", v, t + age - 1)
        t = run.instant()
        v = scn.hdr(scn.login("root", t, expiry=scn.age * 2))
        scn.add("set_expiry(2 x SESSION_COOKIE_AGE): judged at 1.5 x SESSION_COOKIE_AGE", v, t + age + age // 2)
        if V >= (4, 0):
            t = run.instant()
            v = scn.hdr(scn.login("root", t, expiry=dt.timedelta(seconds=90)))
            scn.add("set_expiry(timedelta(90 s)): 1 us before", v, t + 90 * US - 1)
            scn.add("set_expiry(timedelta(90 s)): == now", v, t + 90 * US)
        t = run.instant()
        v = scn.hdr(scn.put(scn.data_of(scn.login("root", t)), t, expire=t - 1))
        scn.add("row already expired when judged right away", v, t)
    elif engine == "signed_cookies":
        for label, micros in [("", None), (" (signed at a whole second)", 0), (" (signed at .999999)", 999_999)]:
            t = run.instant(micros)
            ts = t // US * US
            v = scn.hdr(scn.login("root", t))
            scn.add(f"cookie age == SESSION_COOKIE_AGE{label}", v, ts + age)
            scn.add(f"cookie age 1 us past SESSION_COOKIE_AGE{label}", v, ts + age + 1)
            scn.add(f"cookie age 1 us under SESSION_COOKIE_AGE{label}", v, ts + age - 1)
        t = run.instant()
        v = scn.hdr(scn.login("root", t, expiry=60))
        scn.add("set_expiry(60) is ignored server-side: judged after 1 h", v, t + min(3600 * US, age - US))
        t = run.instant()
        ts = t // US * US
        v = scn.hdr(scn.login("root", t, expiry=scn.age * 2))
        scn.add("set_expiry(2 x SESSION_COOKIE_AGE) is ignored: 1 us past the age", v, ts + age + 1)
        t = run.instant()
        v = scn.hdr(scn.login("root", t))
        scn.add("judged before it was signed (clock skew)", v, t - 3600 * US)
    elif engine == "file":
        for label, micros in [("", None), (" (mtime at a whole second)", 0)]:
            t = run.instant(micros)
            v = scn.hdr(scn.login("root", t))
            edge = t + age - US  # file sessions die when less than 1 s is left
            scn.add(f"file mtime + age - now == 1 s{label}", v, edge)
            scn.add(f"file mtime + age - now == 1 s - 1 us{label}", v, edge + 1)
            scn.add(f"file mtime + age - now == 1 s + 1 us{label}", v, edge - 1)
            scn.add(f"file mtime + age == now{label}", v, t + age)
        # an mtime with nanoseconds: Django reads st_mtime (a float) and rounds to microseconds
        t = run.instant()
        v = scn.login("root", t)
        scn._touch(v, t * 1000 + 500)
        edge = t + age - US
        for d in (-1, 0, 1, 2):
            scn.add(f"file mtime with +500 ns, now = edge {d:+d} us", scn.hdr(v), edge + d)
        t = run.instant()
        v = scn.hdr(scn.login("root", t, expiry=300))
        scn.add("set_expiry(300) int: file never expires (judged after 30 days)", v, t + 30 * 86400 * US)
        t = run.instant()
        v = scn.hdr(scn.login("root", t, expiry=0))
        scn.add("set_expiry(0): mtime + age rule, 1 s left", v, t + age - US)
        scn.add("set_expiry(0): mtime + age rule, < 1 s left", v, t + age - US + 1)
        if V >= (4, 0):
            t = run.instant()
            v = scn.hdr(scn.login("root", t, expiry=dt.timedelta(seconds=90)))
            scn.add("set_expiry(timedelta(90 s)): 1 s left", v, t + 89 * US)
            scn.add("set_expiry(timedelta(90 s)): < 1 s left", v, t + 89 * US + 1)
            scn.add("set_expiry(timedelta(90 s)): past the age check (judged after 2 days)", v, t + 2 * 86400 * US)


def cases_fallbacks(scn, run, phase, old1, old2, removed):
    if phase != "before":
        return
    only = lambda key: {"SECRET_KEY": key, "SECRET_KEY_FALLBACKS": []}  # noqa: E731
    for case, username, key in [
        ("logged in under the current key", "root", None),
        ("logged in under fallback key #1 (data and hash)", "root", old1),
        ("logged in under fallback key #2 (non-ASCII key)", "root", old2),
        ("staff logged in under fallback key #1", "staff", old1),
        ("logged in under a key no longer listed", "root", removed),
    ]:
        t = run.instant()
        overrides = only(key) if key else {}
        scn.add(case, scn.hdr(scn.login(username, t, **overrides)), t + scn.delay)
    t = run.instant()
    at = t + scn.delay
    for case, data_key, hash_key in [
        ("data signed with the current key, hash from fallback key #1", None, old1),
        ("data signed with the current key, hash from fallback key #2", None, old2),
        ("data signed with fallback key #1, hash from the current key", old1, None),
        ("data signed with fallback key #2, hash from fallback key #1", old2, old1),
        ("data signed with the current key, hash from a removed key", None, removed),
        ("data signed with a removed key, hash from the current key", removed, None),
    ]:
        d = scn.auth_dict("root", **(only(hash_key) if hash_key else {}))
        value = scn.store_dict(d, t, **(only(data_key) if data_key else {}))
        scn.add(case, scn.hdr(value), at)
    d = {"_auth_user_id": "1", "_auth_user_backend": MODEL_BACKEND}
    scn.add("fallback-key data, _auth_user_hash missing", scn.hdr(scn.store_dict(d, t, **only(old1))), at)
    d = scn.auth_dict("root", **only(old1))
    scn.add("SHA-1 signature with fallback key #1", scn.hdr(scn.put(scn.sign_object(d, t, key=old1, algorithm="sha1"), t)), at)
    if scn.engine == "signed_cookies":
        t = run.instant()
        ts = t // US * US
        v = scn.hdr(scn.login("root", t, **only(old1)))
        scn.add("fallback-key cookie, age == SESSION_COOKIE_AGE", v, ts + scn.age * US)
        scn.add("fallback-key cookie, 1 us past SESSION_COOKIE_AGE", v, ts + scn.age * US + 1)


def cases_allow_all(scn, run, phase):
    if phase == "before":
        for case, username, backend in [
            ("inactive superuser via AllowAllUsersModelBackend", "inactive-root", ALLOW_ALL_BACKEND),
            ("inactive superuser via ModelBackend", "inactive-root", MODEL_BACKEND),
            ("inactive plain user via AllowAllUsersModelBackend", "inactive-plain", ALLOW_ALL_BACKEND),
            ("active superuser via AllowAllUsersModelBackend", "root", ALLOW_ALL_BACKEND),
            ("active superuser via ModelBackend", "root", MODEL_BACKEND),
            ("staff via AllowAllUsersModelBackend", "staff", ALLOW_ALL_BACKEND),
            ("group member via AllowAllUsersModelBackend", "viewer", ALLOW_ALL_BACKEND),
            ("user with direct permissions via ModelBackend", "direct", MODEL_BACKEND),
            ("password changed after login, AllowAllUsersModelBackend", "changer", ALLOW_ALL_BACKEND),
            ("user deleted after login, AllowAllUsersModelBackend", "ghost", ALLOW_ALL_BACKEND),
        ]:
            t = run.instant()
            scn.add(case, scn.hdr(scn.login(username, t, backend=backend)), t + scn.delay)
        t = run.instant()
        d = scn.auth_dict("inactive-root", backend="flowerperms.backends.EmailBackend")
        scn.add("inactive superuser via an unlisted backend", scn.hdr(scn.store_dict(d, t)), t + scn.delay)
        scn.add("empty Cookie header", "", t + scn.delay)
    else:
        t = run.instant()
        scn.add("new login after the password change, AllowAllUsersModelBackend",
                scn.hdr(scn.login("changer", t, backend=ALLOW_ALL_BACKEND)), t + scn.delay)


def cases_cookie_name(scn, run, phase):
    cases_users(scn, run, phase)
    if phase != "before":
        return
    t = run.instant()
    v = scn.login("root", t)
    at = t + scn.delay
    junk = random_key()
    scn.add("session cookie sent as 'sessionid'", f"sessionid={v}", at)
    scn.add("'sessionid' junk, then the configured cookie", f"sessionid={junk}; {scn.cookie_name}={v}", at)
    scn.add("the configured cookie, then 'sessionid' junk", f"{scn.cookie_name}={v}; sessionid={junk}", at)
    scn.add("configured cookie name in upper case", f"{scn.cookie_name.upper()}={v}", at)
    scn.add("unknown session key", scn.hdr(random_key()), at)
    cases_expiry(scn, run)


def cases_sha1(scn, run, phase):
    """Django 3.2 with DEFAULT_HASHING_ALGORITHM = 'sha1' (the 3.1/3.2 transition setting)."""
    cases_users(scn, run, phase)
    if phase != "before":
        return
    t = run.instant()
    at = t + scn.delay
    sha256 = {"DEFAULT_HASHING_ALGORITHM": "sha256"}
    d1 = scn.auth_dict("root")
    d256 = scn.auth_dict("root", **sha256)
    scn.add("data signed with SHA-256, SHA-256 hash", scn.hdr(scn.put(scn.sign_object(d256, t, algorithm="sha256"), t)), at)
    scn.add("data signed with SHA-256, SHA-1 hash", scn.hdr(scn.put(scn.sign_object(d1, t, algorithm="sha256"), t)), at)
    scn.add("data signed with SHA-1, SHA-256 hash", scn.hdr(scn.put(scn.sign_object(d256, t, algorithm="sha1"), t)), at)
    scn.add("data signed with SHA-1, SHA-1 hash", scn.hdr(scn.put(scn.sign_object(d1, t, algorithm="sha1"), t)), at)
    scn.add("pre-3.1 legacy format, SHA-256 hash", scn.hdr(scn.put(scn.legacy_encode(d256, t), t)), at)
    scn.add("pre-3.1 legacy format, SHA-1 hash", scn.hdr(scn.put(scn.legacy_encode(d1, t), t)), at)
    v = scn.login("root", t)
    data = scn.data_of(v)
    scn.add("tampered data (middle character)", scn.hdr(scn.put(flip(data, len(data) // 2), t)), at)
    scn.add("tampered data (last character)", scn.hdr(scn.put(flip(data, len(data) - 1), t)), at)
    t2 = run.instant()
    v = scn.login("root", t2, DEFAULT_HASHING_ALGORITHM="sha256")
    scn.add("logged in while the setting was sha256", scn.hdr(v), t2 + scn.delay)
    cases_expiry(scn, run)


# --------------------------------------------------------------------------------------------
# Users


USERS = [
    # username, email, superuser, staff, active, groups, direct perms
    ("root", "root@example.com", True, True, True, ["flower-viewers"], []),
    ("inactive-root", "inactive-root@example.com", True, True, False, [], []),
    ("staff", "staff@example.com", False, True, True, [], []),
    ("plain", "plain@example.com", False, False, True, [], []),
    ("viewer", "viewer@example.com", False, False, True, ["flower-viewers"], []),
    ("direct", "direct@example.com", False, False, True, [], ["flowerperms.can_act", "auth.view_user"]),
    ("changer", "changer@example.com", True, True, True, [], []),
    ("sso-root", "sso-root@example.com", True, True, True, [], []),
    ("ghost", "ghost@example.com", True, True, True, [], []),
    ("user10", "user10@example.com", False, False, True, [], []),
    ("inactive-plain", "inactive-plain@example.com", False, False, False, [], []),
]


def create_users():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, Permission

    def perm(label):
        app, codename = label.split(".")
        return Permission.objects.get(content_type__app_label=app, codename=codename)

    group = Group.objects.create(name="flower-viewers")
    group.permissions.set([perm("flowerperms.can_act")])
    User = get_user_model()
    for pk, (username, email, su, staff, active, groups, perms) in enumerate(USERS, start=1):
        user = User(username=username, email=email, is_superuser=su, is_staff=staff, is_active=active)
        if username == "sso-root":
            user.set_unusable_password()
        elif username == "root":
            # A real, slow default-style hash for the main superuser; MD5 for the others.
            user.password = make_password("root-password", hasher="pbkdf2_sha256")
        else:
            user.set_password(f"{username}-password")
        user.save()
        assert user.pk == pk, (username, user.pk)
        user.groups.set([Group.objects.get(name=g) for g in groups])
        user.user_permissions.set([perm(p) for p in perms])


def mutate_users():
    """Between the two phases: change changer's password, delete ghost."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    changer = User.objects.get(username="changer")
    changer.set_password("changer-new-password")
    changer.save()
    User.objects.get(username="ghost").delete()


# --------------------------------------------------------------------------------------------
# Verdicts


def verdict(scn, case, crashes):
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.core.cache import caches
    from django.http import HttpResponse
    from django.test import RequestFactory

    # A cold cache: cached_db falls through to the database row, as in a fresh Django process.
    caches["default"].clear()
    with scn.active(case["at"]), no_session_side_effects():
        request = RequestFactory().get("/")
        if case["cookieHeader"] is None:
            request.META.pop("HTTP_COOKIE", None)
        else:
            request.META["HTTP_COOKIE"] = case["cookieHeader"]

        def get_response(req):
            return HttpResponse()

        SessionMiddleware(get_response).process_request(request)
        AuthenticationMiddleware(get_response).process_request(request)
        try:
            user = request.user
            authenticated = bool(user.is_authenticated)
        except Exception as e:  # noqa: BLE001 -- Django would answer 500
            crashes.append((scn.name, case["name"], f"{type(e).__module__}.{type(e).__qualname__}: {e}"))
            return {
                "authenticated": False, "crashed": True, "userId": None, "username": "", "email": "",
                "isSuperuser": False, "isStaff": False, "isActive": False,
                "groups": [], "perms": {p: False for p in PERMS},
            }
        return {
            "authenticated": authenticated,
            "crashed": False,
            "userId": str(user.pk) if authenticated else None,
            "username": user.get_username() if authenticated else "",
            "email": user.email if authenticated else "",
            "isSuperuser": bool(user.is_superuser),
            "isStaff": bool(user.is_staff),
            "isActive": bool(user.is_active),
            "groups": sorted(user.groups.values_list("name", flat=True)) if authenticated else [],
            "perms": {p: bool(user.has_perm(p)) for p in PERMS},
        }


def snapshot(run):
    """Everything a verdict must not change."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session

    files = []
    root = os.path.join(run.out, "sessions")
    for dirpath, _, names in os.walk(root):
        for n in sorted(names):
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                files.append((p, os.stat(p).st_mtime_ns, f.read()))
    return (
        list(Session.objects.order_by("session_key").values_list("session_key", "session_data", "expire_date")),
        list(get_user_model().objects.order_by("pk").values_list("pk", "password", "last_login", "is_active")),
        sorted(files),
    )


# --------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output directory (emptied first)")
    parser.add_argument("--database", required=True, choices=["sqlite", "postgres", "mysql"])
    parser.add_argument("--db-name", help="postgres/mysql database name (default fg_cases_<series>)")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="server URL")
    parser.add_argument("--mysql", default="mysql://root@127.0.0.1:3306", help="server URL")
    parser.add_argument("--expect-series", help="fail unless the imported Django is this series, e.g. 5.2")
    parser.add_argument("--verbose", "-v", action="store_true", help="print why Django crashed, per case")
    args = parser.parse_args()
    started = time.monotonic()
    if args.expect_series and args.expect_series != SERIES:
        sys.exit(f"generate.py: expected Django {args.expect_series}, imported {django.get_version()} from {django.__file__}")

    out = os.path.abspath(args.out)
    if os.path.isdir(os.path.join(out, "sessions")):
        shutil.rmtree(os.path.join(out, "sessions"))
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(out, "cases.json"))
    os.makedirs(os.path.join(out, "sessions"), exist_ok=True)

    database_url = prepare_database(args.database, out, args)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "fgproject.settings",
        "FLOWERGATE_DJANGO_SECRET_KEY": "bootstrap-" + secrets.token_hex(16),
        "FLOWERGATE_DJANGO_DATABASE_URL": database_url,
        "FGTEST_PASSWORD_HASHERS": ",".join([
            "django.contrib.auth.hashers.MD5PasswordHasher",
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        ]),
    })
    for name in ("FLOWERGATE_DJANGO_SECRET_KEY_FALLBACKS", "FLOWERGATE_DJANGO_SESSION_ENGINE",
                 "FLOWERGATE_DJANGO_DEFAULT_HASHING_ALGORITHM", "FLOWERGATE_DJANGO_AUTHENTICATION_BACKENDS"):
        os.environ.pop(name, None)
    warnings.simplefilter("ignore")  # RemovedInDjangoXXWarning for DEFAULT_HASHING_ALGORITHM etc.
    django.setup()
    import logging

    logging.disable(logging.CRITICAL)  # 'Session data corrupted' and friends
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    log(f"Django {django.get_version()} ({django.__file__}), {args.database}: {database_url}; migrated in {time.monotonic() - started:.1f}s")
    freeze_time()
    run = Run(out, args.database, database_url)
    CLOCK.us = run.base
    create_users()

    builders = []
    for engine in ("db", "cached_db", "signed_cookies", "file"):
        scn = run.scenario(engine, "default", SECRET_KEY=secret())
        builders.append((scn, cases_default, {}))
        old1, old2, removed = secret(), secret() + "-\u00df\u20ac", secret()
        scn = run.scenario(engine, "fallbacks", SECRET_KEY=secret(), SECRET_KEY_FALLBACKS=[old1, old2])
        builders.append((scn, cases_fallbacks, {"old1": old1, "old2": old2, "removed": removed}))
        scn = run.scenario(engine, "allow-all", SECRET_KEY=secret(),
                           AUTHENTICATION_BACKENDS=[ALLOW_ALL_BACKEND, MODEL_BACKEND])
        builders.append((scn, cases_allow_all, {}))
        scn = run.scenario(engine, "cookie-name-and-age", SECRET_KEY=secret(),
                           SESSION_COOKIE_NAME="fg_session", SESSION_COOKIE_AGE=3600)
        builders.append((scn, cases_cookie_name, {}))
        if SERIES == "3.2":
            scn = run.scenario(engine, "sha1", SECRET_KEY=secret(), DEFAULT_HASHING_ALGORITHM="sha1")
            builders.append((scn, cases_sha1, {}))

    for phase in ("before", "after"):
        if phase == "after":
            CLOCK.us = run.instant()
            mutate_users()
        for scn, builder, kwargs in builders:
            builder(scn, run, phase, **kwargs)
    built = time.monotonic()

    before = snapshot(run)
    crashes = []
    for scn in run.scenarios:
        for case in scn.cases:
            case["django"] = verdict(scn, case, crashes)
            case["at"] = iso(case["at"])
    after = snapshot(run)
    if before != after:
        sys.exit("generate.py: judging the cases changed the stored sessions or users -- a side effect leaked")

    result = {
        "django": django.get_version(),
        "series": SERIES,
        "database": args.database,
        "scenarios": [
            {"name": s.name, "env": s.env, "perms": PERMS, "cases": s.cases} for s in run.scenarios
        ],
    }
    with open(os.path.join(out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
        f.write("\n")

    total = sum(len(s.cases) for s in run.scenarios)
    for scn in run.scenarios:
        n_auth = sum(c["django"]["authenticated"] for c in scn.cases)
        n_crash = sum(c["django"]["crashed"] for c in scn.cases)
        log(f"  {scn.name}: {len(scn.cases)} cases, {n_auth} authenticated, {n_crash} crashed")
    if args.verbose:
        for name, case, error in crashes:
            log(f"  crashed: {name}: {case}: {error}")
    elif crashes:
        kinds = sorted({error.split(":", 1)[0] for _, _, error in crashes})
        log(f"  {len(crashes)} cases crashed inside Django ({', '.join(kinds)}); --verbose lists them")
    log(f"{total} cases in {out}/cases.json; built in {built - started:.1f}s, total {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
