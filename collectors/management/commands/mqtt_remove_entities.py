"""manage.py mqtt_remove_entities [--orphans | --all] [--dry-run] [--url URL]: remove the Home
Assistant entities enrich published over MQTT discovery and no longer keeps up to date.

Reads every retained config under MQTT_DISCOVERY_PREFIX on the broker, keeps enrich's
(collectors.ha_mqtt.found), and removes those the current configuration does not publish
(--orphans, the default: after MQTT_TOPIC_ROOT changed) or all of them (--all). Another
integration's configs are never touched.

The broker is MQTT_URL's unless --url names another. A password in --url is shown to every
user of the machine (ps lists a command's arguments), so --url may leave it out and the
password is taken from MQTT_PASSWORD (the environment or .env); one given in --url all the same
is used, with a warning. A path in --url (mosquitto_sub -L takes a topic there) is refused:
what is read is every config under MQTT_DISCOVERY_PREFIX, whatever the path says.
"""

import time
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from collectors.ha_mqtt import cleanup, found, tasks
from collectors.ha_mqtt.discovery import Topics
from collectors.ha_mqtt.publisher import topics_from_settings
from enrich.influx import TimeseriesError
from enrich.management.options import not_empty, once_each
from enrich.mqtt import presence
from enrich.mqtt.address import split
from enrich.mqtt.broker import BadMqttUrl, Broker, Endpoint, redacted
from enrich.mqtt.retained import RetainedReadError, retained_messages
from enrich.redis.client import CONNECTION_ERRORS
from enrich.url_problems import beyond_address
from enrich.wording import counted

WAIT_SECONDS = 10.0
# How long the read of every retained config may take (a large broker has thousands).
READ_SECONDS = 30.0


