#!/usr/bin/python3
"""Django's command-line utility for flowergate's test project (run with /usr/bin/python3)."""
import os
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the repository

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fgproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
