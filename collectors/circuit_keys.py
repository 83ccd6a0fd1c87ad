"""Keys given to circuits for good: a circuit's tag in InfluxDB, its Home Assistant entity key.

A meter's names can clash: two Emporia channels named alike, two Sense devices both "Heater",
HA circuit names that read alike as an entity key ("Heat pump", "Heat-Pump"). One of them gets
the plain key, the others a suffixed one. Which one is remembered (the CircuitKey model, in the
relational database: Redis here is a cache that may be flushed or lose its last writes, and a
key lost would hand an existing series to the other circuit). So a key, once given, stays with
its circuit: a circuit that comes later, or back after a while without data, takes a free key
or its suffixed one, never the key another holds, and no existing key is renamed. The owner is
what stays the same about a circuit (Emporia's channel, Sense's device id, the HA circuit's
name) with its name: a renamed circuit is a new owner; its old key stays reserved. An owner
that comes to say more about the same circuit (an Emporia device's gid added to its name, once
two devices of one name had to be told apart) takes over the key of the owner it was before,
once: the key and its entity stay, and the row names the new owner from then on.

The adapters read the keys from Credentials.kept and report the keys they gave in
FetchResult.kept; the pipeline loads and saves them (load, save). Nothing here is imported by
an adapter but Keys, owner and parts, which touch no database.
"""

import json
from collections.abc import Mapping

MQTT_SCOPE = "ha_mqtt"


def owner(*parts: str) -> str:
    """Who holds a key, e.g. owner("4", "Kitchen") for channel 4 named Kitchen."""
    return json.dumps(list(parts), ensure_ascii=False)


def parts(who: str) -> list[str]:
    """What owner() was given, e.g. ["4", "Kitchen"]; [] for an owner not of its form."""
    try:
        found = json.loads(who)
    except ValueError:
        return []
    return [str(p) for p in found] if isinstance(found, list) else []


class Keys:
    """The keys of one scope (one meter device's circuit tags, or one site's entity keys)."""

    def __init__(self, held: Mapping[str, str] | None = None) -> None:
        self.held = dict(held or {})  # key -> owner, also keys given by this run
        self._owned = {who: key for key, who in self.held.items()}
        self.given: dict[str, str] = {}  # key -> owner, given by this run: to be saved
        self.handed: dict[str, tuple[str, str]] = {}  # key -> (owner before, owner now)

    def holds(self, who: str) -> bool:
        """Whether `who` holds a key of this scope."""
        return who in self._owned

    def key(
        self, who: str | None, wanted: str, other: str, free: bool = True, was: str | None = None
    ) -> str:
        """The key `who` holds; else the key `was` (who it was before, see the module) holds,
        handed over to `who`; else `wanted` when no one holds it and `free` (the caller's "no
        other circuit of this answer shares the name"), else `other` (`wanted` with the
        circuit's own suffix). `who` None: a circuit with nothing that stays the same about it
        gets a key for this run only."""
        if who is not None and who in self._owned:
            return self._owned[who]
        if who is not None and was is not None and was in self._owned:
            key = self._owned.pop(was)
            self.held[key], self._owned[who], self.handed[key] = who, key, (was, who)
            return key
        key, n = (wanted if free and wanted not in self.held else other), 1
        while key in self.held:  # `other` held too (a name that reads like a suffixed one)
            n += 1
            key = f"{other}_{n}"
        self.held[key] = who or ""
        if who is not None:
            self._owned[who] = key
            self.given[key] = who
        return key


def load(site_id: int, prefix: str) -> dict[str, dict[str, str]]:
    """The keys of the site's scopes starting with `prefix`: {scope: {key: owner}}, each scope's
    in the order they were given."""
    from collectors.models import CircuitKey

    found: dict[str, dict[str, str]] = {}
    rows = CircuitKey.objects.filter(site_id=site_id, scope__startswith=prefix)
    rows = rows.order_by("given", "pk")
    for scope, key, who in rows.values_list("scope", "key", "owner"):
        found.setdefault(scope, {})[key] = who
    return found


def owners(scopes: set[str]) -> dict[tuple[str, str], tuple[str, int]]:
    """{(scope, key): (its owner, its rank)} of the keys of `scopes`, of whichever site (a
    meter's scope names its device, which one account's config collects): the rank counts up
    in the order the keys were given."""
    from collectors.models import CircuitKey

    rows = CircuitKey.objects.filter(scope__in=scopes).order_by("given", "pk")
    found: dict[tuple[str, str], tuple[str, int]] = {}
    for rank, (scope, key, who) in enumerate(rows.values_list("scope", "key", "owner")):
        found.setdefault((scope, key), (who, rank))
    return found


def save(
    site_id: int,
    given: Mapping[str, Mapping[str, str]],
    handed: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
) -> None:
    """Keep the keys a run gave ({scope: {key: owner}}); a key someone holds already stays his.
    `handed` ({scope: Keys.handed}): keys that passed to their owner's new form; a key whose
    row names someone else by now (another run handed it first) stays as it is. A site deleted
    (in the admin) while its run or publication gave them keeps none: nothing is saved."""
    from django.db import transaction

    from collectors.models import CircuitKey
    from enrich.models import Site

    rows = [
        CircuitKey(site_id=site_id, scope=scope, key=key, owner=who)
        for scope, keys in given.items()
        for key, who in keys.items()
    ]
    if not rows and not any((handed or {}).values()):
        return
    with transaction.atomic():  # the site row held: its deletion waits for these rows
        if not Site.objects.select_for_update(no_key=True).filter(pk=site_id).exists():
            return
        CircuitKey.objects.bulk_create(rows, ignore_conflicts=True)
        for scope, keys in (handed or {}).items():
            for key, (before, now) in keys.items():
                CircuitKey.objects.filter(
                    site_id=site_id, scope=scope, key=key, owner=before
                ).update(owner=now)
