"""The images docker-compose.yml and the Dockerfile run stay what they were written as: a
`docker compose pull` (or a rebuild) must not move a service to another version under the user,
and the app's own image is built from the checkout, never pulled."""

import re

from tests.support.compose import COMPOSE, ROOT

SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker-collectors", "worker-retention", "beat", "flower")
# Tags that follow whatever was published last, not one version.
MOVING_TAGS = {"latest", "stable", "edge", "main", "master", "alpine", "slim"}
# 7.4, 16, 3.11-slim; MinIO's dated releases.
VERSION = re.compile(r"\d+(\.\d+)*(-[\w.]+)?|RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ")


def images() -> list[tuple[str, str]]:
    """(where, image) of every image the compose file names, its commented examples included
    (a user uncommenting the InfluxDB 2.7 service runs what is written there), and the
    Dockerfile's base."""
    found = [(name, service["image"]) for name, service in SERVICES.items() if "image" in service]
    text = (ROOT / "docker-compose.yml").read_text()
    found += [("comment", image) for image in re.findall(r"^\s*#\s*image:\s*(\S+)", text, re.M)]
    dockerfile = (ROOT / "Dockerfile").read_text()
    found += [("Dockerfile", image) for image in re.findall(r"^FROM (\S+)", dockerfile, re.M)]
    return found


def tag_of(image: str) -> str | None:
    """The tag of `name[:tag]` (a registry's `host:port/` is not one)."""
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def test_tag_of_reads_registry_ports_and_missing_tags():
    assert tag_of("minio/minio") is None
    assert tag_of("registry.local:5000/minio/minio") is None
    assert (
        tag_of("quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z") == "RELEASE.2025-09-07T16-13-09Z"
    )


def test_every_image_names_a_version():
    """Not untagged (= latest), not `latest` or another moving name: a version or release."""
    checked = images()
    assert {where for where, _ in checked} >= {"redis", "postgres", "influxdb", "minio", "web"}
    moving = [
        f"{where}: {image}"
        for where, image in checked
        if tag_of(image) in MOVING_TAGS
        # The app's own image is built here, never pulled (below): its tag names no release.
        or (where not in APP_SERVICES and not VERSION.fullmatch(tag_of(image) or ""))
    ]
    assert moving == [], "these follow whatever was published last"


def test_the_app_image_is_built_from_the_checkout_never_pulled():
    """`docker compose up -d` after a `git pull` runs the new code, and `docker compose pull`
    never fetches some other image of the same name."""
    for name in APP_SERVICES:
        service = SERVICES[name]
        assert service["build"] == "."
        assert service["pull_policy"] == "build", name
