"""The "Handover reviewers" group: staff in it may read handover sessions and endpoints."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Handover reviewers"
PERMISSIONS = [("endpoints", "view_handover"), ("endpoints", "view_endpoint")]


def create_group(apps, schema_editor):
    # Permissions are created after migrations (post_migrate): make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=GROUP)
    for app_label, codename in PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("endpoints", "0002_handovers"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
