"""Print a new API key for an AI system, once, for provisioning scripts."""

from django.core.management.base import BaseCommand, CommandError

from audit.services.ledger import Actor
from oversight.exceptions import DomainError
from oversight.models import AISystem
from oversight.services.credentials import create_api_key


class Command(BaseCommand):
    help = "Create an API key for the AI system SYSTEM_SLUG and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("system_slug", metavar="SYSTEM_SLUG")
        parser.add_argument(
            "--name", default="provisioned from the command line", help="Label shown in the admin."
        )

    def handle(self, *args, system_slug, name, **options):
        ai_system = AISystem.objects.filter(slug=system_slug).first()
        if ai_system is None:
            known = ", ".join(AISystem.objects.values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"No AI system {system_slug!r}. Known slugs: {known}.")
        try:
            api_key, plain = create_api_key(
                ai_system=ai_system, name=name, actor=Actor.system("create_api_key command")
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(
            f"Created key {api_key.prefix}… for {ai_system.slug}. "
            "Store it now: it is not shown again."
        )
        # The key alone on stdout, so scripts can capture it: KEY=$(manage.py create_api_key x)
        self.stdout.write(plain)
