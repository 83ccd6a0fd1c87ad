"""A Home Assistant entity saved as discovery registers it: first seen at a moment, in an
area when given (the views count an entity only from its first sighting)."""

from __future__ import annotations

from datetime import datetime

from retention import models


def save(entity: models.Entity, first_seen: datetime, area: str = "") -> models.Entity:
    entity.first_seen = first_seen
    if area:
        entity.area = area
    entity.save()
    return entity
