"""A circuit renamed in its meter's app keeps its Home Assistant entity.

An Emporia channel or a Sense device renamed in its app is a new circuit in InfluxDB: a new
`circuit` tag, its old tag kept reserved for it (collectors.circuit_keys). It is still the
same channel or device: what stays the same about it (Emporia's channel number, Sense's device
id) is the first part of the owner of each of its tags, in the meter's scope
(`<provider>/<device_gid>` for Emporia, `<provider>/<monitor id>` for Sense). Of the tags of
one channel read back, only the newest is shown, and it keeps the entity the channel had: its
entity key passes from the old name's owner to the new one (Keys' hand-over), so the unique
id, the entity id and its history stay, the name follows the app, and the entity is not
unavailable in between. An Emporia device (a Vue, a plug) renamed in its app is the same
`device_gid` whose series take the new `device` name, each circuit keeping its tag (the tags
are kept per gid): its channels' tags under both device names are one channel each, and the
key passes from the old device name's owner likewise; so does the key of its phantom load
(circuit ""), whose figures under both names are one device's, from the first night's under
the new name. A meter silent for over an hour (the circuits are read back from the hour
before its newest data: collectors.ha_mqtt.meters) and renamed meanwhile has no value under
the old name read back: then the channel's other tags, kept for good, name it, and the
key passes from the owner of one of them (under any name of the Emporia device: its gid and
the tag are one channel; a key kept by names alone, before the gids were read, under any name
the gid's series had). A Home Assistant meter's circuits are named in options.circuits, by
the user: a new name there is a new circuit.
"""

from collections.abc import Callable, Iterable

from collectors import circuit_keys
from collectors.circuit_keys import Keys, owner, parts
from collectors.ha_mqtt.meters import MeterValue

# (device, device_gid, circuit) of a circuit shown -> its channel's other (device, circuit)
# tags, newest first: those read back, then the channel's other tags kept (device None: of no
# value read back, under whichever name of the device)
Before = dict[tuple[str, str, str], list[tuple[str | None, str]]]


def _scope(provider: str, value: MeterValue) -> str:
    return f"{provider}/{value.gid or value.device}"


def newest_names(provider: str, circuits: list[MeterValue]) -> tuple[list[MeterValue], Before]:
    """The circuits to show, one per channel: of the tags of one channel, the one with the
    newest value (where two have the same time, e.g. a Sense device that is off, 0 W under each
    name it holds, the tag given last); and the channel's other tags of each. A tag of no
    known channel is a circuit of its own."""
    known = circuit_keys.owners({_scope(provider, c) for c in circuits})
    kept: dict[tuple[str, str], list[str]] = {}  # channel -> its tags, the last given first
    for (scope, tag), (who, _) in reversed(known.items()):
        if ident := parts(who)[:1]:
            kept.setdefault((scope, f"channel {ident[0]}"), []).append(tag)
    channels: dict[tuple[str, str], list[tuple[MeterValue, int]]] = {}
    for value in circuits:
        scope = _scope(provider, value)
        who, rank = known.get((scope, value.circuit), ("", -1))
        ident = parts(who)[:1]
        channel = (scope, f"channel {ident[0]}" if ident else f"tag {value.circuit}")
        channels.setdefault(channel, []).append((value, rank))
    shown: list[MeterValue] = []
    before: Before = {}
    for channel, tags in channels.items():
        tags.sort(key=lambda tag: (tag[0].time, tag[1]), reverse=True)
        newest = tags[0][0]
        shown.append(newest)
        read = [(v.device, v.circuit) for v, _ in tags[1:]]
        present = {v.circuit for v, _ in tags}
        others = [(None, tag) for tag in kept.get(channel, []) if tag not in present]
        before[newest.device, newest.gid, newest.circuit] = [*read, *others]
    order = {id(value): n for n, value in enumerate(circuits)}
    return sorted(shown, key=lambda value: order[id(value)]), before


def _owners(found: MeterValue, device: str, circuit: str) -> list[str]:
    """The owners an entity key of the circuit named `circuit` of the device named `device`
    may have (entities._key)."""
    plain = owner(device, circuit) if circuit else owner(device)  # a device's phantom load
    return [owner(device, circuit, found.gid), plain] if found.gid else [plain]


def renamed_from(
    keys: Keys, found: MeterValue, before: Before, named: Callable[[str], Iterable[str]]
) -> str | None:
    """The owner of the entity key the circuit's channel had under a name before (its newest
    such name first), when the circuit holds no key under its own name; else None. `named`:
    the names a gid's series have had (meters.device_names)."""
    if any(keys.holds(who) for who in _owners(found, found.device, found.circuit)):
        return None
    # Last, its own tag under another name of its Emporia device, however long ago that had a
    # value (a Vue offline for hours and renamed meanwhile)
    names = [*before.get((found.device, found.gid, found.circuit), []), (None, found.circuit)]
    for device, circuit in names:
        for was in _owners(found, device, circuit) if device else _any_name(keys, found, circuit,
                                                                             named):  # fmt: skip
            if keys.holds(was):
                return was
    return None


def _any_name(
    keys: Keys, found: MeterValue, circuit: str, named: Callable[[str], Iterable[str]]
) -> list[str]:
    """The owners of keys of the tag `circuit` of the device of `found` under any of its names,
    the last given first: an Emporia device's tags are kept per gid, so gid and tag are one
    channel whatever the device was called when it had the key; then the owners of names alone
    (keys kept before the gids were read: entities._key hands them to the gid's owner) under
    each name the gid's series have had (`named`). A meter without a gid (Sense) keeps its
    device's name."""
    if not found.gid:
        return _owners(found, found.device, circuit)
    kept = [who for who in reversed(keys.held.values()) if parts(who)[1:] == [circuit, found.gid]]
    names = sorted(named(found.gid))
    return kept + [owner(name, circuit) if circuit else owner(name) for name in names]
