"""What a signed-in user reads of a recorded error (enrich.addresses): the addresses of
enrich's own services (their host and port, as the settings give them) hidden, the rest of
the text, a provider's address and times among it, as recorded."""

from enrich.addresses import hidden, hidden_in

KEPT = [
    "the next scheduled run (Sat 2026-12-05 02:00 UTC) at 12:30, from 2026-05-01T22:30:00Z",
    "ReadTimeout: HTTPSConnectionPool(host='api.carbonintensity.org.uk', port=443): Read "
    "timed out. (read timeout=30) https://api.octopus.energy/v1/products/AGILE answered 503",
    "retry (1 of 3) at T02:00; sensor.pump_power: 500 W",
    "awattar: http://127.0.0.1:45355/v1/marketdata could not connect",  # not a service's port
]


def test_text_without_an_address_of_enrich_s_services_is_kept_as_it_is():
    for text in KEPT:
        assert hidden(text) == text


def test_the_services_addresses_and_database_names_are_hidden(settings):
    settings.INFLUXDB_URL = "http://influx.home.lan:8086"
    settings.S3_ENDPOINT_URL = "http://minio:9000"
    settings.REDIS_URL = "redis://:secret@10.0.0.5:6379/0"
    settings.MQTT_URL = "mqtt://[::1]:1883"
    said = {
        "Cannot reach InfluxDB at http://influx.home.lan:8086 while querying "
        f"'{settings.INFLUXDB_DATABASE}': ConnectionError: HTTPConnectionPool(host="
        "'influx.home.lan', port=8086): Max retries exceeded with url: /query?db=enrich&q=SHOW "
        "(Caused by ...). Check INFLUXDB_URL.": "Cannot reach InfluxDB at [hidden] while "
        "querying [hidden]: ConnectionError: HTTPConnectionPool([hidden]): Max retries exceeded "
        "with url: [hidden] (Caused by ...). Check INFLUXDB_URL.",
        "cannot reach Redis at REDIS_URL=redis://:***@10.0.0.5:6379/0 (Error 111 connecting to "
        "10.0.0.5:6379. Connection refused.)": "cannot reach Redis at REDIS_URL=[hidden] (Error "
        "111 connecting to [hidden]. Connection refused.)",
        "S3 at http://minio:9000/bucket refused; 127.0.0.1:5432 and [::1]:1883 too": "S3 at [hidden] "
        "refused; [hidden] and [hidden] too",
    }
    assert {text: hidden(text) for text in said} == said
    details = {"retries": [{"error": "at influx.home.lan:8086", "retry": "1 of 3"}], "days": 3}
    assert hidden_in(details) == {"retries": [{"error": "at [hidden]", "retry": "1 of 3"}],
                                  "days": 3}  # fmt: skip
