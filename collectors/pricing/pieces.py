"""Price slots and the parts of them a window uses: the pure primitives of `windows`."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class Priced(Protocol):
    """A price slot: `[start, end)` as aware datetimes and a price per kWh."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def price(self) -> float: ...


@dataclass(frozen=True, order=True)
class Piece:
    """The part of a price slot that lies inside a window (one may start or end mid-slot)."""

    start: datetime
    end: datetime
    price: float


def seconds(slot: Priced) -> float:
    return (slot.end - slot.start).total_seconds()


def average(slots: Sequence[Priced]) -> float:
    """The time-weighted average price of slots (or pieces of them)."""
    return sum(s.price * seconds(s) for s in slots) / sum(seconds(s) for s in slots)


def runs(slots: Sequence[Priced]) -> list[list[Priced]]:
    """Time-ordered slots as back-to-back runs (each slot starts where the one before ends)."""
    found: list[list[Priced]] = []
    for slot in slots:
        if found and found[-1][-1].end == slot.start:
            found[-1].append(slot)
        else:
            found.append([slot])
    return found


def judged(slots: Sequence[Priced], sign: float, share: float) -> float:
    """The signed average a set of slots is chosen by: plus `share` of its absolute value per
    interruption (lower is better)."""
    signed = sign * average(slots)
    return signed + (len(runs(slots)) - 1) * share * abs(signed)


def ordered(slots: Iterable[Priced]) -> list[Priced]:
    """Slots in time order; of overlapping slots the one starting first is kept."""
    kept: list[Priced] = []
    for slot in sorted(slots, key=lambda s: (s.start, s.end)):
        if not kept or slot.start >= kept[-1].end:
            kept.append(slot)
    return kept


def piece(slot: Priced, start: datetime, end: datetime) -> Priced:
    """The part [start, end) of a slot, at the slot's price."""
    return Piece(start, end, slot.price)


Cut = Callable[[Priced, datetime, datetime], Priced | None]


def pieces_from(
    slots: Sequence[Priced], start: datetime, duration: timedelta, cut: Cut = piece
) -> list[Priced] | None:
    """The known prices over [start, start + duration) as pieces of the slots (made by `cut`,
    which may price a part differently from the whole, or answer None: unknown); None when
    part of that time has no price."""
    end = start + duration
    pieces, cursor = [], start
    for slot in ordered(slots):
        if slot.end <= cursor or slot.start >= end:
            continue
        part = None if slot.start > cursor else cut(slot, cursor, min(slot.end, end))
        if part is None:
            return None  # a gap: the price for part of the time is unknown
        pieces.append(part)
        cursor = part.end
        if cursor >= end:
            return pieces
    return None
