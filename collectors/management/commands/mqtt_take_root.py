"""manage.py mqtt_take_root: make MQTT_TOPIC_ROOT this enrich's on the broker, after the enrich
that published under it is gone for good (moved to a new database, reinstalled).

Publication refuses a root another enrich owns (collectors.ha_mqtt.owner); this command
replaces the owner message with this enrich's, so the next publication goes ahead.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from collectors.ha_mqtt import owner
from collectors.ha_mqtt.publisher import topics_from_settings
from enrich.mqtt.broker import BadMqttUrl, Broker, Endpoint
from enrich.mqtt.retained import RetainedReadError

WAIT_SECONDS = 10.0


class Command(BaseCommand):
    help = (
        "Make MQTT_TOPIC_ROOT this enrich's on the MQTT broker, when the enrich that published "
        "under it is gone for good. Stop that other enrich first."
    )

    def handle(self, *args, **options) -> None:
        if not settings.MQTT_URL:
            raise CommandError("MQTT_URL is not set: nothing is published, no root to take.")
        try:
            endpoint = Endpoint.parse(settings.MQTT_URL)
        except BadMqttUrl as exc:
            raise CommandError(str(exc)) from None
        root, mine = topics_from_settings().root, owner.instance_id()
        try:
            before = owner.current_owner(endpoint, root)
        except RetainedReadError as exc:
            raise CommandError(str(exc)) from None
        if before is not None and before.get("instance") == mine:
            self.stdout.write(f"MQTT_TOPIC_ROOT={root!r} is this enrich's already ({mine}).")
            return
        broker = Broker(settings.MQTT_URL, client_prefix="enrich-take-root").start()
        try:
            published = broker.wait_connected(WAIT_SECONDS) and broker.publish(
                owner.owner_topic(root), owner.claim(mine)
            )
            if not published or not broker.flush(WAIT_SECONDS):
                raise CommandError(
                    f"MQTT broker {broker.url}: not reachable{broker.unreachable()}; nothing "
                    "changed."
                )
        finally:
            broker.stop()
        was = "nobody" if before is None else f"instance {before.get('instance')}"
        if before is not None and before.get("host"):
            was += f" on {before['host']}"
        self.stdout.write(
            f"MQTT_TOPIC_ROOT={root!r} is now this enrich's ({mine}); it was {was}'s."
        )
