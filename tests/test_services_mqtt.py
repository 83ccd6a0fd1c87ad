"""scripts/services.sh mosquitto and what it finds on the MQTT port: a broker, one that asks for
a login, or another server."""

import os
import shutil
import subprocess
from urllib.parse import quote

import pytest

from enrich.mqtt.broker import Endpoint, new_client
from tests.support.mosquitto import start_mosquitto
from tests.support.ports import free_port
from tests.support.services import beside_a_web_server, logins_tried, started


def test_another_server_on_the_mqtt_port_is_named_not_taken_for_a_broker(tmp_path):
    # Anything listening on the port was taken for Mosquitto: with a web server there the
    # script said "mosquitto: running", and the MQTT tests failed later, far from the cause.
    port, done = beside_a_web_server("mosquitto", "ENRICH_MQTT_PORT", tmp_path)
    assert done.returncode == 1
    assert (
        f"127.0.0.1:{port} answers an MQTT CONNECT with no CONNACK: another server holds"
        " the port." in done.stderr
    )
    assert "set ENRICH_MQTT_PORT (and MQTT_URL, MQTT_TEST_URL) to a free port" in done.stderr
    assert "running" not in done.stderr and "starting" not in done.stderr


def test_a_broker_that_asks_for_a_login_is_named_and_used_with_its_url(tmp_path):
    # A broker refusing anonymous clients is a broker all the same: it is not started again
    # beside, it is used when MQTT_URL (or the tests' MQTT_TEST_URL) logs in, and the script
    # says what to set otherwise. It was taken for enrich's anonymous Mosquitto.
    if not shutil.which("mosquitto_passwd"):
        pytest.skip("mosquitto_passwd is not installed")
    port, password = free_port(), "s3cret/with:odd@chars"
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "enrich", password], check=True)
    # (start_mosquitto keeps the test's user: as `mosquitto` it could not read the file.)
    broker = start_mosquitto(port, tmp_path, f"allow_anonymous false\npassword_file {passwords}")
    env = dict(os.environ, ENRICH_MQTT_PORT=str(port), ENRICH_ENV_FILE="none")
    for name in ("MQTT_URL", "MQTT_TEST_URL"):
        env.pop(name, None)
    try:
        url = f"mqtt://enrich:{quote(password, safe='')}@127.0.0.1:{port}"
        wrong_url = f"mqtt://enrich:wrong@127.0.0.1:{port}"
        refused, wrong, said = logins_tried("mosquitto", env, "MQTT_URL", wrong_url, url, tmp_path)
        assert refused.returncode == 1
        assert (
            f"the MQTT broker on 127.0.0.1:{port} asks for a login (it refuses an anonymous"
            " CONNECT), and MQTT_URL is not set." in refused.stderr
        )
        assert f"MQTT_URL=mqtt://USER:PASSWORD@127.0.0.1:{port} in .env" in refused.stderr
        assert "running" not in refused.stderr and "starting" not in refused.stderr
        assert wrong.returncode == 1 and "MQTT_URL does not give the right one" in wrong.stderr
        assert f"mosquitto: running on 127.0.0.1:{port}, with a login: MQTT_URL's opens it" in said
        assert password not in said
        said = started("mosquitto", dict(env, MQTT_TEST_URL=url.replace("127.0.0.1", "localhost")))
        assert "with a login: MQTT_TEST_URL's opens it" in said
        # The same URL is what enrich's processes then connect with.
        client = new_client(Endpoint.parse(url), "enrich-services-test")
        client.connect("127.0.0.1", port)
        for _ in range(50):
            client.loop(0.1)
            if client.is_connected():
                break
        assert client.is_connected()
        client.disconnect()
    finally:
        broker.terminate()
        broker.wait(10)
