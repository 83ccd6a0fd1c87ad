"""Ask for a publication when what Home Assistant shows changes: a collection wrote data, or a
site, provider or flexible load was added, changed, disabled or deleted (deleted ones are then
removed)."""

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from collectors.models import CollectorRun, FlexibleLoad
from enrich.models import ProviderConfig, Site


@receiver(post_save, sender=CollectorRun, dispatch_uid="ha_mqtt_after_write")
def after_write(sender, instance: CollectorRun, created: bool, **_) -> None:
    # "partial" wrote points too (the latest values with a failed backfill, or prices that end
    # before now), as does a run that failed after its write (collectors.after_write): what
    # the entities show may have changed.
    wrote = instance.status in (CollectorRun.Status.OK, CollectorRun.Status.PARTIAL)
    if created and (wrote or instance.points_written):
        _request()


@receiver(post_save, sender=Site, dispatch_uid="ha_mqtt_site_saved")
@receiver(post_delete, sender=Site, dispatch_uid="ha_mqtt_site_deleted")
@receiver(post_save, sender=ProviderConfig, dispatch_uid="ha_mqtt_provider_saved")
@receiver(post_delete, sender=ProviderConfig, dispatch_uid="ha_mqtt_provider_deleted")
@receiver(post_save, sender=FlexibleLoad, dispatch_uid="ha_mqtt_load_saved")
@receiver(post_delete, sender=FlexibleLoad, dispatch_uid="ha_mqtt_load_deleted")
def configuration_changed(sender, **_) -> None:
    _request()


def _request() -> None:
    if not settings.MQTT_URL:
        return
    from collectors.ha_mqtt.tasks import request_publish  # the task module imports Celery

    transaction.on_commit(request_publish)  # the task must see the committed change
