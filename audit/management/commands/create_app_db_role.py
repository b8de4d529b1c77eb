"""Create (or re-grant) the least-privilege PostgreSQL role for the web and worker processes."""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from audit.database_roles import RoleRefused, grant_app_role


class Command(BaseCommand):
    help = (
        "Run as the owner of the tables (the role `migrate` runs as). Creates ROLE if missing "
        "(LOGIN, no superuser, owns nothing) and grants it exactly what the application needs: "
        "no TRUNCATE anywhere, no UPDATE or DELETE on insert-only evidence, no DELETE on live "
        "evidence, EXECUTE on the retention purge functions. Idempotent: re-run after migrate "
        "(or set DATABASE_APP_ROLE). See docs/reliability.md, 'Database roles'."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="Role name, e.g. hitl_app.")
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="Set the role's password from this environment variable.",
        )

    def handle(self, *args, role, password_env=None, **options):
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"{password_env} is not set or empty.")
        try:
            grant_app_role(role, password=password)
        except RoleRefused as refused:
            raise CommandError(str(refused)) from None
        except DatabaseError as error:
            raise CommandError(
                f"The database refused: {str(error).splitlines()[0]}. Creating the role (or "
                "setting its password) needs CREATEROLE: have an administrator run "
                f"`createuser --login {role}`, then run this again as the tables' owner."
            ) from None
        self.stdout.write(
            f"{role}: granted. Run the web and worker processes with "
            f"DATABASE_URL=postgres://{role}:…@host/db; keep migrating as the owner."
        )
