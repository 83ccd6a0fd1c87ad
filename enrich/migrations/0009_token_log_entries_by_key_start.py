"""The admin's log of changes (its "Recent actions" and an object's History page) names a
token by the text it had when the change was made: before `enrich/admin_tokens.py` that was
the token's whole key. This names each such entry by the key's first 8 characters, as the
admin names a token (`enrich.admin_tokens.key_start`, which this does not import: importing
the admin module registers admin classes)."""

from django.db import migrations

SHOWN = 8  # enrich.admin_tokens.SHOWN


def name_tokens_by_key_start(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    log_entry = apps.get_model("admin", "LogEntry")
    tokens = content_type.objects.filter(app_label="authtoken", model__in=("token", "tokenproxy"))
    entries = log_entry.objects.filter(content_type__in=tokens).exclude(object_repr="")
    renamed = []
    for entry in entries.only("pk", "object_repr").iterator():
        start = f"{entry.object_repr[:SHOWN]}…"
        if entry.object_repr != start:
            entry.object_repr = start
            renamed.append(entry)
    log_entry.objects.bulk_update(renamed, ["object_repr"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("enrich", "0008_field_names_in_words"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(name_tokens_by_key_start, migrations.RunPython.noop, elidable=True),
    ]
