"""Commands refuse bad arguments with a CommandError naming them, before they change anything.

Each case was found by sending every command hostile values: it raised a bare exception
(ValueError, DataError, IntegrityError, OverflowError, OSError), ran without end, or did damage
first (`demo_home --fresh` dropped its database before it noticed a bad --end or --days;
`restore_from_archive --output` replaced any file it was given).
"""

import os
import re
import resource
import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from retention.models import Entity, RetentionRun

pytestmark = pytest.mark.django_db


def refused(command: str, *args, match: str, **options) -> None:
    with pytest.raises(CommandError, match=match):
        call_command(command, *args, **options)


@pytest.fixture
def demo_database():
    """A demo database holding one marker point: it must survive a refused --fresh run."""
    ts, name = get_timeseries(), f"test_cmd_demo_{uuid.uuid4().hex[:8]}"
    ts.create_database(name)
    ts.write(name, [Reading("marker", {"v": 1.0}, datetime(2026, 1, 1, tzinfo=UTC))])
    yield name
    ts.drop_database(name)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--days", "1000000"], r"--days 1000000: give from 1 to 3660 days"),
        (["--days", str(10**30)], r"--days 10{30}: give from 1 to 3660 days"),
        (["--entities", "100000000"], r"--entities 100000000: at most 1000 entities"),
        (["--end", "0001-01-01T00:00:00+00:00"], r"the history must lie from 1900-01-01"),
        (["--end", "2300-01-01T00:00:00+00:00"], r"the history must lie from 1900-01-01"),
        (["--end", "1900-01-02T00:00:00+00:00", "--days", "7"], r"the history must lie"),
    ],
)
def test_demo_home_checks_everything_before_it_drops_its_database(demo_database, args, match):
    refused("demo_home", "--fresh", "--database", demo_database, *args, match=match)
    rows = get_timeseries().query(demo_database, 'SELECT * FROM "marker"')
    assert [r.values["v"] for r in rows] == [1.0]


@pytest.mark.parametrize("name", ["", " ", " demo", "demo ", "my\ndemo", "demo\tx"])
def test_demo_home_refuses_a_blank_or_padded_database_name(name):
    # A newline was sent to InfluxDB, which said "rejected the query on database None".
    refused("demo_home", "--database", name, match=r"--database .*: give a name without spaces")


def test_restore_never_replaces_a_file_unless_forced(tmp_path):
    existing = tmp_path / "mine.parquet"
    existing.write_bytes(b"the user's own file")
    args = ["2024-01-01", "2024-01-31"]
    refused("restore_from_archive", *args, output=existing,
            match=r"--output '.*mine.parquet' exists already; give --force to replace it")  # fmt: skip
    assert existing.read_bytes() == b"the user's own file"
    refused("restore_from_archive", *args, output=tmp_path, match=r"is a folder; name a file")
    refused("restore_from_archive", *args, output=tmp_path / "missing" / "x.parquet",
            match=r"which is not a folder")  # fmt: skip
    # The file is written beside it and renamed there: never over a device, even forced.
    refused("restore_from_archive", *args, output="/dev/null", force=True,
            match=r"^--output '/dev/null' is no regular file \(a device, a pipe\); name a file")  # fmt: skip


@pytest.mark.parametrize(
    ("command", "option"),
    [("downsample_hourly", "start"), ("downsample_daily", "end"), ("archive_to_s3", "as_of")],
)
def test_an_empty_day_is_refused_not_read_as_every_day(command, option):
    # An unset shell variable ("--start $DAY") must not become a run over all the data.
    flag = "--" + option.replace("_", "-")
    refused(command, "--dry-run", f"{flag}=", match=f"{flag} '' is empty")


def test_restore_refuses_an_empty_database_not_read_as_the_default():
    # An unset shell variable ("--database $DB") restored into RESTORE_INFLUXDB_DATABASE.
    refused("restore_from_archive", "2024-01-01", "2024-01-31", database="",
            match=r"--database '' is empty: give an InfluxDB database's name, or "
            r"leave --database out \(RESTORE_INFLUXDB_DATABASE\)")  # fmt: skip
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        # Was read as not given: the prompt (or "pass the current code with --code").
        ({"code": ""}, r"--code '' is empty: give the one-time code, or leave --code out"),
        # Was read as not given: the one site using Sense was logged in.
        ({"site": "", "code": "123456"}, r"--site '' is empty: give a site's name, or leave"),
    ],
)
def test_sense_login_refuses_an_empty_option_not_read_as_not_given(options, match):
    site = Site.objects.create(name="Home", latitude=52.5, longitude=13.4)
    ProviderConfig.objects.create(site=site, source="smart_meter", provider="sense")
    refused("sense_login", match=match, **options)


