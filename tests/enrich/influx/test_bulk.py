"""Contract of `enrich.influx.bulk`, the door's bulk CSV reads and batched deletes (1.x).

Runs against the InfluxDB named by INFLUXDB_URL (see conftest.py), each test in its own
database. The CSV reads are used with InfluxDB 1.x only (`supports_csv`).
"""

from datetime import UTC, datetime, timedelta

import pytest

from enrich.influx import InfluxQueryError, RetentionTier, UnsafeDelete, quote_ident
from enrich.influx.bulk import (
    csv_fetch,
    csv_parse,
    csv_read_bound,
    delete_series,
    parse_tags,
    supports_csv,
)
from enrich.influx.transport import frozen_session
from enrich.readings import Reading

pytestmark = pytest.mark.influxdb

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def only_1x(ts):
    if not supports_csv(ts):
        pytest.skip("CSV reads are used with InfluxDB 1.x only")


def test_csv_rows_carry_every_cell_of_the_json_rows_quotes_commas_and_newlines_included(
    ts, database
):
    texts = ["plain", "a,b", 'say "hi"', "two\nlines", "x" * 300]
    ts.write(
        database,
        [
            Reading("note", {"text": text, "n": float(i)}, T0 + i * SECOND, {"room": f"r{i % 2}"})
            for i, text in enumerate(texts)
        ],
    )
    query = 'SELECT * FROM "note" GROUP BY "room"'
    rows = list(csv_parse(csv_fetch(ts, database, query)))
    json_rows = list(ts.query(database, query))
    assert len(rows) == len(json_rows) == len(texts)
    header = rows[0][0]
    assert header[:3] == ["name", "tags", "time"]
    by_time = {int(cells[2]): dict(zip(header, cells, strict=True)) for _, cells in rows}
    for row in json_rows:
        cells = by_time[row.time_ns]
        assert cells["text"] == row.values["text"]
        assert float(cells["n"]) == row.values["n"]
        assert parse_tags(cells["tags"]) == row.tags


def test_each_statement_result_has_its_own_header(ts, database):
    ts.write(database, [Reading("a", {"x": 1.0}, T0), Reading("b", {"y": "s", "z": 2.0}, T0)])
    data = csv_fetch(ts, database, 'SELECT * FROM "a"; SELECT * FROM "b"')
    headers = [tuple(header) for header, _ in csv_parse(data)]
    assert headers == [("name", "tags", "time", "x"), ("name", "tags", "time", "y", "z")]


def test_a_bad_query_raises_with_the_servers_message(ts, database):
    with pytest.raises(InfluxQueryError, match="error parsing query") as caught:
        csv_fetch(ts, database, "SELEC * FROM nothing")
    message = caught.value.server_message
    assert caught.value.database == database
    assert message.startswith("error parsing query") and not message.startswith("error\n")


def test_the_read_bound_reads_every_line_of_the_answer(ts, database):
    ts.write(database, [Reading("m", {"v": float(i)}, T0 + i * SECOND) for i in range(2500)])
    lines, size = csv_read_bound(ts, database, 'SELECT * FROM "m" WHERE time >= $t', {"t": T0})
    assert lines == 2500 + 1  # the header
    assert size > 2500 * len("m,,1772366400000000000,1\n")


def test_parse_tags_refuses_a_cell_it_cannot_split():
    assert parse_tags("domain=sensor,entity_id=a") == {"domain": "sensor", "entity_id": "a"}
    assert parse_tags("") == {}
    with pytest.raises(ValueError, match="unambiguously"):
        parse_tags("k=a=b")


def _count(ts, database, measurement, rp=None) -> int:
    source = (f"{quote_ident(rp)}." if rp else "") + quote_ident(measurement)
    with ts.query(database, f"SELECT COUNT(*) FROM {source}") as rows:
        row = next(rows, None)
    return 0 if row is None else max(int(v) for v in row.values.values() if v is not None)


