"""Create or update users (and groups) from a JSON spec.

    manage.py fg_users spec.json        # or "-" for standard input

Spec: either a list of users, or {"groups": {...}, "users": [...]}:

    {
      "groups": {"flower-viewers": ["flowerperms.can_act"]},
      "users": [
        {"username": "root", "password": "pw", "email": "root@example.com",
         "is_superuser": true, "is_staff": true, "is_active": true,
         "groups": ["flower-viewers"], "perms": ["auth.view_user"]}
      ]
    }

Passwords are hashed with the project's PASSWORD_HASHERS (Django's default unless
FGTEST_PASSWORD_HASHERS is set). Prints one JSON line per user: {"username", "id"}.
"""

import json
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


def permission(label):
    try:
        app_label, codename = label.split(".", 1)
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)
    except (ValueError, Permission.DoesNotExist):
        raise CommandError(f"unknown permission {label!r} (expected app_label.codename)")


class Command(BaseCommand):
    help = "Create or update users and groups from a JSON spec (file path or '-')."

    def add_arguments(self, parser):
        parser.add_argument("spec", help="JSON file, or - for standard input")

    @transaction.atomic
    def handle(self, *args, spec, **options):
        data = json.load(sys.stdin if spec == "-" else open(spec, encoding="utf-8"))
        if isinstance(data, list):
            data = {"users": data}
        for name, perms in (data.get("groups") or {}).items():
            group, _ = Group.objects.get_or_create(name=name)
            group.permissions.set([permission(p) for p in perms])
        User = get_user_model()
        for item in data.get("users") or []:
            user, _ = User.objects.get_or_create(username=item["username"])
            user.email = item.get("email", "")
            user.is_superuser = bool(item.get("is_superuser", False))
            user.is_staff = bool(item.get("is_staff", user.is_superuser))
            user.is_active = bool(item.get("is_active", True))
            if item.get("password") is None:
                user.set_unusable_password()
            else:
                user.set_password(item["password"])
            user.save()
            groups = []
            for name in item.get("groups", []):
                groups.append(Group.objects.get_or_create(name=name)[0])
            user.groups.set(groups)
            user.user_permissions.set([permission(p) for p in item.get("perms", [])])
            self.stdout.write(json.dumps({"username": user.username, "id": str(user.pk)}))