@pytest.mark.parametrize(
    ("command", "args", "match"),
    [
        # Was the broker of MQTT_URL: --all removed every entity there.
        ("mqtt_remove_entities", ["--dry-run", "--all", "--url="],
         r"--url '' is empty: give the broker's URL, or leave --url out \(MQTT_URL\)"),
        # Was HA_INFLUXDB_DATABASE, scanned and its entities registered.
        ("discover_entities", ["--database="],
         r"--database '' is empty: give an InfluxDB database's name, or leave --database out "
         r"\(HA_INFLUXDB_DATABASE\)"),
    ],
)  # fmt: skip
def test_an_empty_option_is_not_read_as_its_setting(command, args, match):
    refused(command, *args, match=match)


@pytest.mark.parametrize("day", ["2024-W10-1", "20240301"])
def test_a_day_is_written_yyyy_mm_dd_only(day):
    told = f"'{day}' is not valid: expected a date as YYYY-MM-DD, e.g. 2026-11-27."
    refused("downsample_hourly", "--dry-run", "--start", day, match=re.escape(f"--start: {told}"))
    refused("archive_to_s3", "--dry-run", "--as-of", day, match=re.escape(f"--as-of {told}"))


@pytest.mark.parametrize("name", ["", " ", "a\x00b", "n" * 200, "two words"])
def test_create_token_refuses_a_name_no_user_can_have(name):
    refused("create_token", name, read_only=True, match=r"NAME .*: ")
    assert not get_user_model().objects.exists()


def test_ensure_admin_refuses_a_bad_or_taken_name():
    refused("ensure_admin", username="", match=r"--username '': ")
    get_user_model().objects.create_user("home-assistant")
    refused("ensure_admin", username="home-assistant", match=r"exists already and is no admin")
    assert not get_user_model().objects.filter(is_superuser=True).exists()


def test_sense_login_refuses_a_nul_in_the_site_name():
    refused("sense_login", site="a\x00b", code="123456", match=r"--site .*: a site name holds no")


def test_refresh_views_quotes_the_unknown_names():
    refused("refresh_views", "", match=r"unknown view ''; use ")
    refused("refresh_views", "", "x y", match=r"unknown views '', 'x y'; use ")


@pytest.mark.parametrize("max_age", ["0", "-5"])
def test_check_beat_refuses_a_limit_no_tick_can_meet(max_age):
    refused("check_beat", "--max-age", max_age, match=r"--max-age: a whole number of seconds")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        # Was a ValueError traceback ("Invalid IPv6 URL") from urllib.
        ("mqtt://[::1", r"--url 'mqtt://\[::1' is not valid: use mqtt://host:1883"),
        ("mqtt://u:secret@[::1", r"--url '\*\*\*@\[::1' is not valid"),  # no password said
        # Was read as no port given: the command went to the broker on 1883.
        ("mqtt://127.0.0.1:0", r"--url 'mqtt://127.0.0.1:0' has an invalid port"),
        # Named MQTT_URL, a setting nobody gave it in.
        ("http://broker:1883", r"^--url 'http://broker:1883' is not valid: use mqtt://"),
        # Was read as the broker alone (mosquitto_sub -L takes a topic there): every config
        # under MQTT_DISCOVERY_PREFIX was read and removed, not those of the topic given.
        (
            "mqtt://u:secret@127.0.0.1:1883/homeassistant/sensor/#",
            r"^--url 'mqtt://u:\*\*\*@127.0.0.1:1883/homeassistant/sensor/#' names a path",
        ),
        ("mqtt://127.0.0.1:1883?topic=x", r"^--url 'mqtt://127.0.0.1:1883\?topic=x' names a"),
    ],
)
def test_mqtt_remove_entities_refuses_a_url_that_names_no_broker(url, said):
    refused("mqtt_remove_entities", "--dry-run", "--all", url=url, match=said)


