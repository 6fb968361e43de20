"""Settings of flowergate's Django test project (works on Django 3.2, 4.2 and 5.2).

Everything that flowergate itself reads is taken from the same environment variables
flowergate uses, so one environment configures both sides:

  FLOWERGATE_DJANGO_SECRET_KEY              required
  FLOWERGATE_DJANGO_SECRET_KEY_FALLBACKS    comma-separated (ignored by Django < 4.1)
  FLOWERGATE_DJANGO_DATABASE_URL            sqlite:////abs/db.sqlite3, sqlite:///rel.sqlite3,
                                            postgres://user:pw@host:port/name, mysql://...
  FLOWERGATE_DJANGO_SESSION_ENGINE          db, cached_db, signed_cookies, file, cache, or dotted
  FLOWERGATE_DJANGO_SESSION_COOKIE_NAME     default sessionid
  FLOWERGATE_DJANGO_SESSION_COOKIE_AGE      default 1209600
  FLOWERGATE_DJANGO_SESSION_FILE_PATH       file engine directory
  FLOWERGATE_DJANGO_AUTHENTICATION_BACKENDS comma-separated dotted paths
  FLOWERGATE_DJANGO_DEFAULT_HASHING_ALGORITHM  Django 3.2 only (sha1 / sha256)

Test-only knobs (not flowergate settings):

  FGTEST_PASSWORD_HASHERS      comma-separated dotted hasher classes (default: Django's)
  FGTEST_LOGIN_REDIRECT_URL    default "/"
  FGTEST_REDIRECT_HOSTS        extra hosts LoginView may redirect to via ?next= (comma-separated,
                               host or host:port); 127.0.0.1, localhost and [::1] on any port
                               are always allowed
  FGTEST_DEBUG                 "1" turns DEBUG on
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import django

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = django.VERSION[:2]


def env(name, default=None):
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_list(name, default=()):
    value = env(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def database_from_url(url):
    """The subset of dj-database-url that flowergate documents."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme in ("sqlite", "sqlite3"):
        # sqlite:////abs/path -> path "//abs/path" -> "/abs/path"; sqlite:///rel -> "/rel" -> "rel"
        path = url.split("://", 1)[1]
        name = path[1:] if path.startswith("/") else path
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name or ":memory:"}
    engines = {
        "postgres": "django.db.backends.postgresql",
        "postgresql": "django.db.backends.postgresql",
        "pgsql": "django.db.backends.postgresql",
        "mysql": "django.db.backends.mysql",
    }
    if scheme not in engines:
        raise ValueError(f"unsupported FLOWERGATE_DJANGO_DATABASE_URL scheme: {scheme!r}")
    db = {
        "ENGINE": engines[scheme],
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }
    if scheme == "mysql":
        db["OPTIONS"] = {"charset": "utf8mb4"}
    return db


SECRET_KEY = os.environ["FLOWERGATE_DJANGO_SECRET_KEY"]
SECRET_KEY_FALLBACKS = env_list("FLOWERGATE_DJANGO_SECRET_KEY_FALLBACKS")
if VERSION < (4, 0) and env("FLOWERGATE_DJANGO_DEFAULT_HASHING_ALGORITHM"):
    DEFAULT_HASHING_ALGORITHM = env("FLOWERGATE_DJANGO_DEFAULT_HASHING_ALGORITHM")

DEBUG = env("FGTEST_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"] + env_list("FGTEST_ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "flowerperms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "fgproject.urls"
WSGI_APPLICATION = "fgproject.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    }
]

DATABASES = {"default": database_from_url(env("FLOWERGATE_DJANGO_DATABASE_URL", "sqlite:///db.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

_engine = env("FLOWERGATE_DJANGO_SESSION_ENGINE", "db")
SESSION_ENGINE = _engine if "." in _engine else f"django.contrib.sessions.backends.{_engine}"
SESSION_COOKIE_NAME = env("FLOWERGATE_DJANGO_SESSION_COOKIE_NAME", "sessionid")
SESSION_COOKIE_AGE = int(env("FLOWERGATE_DJANGO_SESSION_COOKIE_AGE", "1209600"))
SESSION_FILE_PATH = env("FLOWERGATE_DJANGO_SESSION_FILE_PATH")
SESSION_SERIALIZER = "django.contrib.sessions.serializers.JSONSerializer"

AUTHENTICATION_BACKENDS = env_list(
    "FLOWERGATE_DJANGO_AUTHENTICATION_BACKENDS", ["django.contrib.auth.backends.ModelBackend"]
)
if env("FGTEST_PASSWORD_HASHERS"):
    PASSWORD_HASHERS = env_list("FGTEST_PASSWORD_HASHERS")

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = env("FGTEST_LOGIN_REDIRECT_URL", "/")
FGTEST_REDIRECT_HOSTS = env_list("FGTEST_REDIRECT_HOSTS")

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
LANGUAGE_CODE = "en-us"
if VERSION < (4, 0):
    USE_L10N = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
