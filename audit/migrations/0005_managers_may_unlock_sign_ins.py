"""Let managers see and lift login lock-outs (oversight.roles.SIGN_IN_UNLOCK_PERMISSIONS)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; make axes' exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    from oversight.roles import SIGN_IN_UNLOCK_PERMISSIONS

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in SIGN_IN_UNLOCK_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def revoke(apps, schema_editor):
    from oversight.roles import SIGN_IN_UNLOCK_PERMISSIONS

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in SIGN_IN_UNLOCK_PERMISSIONS.items():
        for group in Group.objects.filter(name=role):
            for name in names:
                app_label, codename = name.split(".")
                group.permissions.remove(
                    *Permission.objects.filter(content_type__app_label=app_label, codename=codename)
                )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_signed_checkpoints_and_purge_records"),
        ("axes", "0010_accessattemptexpiration"),
        ("oversight", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
