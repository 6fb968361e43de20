"""Creates a Django SQLite database with real Django: the auth schema, a superuser "admin", a
staff user "viewer", and a logged-in session for each. Prints {"admin": key, "viewer": key}.

    /usr/bin/python3 make-django-db.py DB_PATH SECRET_KEY
"""
import json
import sys

import django
from django.conf import settings

db_path, secret_key = sys.argv[1], sys.argv[2]
settings.configure(
    SECRET_KEY=secret_key,
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db_path}},
    USE_TZ=True,
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # fast; only the hash's HMAC matters
)
django.setup()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)


def logged_in_session(user):
    """What django.contrib.auth.login() stores."""
    session = SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


admin = User.objects.create_superuser("admin", "admin@example.com", "pw")
viewer = User.objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
print(json.dumps({"django": django.get_version(), "admin": logged_in_session(admin), "viewer": logged_in_session(viewer)}))
