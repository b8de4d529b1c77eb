"""Django's createsuperuser, followed by how the new account signs in with a second factor."""

from django.conf import settings
from django.contrib.auth.management.commands.createsuperuser import Command as BaseCommand


class Command(BaseCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options.get("verbosity", 1) < 1:
            return
        required = "required" if settings.OTP_REQUIRED else "optional (OTP_REQUIRED is off)"
        self.stdout.write(
            "\nTwo-factor sign-in is " + required + ". After signing in at /admin/ with this "
            "password, open /admin/two-factor/setup/ (you are sent there when it is required): "
            "scan the QR code with an authenticator app, type the code it shows, and keep the "
            "backup codes you are given. See README.md, 'Two-factor sign-in'.\n"
        )
