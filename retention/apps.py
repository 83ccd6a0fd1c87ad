from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = "Retention"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from retention.models import Entity
        from retention.rollups.follow import entity_deleted

        # The materialized views follow every delete of an entity (retention.rollups.follow).
        post_delete.connect(entity_deleted, sender=Entity, dispatch_uid="views_follow_deletes")