@pytest.mark.parametrize("value", ["\u0663", "\uff13", "1_0", " 3", "+3"])
def test_a_whole_number_option_is_written_in_ascii_digits(demo_database, value):
    # int() read each as 3 or 10: demo data written, or the beat checked, for a number nobody
    # wrote (the API, the forms and the settings refuse them: enrich.numerals).
    told = re.escape(f"{value!r} is not valid: expected a whole number in the digits 0-9")
    for option in ("--days", "--entities", "--seed"):
        refused("demo_home", "--fresh", "--database", demo_database, option, value,
                match=rf"argument {option}: {told}")  # fmt: skip
    refused("check_beat", "--max-age", value, match=rf"argument --max-age: {told}")
    rows = get_timeseries().query(demo_database, 'SELECT * FROM "marker"')
    assert [r.values["v"] for r in rows] == [1.0]


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("downsample_daily", ["--dry-run", "--start", "2024-01-01", "--start", "2024-02-01"]),
        ("downsample_hourly", ["--dry-run", "--end", "2024-01-01", "--end", "2024-02-01"]),
        ("archive_to_s3", ["--dry-run", "--as-of", "2024-01-01", "--as-of", "2024-02-01"]),
        ("rebuild_view", ["daily_carbon_summary", "--start", "2024-01-01", "--start",
                          "2024-01-05", "--end", "2024-01-06"]),
        ("restore_from_archive", ["2024-01-01", "2024-01-02", "--database", "enrich_restore",
                                  "--database", "other"]),
        ("discover_entities", ["--layout", "official", "--layout", "ingestor"]),
        ("demo_home", ["--days", "1", "--days", "2"]),
        ("check_beat", ["--max-age", "30", "--max-age", "60"]),
        ("ensure_admin", ["--username", "admin", "--username", "root"]),
        ("sense_login", ["--code", "123456", "--code", "654321"]),
        ("mqtt_remove_entities", ["--dry-run", "--url", "mqtt://a:1883", "--url", "mqtt://b"]),
    ],
)  # fmt: skip
def test_an_option_given_twice_is_refused_not_read_as_its_last_value(command, args):
    # argparse kept the last value: `--start` twice downsampled from the second day, a second
    # `--username` created that admin.
    option = next(arg for arg in args if args.count(arg) == 2)
    refused(command, *args, match=rf"argument {option}: given twice \(.*, then .*\): give it once")
    assert not RetentionRun.objects.exists()
    assert not get_user_model().objects.exists()


def test_restore_refuses_a_reversed_range_before_it_records_a_run():
    # The refusal came after the restore's RetentionRun was recorded (failed): a run in the
    # history (and the admin's list) for a range nobody could restore.
    refused("restore_from_archive", "2024-02-01", "2024-01-01",
            match=r"^end_date 2024-01-01 is before start_date 2024-02-01: give the range in order")  # fmt: skip
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(("output", "said"), [("", "''"), (" ", "' '")])
def test_restore_refuses_a_blank_output_file_name(output, said, tmp_path, monkeypatch):
    # "" was told as --output '.'; " " went on to write a file named " " in the folder.
    monkeypatch.chdir(tmp_path)
    refused("restore_from_archive", "2024-01-01", "2024-01-02", "--output", output,
            match=rf"^--output {said} is empty: give a file's name, or leave --output out")  # fmt: skip
    assert list(tmp_path.iterdir()) == []
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(
    ("start", "end", "said"),
    [
        # Each was told without the option: "end 2024-01-01 is before start 2024-02-01".
        ("2024-02-01", "2024-01-01", r"--end 2024-01-01 is before --start 2024-02-01"),
        ("2190-01-01", "2190-01-02", r"--start 2190-01-01 is in the future; nothing can be"),
        ("1900-01-01", "2024-01-01", r"--start 1900-01-01 is before 2000-01-01: there is no"),
        ("2024-01-01", "1999-12-31", r"--end 1999-12-31 is before 2000-01-01: there is no"),
    ],
)
def test_rebuild_view_names_the_option_of_a_day_it_refuses(start, end, said):
    refused("rebuild_view", "daily_carbon_summary", "--start", start, "--end", end,
            match=f"^{said}")  # fmt: skip
    assert not RetentionRun.objects.exists()


