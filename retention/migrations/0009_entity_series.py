from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0008_view_follow_up"),
    ]

    operations = [
        migrations.AddField(
            model_name="entity",
            name="series",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Measurements holding the entity's points and the unit written there "
                "(discovery).",
            ),
        ),
    ]