class Command(BaseCommand):
    help = (
        "Remove enrich's Home Assistant entities from the MQTT broker: those the current "
        "configuration no longer publishes (--orphans, default) or all of them (--all)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        once_each(parser)
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--orphans", action="store_true", help="only those not published now (default)"
        )
        which.add_argument(
            "--all", dest="everything", action="store_true", help="every entity enrich published"
        )
        parser.add_argument("--dry-run", action="store_true", help="list only, remove nothing")
        parser.add_argument(
            "--url",
            help="the broker (mqtt://user@host:1883, its password in MQTT_PASSWORD); default "
            "MQTT_URL",
        )

    def handle(self, *args, everything: bool, dry_run: bool, url: str | None, **options) -> None:
        given = "--url" if url is not None else "MQTT_URL"
        url = not_empty("--url", url, "the broker's URL", "MQTT_URL") or settings.MQTT_URL
        if not url:
            raise CommandError(
                "MQTT_URL is not set: give the broker the entities are on with --url "
                "mqtt://user@host:1883, its password in MQTT_PASSWORD."
            )
        try:
            endpoint = Endpoint.parse(url, given)
        except BadMqttUrl as exc:
            raise CommandError(str(exc)) from None
        if given == "--url":
            url = self._with_password(url, endpoint)
            endpoint = Endpoint.parse(url, given)
        topics = topics_from_settings()
        prefix = topics.discovery_prefix
        try:
            retained = retained_messages(endpoint, f"{prefix}/#", timeout=READ_SECONDS)
        except RetainedReadError as exc:
            raise CommandError(str(exc)) from None
        entities = [
            entity
            for topic, payload in sorted(retained.items())
            if (entity := found.enrich_entity(prefix, topic, payload))
        ]
        try:
            roots = cleanup.owners(endpoint, entities, topics.root)
        except RetainedReadError as exc:
            raise CommandError(str(exc)) from None
        # Another enrich's entities (a root it owns) are never this one's to remove.
        ours = [e for e in entities if e.root not in roots.others]
        if everything:
            removing = ours
        else:
            try:
                configs, nodes = cleanup.wanted(topics)
            except TimeseriesError as exc:
                raise CommandError(
                    f"InfluxDB: {exc}: what enrich publishes now is unknown."
                ) from None
            removing = [e for e in ours if e.config_topic not in configs and e.node not in nodes]
        # A root left without entities is free again; the current one while enrich publishes
        # under it stays this enrich's.
        keep = topics.root if settings.MQTT_URL and not everything else ""
        configs, named = cleanup.plan(entities, removing)
        named += roots.releasable(entities, removing, keep)
        clearing = configs + named
        what = "to remove (--all)" if everything else "orphaned"
        found_here = counted(len(entities), "entity", "entities")
        self.stdout.write(
            f"{found_here} of enrich under {prefix}/ on {endpoint.host}:{endpoint.port}, "
            f"{len(removing)} {what}."
        )
        for root, other in sorted(roots.others.items()):
            left = sum(e.root == root for e in entities)
            self.stdout.write(
                f"Left alone: {counted(left, 'entity', 'entities')} under {root}/, which "
                f"belongs to another enrich (instance {other.get('instance')}, on "
                f"{other.get('host') or 'an unknown host'})."
            )
        if not clearing:
            return
        if dry_run:
            self.stdout.write(f"Dry run: would clear {counted(len(clearing), 'retained topic')}:")
        else:
            self._remove(url, endpoint, (configs, named), removing, topics)
            self.stdout.write(
                f"Removed {counted(len(removing), 'entity', 'entities')}: cleared {counted(len(clearing), 'retained topic')}:"
            )
        for topic in clearing:
            self.stdout.write(f"  {topic}")

    def _with_password(self, url: str, endpoint: Endpoint) -> str:
        """--url with MQTT_PASSWORD's password when it names a user and no password; one it
        names is used, with a warning. A path or query is refused (the module docstring)."""
        parts, _ = split(url)
        if beyond_address(parts):
            raise CommandError(
                f"--url {redacted(url)!r} names a path or query: a broker's URL has none, and "
                f"every retained config under {settings.MQTT_DISCOVERY_PREFIX}/ is read "
                "whatever it says (topics are chosen by MQTT_DISCOVERY_PREFIX and "
                "MQTT_TOPIC_ROOT). Give the URL without it, e.g. mqtt://user@host:1883."
            )
        if endpoint.password is not None:
            self.stderr.write(
                "Warning: --url holds a password, which every user of this machine can read "
                "while the command runs (ps lists its arguments), and your shell may keep in "
                "its history. Leave it out of --url (mqtt://user@host:1883) and set "
                "MQTT_PASSWORD in the environment or .env instead."
            )
            return url
        if endpoint.username is None or not settings.MQTT_PASSWORD:
            return url
        login, _, address = parts.netloc.rpartition("@")
        user = login.partition(":")[0]  # "user:@host", an empty password, is none
        password = quote(settings.MQTT_PASSWORD, safe="")
        return parts._replace(netloc=f"{user}:{password}@{address}").geturl()

    def _remove(
        self,
        url: str,
        endpoint: Endpoint,
        clearing: tuple[list[str], list[str]],
        removing: list,
        topics: Topics,
    ) -> None:
        """Clear `clearing` (`_clear`), then forget `removing` in what the publications
        recorded, under their lock: a publication running in between would publish them again.
        On a broker other than MQTT_URL's no publication runs and the record is not about it:
        no lock."""
        if not cleanup.recorded_here(endpoint):
            self._clear(url, endpoint, clearing)
            return
        lock = tasks.publication_lock(topics, "mqtt_remove_entities")
        try:
            taken = lock.acquire(wait_seconds=tasks.LOCK_WAIT_SECONDS)
        except CONNECTION_ERRORS as exc:
            self._clear(url, endpoint, clearing)
            self.stderr.write(
                f"Redis is out of reach ({exc}): enrich's record of what it published still "
                "holds the entities removed, so a circuit among them may be published again, "
                "unavailable, for up to a day. Run this again once Redis is back."
            )
            return
        if not taken:
            raise CommandError(
                f"A publication under {topics.root}/ ran for over "
                f"{tasks.LOCK_WAIT_SECONDS:g} s; nothing removed. Run this again."
            )
        with lock.kept_alive():
            self._clear(url, endpoint, clearing)
            cleanup.forget(topics.discovery_prefix, removing)

    def _clear(self, url: str, endpoint: Endpoint, clearing: tuple[list[str], list[str]]) -> None:
        """Clear the configs, then (cleanup.SETTLE_SECONDS after the broker took them, once
        Home Assistant dropped their entities) the topics they named."""
        configs, named = clearing
        # A pending `offline` will of a status topic would be retained again after clearing it.
        for topic in named:
            if topic.endswith("/status"):
                presence.release(endpoint, topic)
        broker = Broker(url, client_prefix="enrich-cleanup").start()
        try:
            if not broker.wait_connected(WAIT_SECONDS):
                raise CommandError(
                    f"MQTT broker {broker.url}: not reachable{broker.unreachable()}; nothing "
                    "removed."
                )
            _empty(broker, configs)
            if configs and named:
                time.sleep(cleanup.SETTLE_SECONDS)
            _empty(broker, named)
        finally:
            broker.stop()


def _empty(broker: Broker, topics: list[str]) -> None:
    """Publish an empty retained payload to each of `topics`, until the broker acknowledged."""
    handed = [broker.publish(topic, "") for topic in topics]
    if not all(handed) or not broker.flush(WAIT_SECONDS):
        raise CommandError(
            f"MQTT broker {broker.url}: the connection was lost while removing; run this again."
        )
