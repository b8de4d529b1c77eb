from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-in security for people: two-factor enrolment and verification (django-otp)."""

    name = "accounts"
    verbose_name = "Sign-in security"