def test_refresh_views_refuses_a_view_named_twice():
    # It was refreshed twice, each refresh recorded as a run.
    refused("refresh_views", "daily_carbon_summary", "hourly_room_activity",
            "daily_carbon_summary", match=r"^daily_carbon_summary named twice: name each view once")  # fmt: skip
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(
    ("database", "said"),
    [
        (" x ", r"^--database ' x ' is not a restore database: use RESTORE_INFLUXDB_DATABASE"),
        ("TIER_DATABASE", r"^--database '{}' is the tier database"),
    ],
)
def test_restore_names_the_database_option_it_refuses(database, said, settings):
    # Was told without the option: "' x ' is not a restore database".
    if database == "TIER_DATABASE":  # Home Assistant's, as configured
        database = settings.TIER_DATABASE
        said = said.format(re.escape(database))
    refused("restore_from_archive", "2024-01-01", "2024-01-02", database=database, match=said)
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_archive_refuses_an_as_of_day_before_any_data(dry_run):
    # A run as of 1990 was recorded and archived nothing: no data is that old.
    refused("archive_to_s3", *dry_run, "--as-of", "1990-01-01",
            match=r"^--as-of 1990-01-01 is before 2000-01-01: there is no data that old")  # fmt: skip
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize("where", ["under_a_file", "a_folder"])
def test_ensure_admin_creates_no_admin_whose_password_it_cannot_save(where, settings, tmp_path):
    # An OSError traceback came after the admin was created: its random password was lost, and
    # the next start said "exists (unchanged)".
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" / "creds.txt" if where == "under_a_file" else tmp_path
    settings.FIRST_START_CREDENTIALS_FILE = path
    refused("ensure_admin", match=rf"^FIRST_START_CREDENTIALS_FILE '{re.escape(str(path))}' "
            r"cannot be written \(.+\): no admin account was created")  # fmt: skip
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("force", [False, True])
def test_restore_keeps_the_output_file_as_it_was_when_the_write_fails(force, settings, tmp_path):
    # A disk that fills (here: a limit on file sizes) stopped the write part-way: the file
    # --force replaces was lost, truncated to a part of the new one; a new file was left half
    # written, and the next run said it "exists already".
    settings.ARCHIVE_LOCAL_DIR = tmp_path / "archive"
    output = tmp_path / "restore.parquet"
    if force:
        output.write_bytes(b"the user's own file")
        output.chmod(0o640)
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, limit[1]))  # Python ignores SIGXFSZ
    try:
        with pytest.raises(CommandError) as refused:
            call_command("restore_from_archive", "2024-01-01", "2024-01-02",
                         output=output, force=force)  # fmt: skip
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
    assert str(refused.value) == f"--output {str(output)!r}: File too large."
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == (
        ["restore.parquet"] if force else []
    )
    if force:
        assert output.read_bytes() == b"the user's own file"
    # Written whole once there is room, with the permissions of the file replaced or a new one's.
    call_command("restore_from_archive", "2024-01-01", "2024-01-02", output=output, force=force)
    assert output.read_bytes().startswith(b"PAR1")
    umask = os.umask(0)
    os.umask(umask)
    assert output.stat().st_mode & 0o777 == (0o640 if force else 0o666 & ~umask)
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["restore.parquet"]


@pytest.mark.parametrize("unset", ["HA_URL", "HA_TOKEN"])
def test_discover_with_ha_areas_needs_home_assistant_before_it_registers_anything(
    demo_database, unset, settings
):
    # The entities were registered, then the command failed for want of HA_URL or HA_TOKEN.
    power = Reading("W", {"value": 5.0}, datetime(2026, 1, 1, tzinfo=UTC),
                    {"domain": "sensor", "entity_id": "fridge_power"})  # fmt: skip
    get_timeseries().write(demo_database, [power])
    settings.HA_URL, settings.HA_TOKEN = "http://127.0.0.1:8123", "long-lived"
    setattr(settings, unset, "")
    refused("discover_entities", "--database", demo_database, "--ha-areas",
            match=rf"^--ha-areas: {unset} not set: importing areas needs")  # fmt: skip
    assert not Entity.objects.exists()


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
@pytest.mark.parametrize("kind", ["missing", "a_file"])
def test_rebuild_archive_index_refuses_an_archive_directory_that_is_none(
    kind, dry_run, settings, tmp_path
):
    # "indexed 0 files" and exit 0: after losing the database, a mistyped ARCHIVE_LOCAL_DIR
    # (or a volume not mounted) read as an empty archive, as a missing bucket is not.
    folder = tmp_path / "archive"
    if kind == "a_file":
        folder.write_text("")
    settings.S3_ARCHIVE_BUCKET, settings.ARCHIVE_LOCAL_DIR = "", folder
    said = "does not exist" if kind == "missing" else "is no directory"
    refused("rebuild_archive_index", *dry_run,
            match=rf"^The archive directory '{re.escape(str(folder))}' \(ARCHIVE_LOCAL_DIR\) "
            rf"{said}: there is no archive to index and nothing was indexed\. Correct "
            r"ARCHIVE_LOCAL_DIR")  # fmt: skip