def test_delete_series_removes_exactly_the_tag_sets_of_the_measurements_in_the_window(ts, database):
    points = []
    for measurement in ("W", "kWh", "m/s"):
        for entity in ("a", "b", "c"):
            for minute in range(-1, 4):
                points.append(
                    Reading(
                        measurement,
                        {"value": 1.0},
                        T0 + minute * 60 * SECOND,
                        {"entity_id": entity, "domain": "sensor"},
                    )  # fmt: skip
                )
    ts.write(database, points)
    tag_sets = [{"entity_id": "a", "domain": "sensor"}, {"entity_id": "c", "domain": "sensor"}]
    sent = delete_series(ts, database, T0, T0 + 3 * 60 * SECOND, ["W", "m/s"], tag_sets)
    assert sent == 1
    for measurement, deleted in (("W", True), ("m/s", True), ("kWh", False)):
        with ts.query(database, f"SELECT * FROM {quote_ident(measurement)} GROUP BY *") as rows:
            left = {(r.tags["entity_id"], r.time) for r in rows}
        for entity in ("a", "b", "c"):
            for minute in range(-1, 4):
                gone = deleted and entity != "b" and 0 <= minute < 3
                assert ((entity, T0 + minute * 60 * SECOND) in left) is not gone


def test_delete_series_in_one_retention_policy_refuses_when_another_holds_a_match(ts, database):
    ts.create_database(database, [RetentionTier("hourly", "INF")])
    tags = {"entity_id": "a"}
    ts.write(database, [Reading("agg", {"v": 1.0}, T0, tags)])
    ts.write(database, [Reading("agg", {"v": 2.0}, T0, tags)], retention_policy="hourly")
    window = (T0 - SECOND, T0 + SECOND)
    with pytest.raises(UnsafeDelete, match="every retention policy"):
        delete_series(ts, database, *window, ["agg"], [tags], "hourly")
    assert _count(ts, database, "agg", "hourly") == 1 and _count(ts, database, "agg") == 1
    delete_series(ts, database, *window, ["agg"], [{"entity_id": "b"}], "hourly")  # no match
    assert _count(ts, database, "agg", "hourly") == 1


def test_deletes_go_through_while_another_database_is_dropped(ts, database):
    """InfluxDB 1.x answers a DELETE "engine is closed" while any other database is dropped
    (one in 40 with one database made and dropped over and over): the door tries it again,
    so the tiers' and the archive's deletes do not fail for a neighbour's drop."""
    import threading
    import uuid

    stop = threading.Event()

    def neighbour_dropped_again_and_again() -> None:
        while not stop.is_set():
            other = f"test_neighbour_{uuid.uuid4().hex[:12]}"
            ts.create_database(other, [])
            ts.write(other, [Reading("m", {"v": float(n)}, T0 + n * SECOND) for n in range(50)])
            ts.drop_database(other)

    ts.create_database(database, [RetentionTier("hourly", "INF")])
    ts.write(database, [Reading("agg", {"v": 1.0}, T0, {"entity_id": "a"})])
    neighbour = threading.Thread(target=neighbour_dropped_again_and_again)
    neighbour.start()
    try:
        for n in range(150):
            tags = {"entity_id": f"b{n}"}
            ts.write(database, [Reading("agg", {"v": 2.0}, T0, tags)], retention_policy="hourly")
            assert delete_series(ts, database, T0, T0 + SECOND, ["agg"], [tags], "hourly") == 1
    finally:
        stop.set()
        neighbour.join(timeout=30)
    assert _count(ts, database, "agg", "hourly") == 0 and _count(ts, database, "agg") == 1


def test_frozen_session_takes_the_environment_once(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = frozen_session("http://influx.example:8086")
    assert not session.trust_env
    assert session.proxies.get("http") == "http://proxy.invalid:3128"
    monkeypatch.setenv("NO_PROXY", "influx.example")
    assert "http" not in frozen_session("http://influx.example:8086").proxies
