"""Private Mosquitto brokers (Debian's, 2.x) for the tests that must not touch the shared one:
one stopped and started again (tests/ha_mqtt/test_broker_outage.py), ones with users and an
access control list (tests/ha_mqtt/test_broker_acl.py), set up as a broker's admin would."""

import base64
import getpass
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.services import listening

MOSQUITTO = "/usr/sbin/mosquitto"
PASSWD = "/usr/bin/mosquitto_passwd"
DYNSEC = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
PASSWORD = "secret-for-tests"  # every user's


def start_mosquitto(
    port: int, directory: Path, options: str = "allow_anonymous true"
) -> subprocess.Popen:
    """A private broker on 127.0.0.1:`port` with `options` (mosquitto.conf lines), like
    scripts/services.sh's by default. Run as root, Mosquitto would change to the user
    `mosquitto`, who cannot read this test's files: `user` keeps it the current one."""
    conf = directory / f"mosquitto-{port}.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\npersistence false\nuser {getpass.getuser()}\n{options}\n"
    )
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.DEVNULL)
    if not listening(port):
        proc.kill()
        pytest.fail("the private mosquitto did not start")
    return proc


@contextmanager
def running(options: str, directory: Path) -> Iterator[int]:
    """The port of a private broker with `options`, stopped at the end."""
    port = free_port()
    server = start_mosquitto(port, directory, options)
    try:
        yield port
    finally:
        server.terminate()
        server.wait(10)


def acl_file_broker(acl: dict[str, list[str]], directory: Path) -> AbstractContextManager[int]:
    """A broker with a password file and Mosquitto's own ACL file (`acl_file`): `acl` maps each
    user (password PASSWORD) to its `topic …` lines."""
    passwords, rules = directory / "passwords", directory / "acl"
    passwords.touch(mode=0o600)
    for user in acl:
        subprocess.run([PASSWD, "-b", str(passwords), user, PASSWORD], check=True)
    rules.write_text("".join(f"user {u}\n" + "".join(f"{t}\n" for t in acl[u]) for u in acl))
    rules.chmod(0o600)
    return running(f"allow_anonymous false\npassword_file {passwords}\nacl_file {rules}", directory)


def _dynsec_client(user: str) -> dict:
    """A client of the dynamic security plugin's file, password PASSWORD, role `user`."""
    salt = os.urandom(12)
    hashed = hashlib.pbkdf2_hmac("sha512", PASSWORD.encode(), salt, 101)
    return {
        "username": user,
        "password": base64.b64encode(hashed).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": 101,
        "roles": [{"rolename": user}],
    }


def dynsec_broker(
    acl: dict[str, list[tuple[str, str]]], directory: Path
) -> AbstractContextManager[int]:
    """A broker with Mosquitto's dynamic security plugin: `acl` maps each user (password
    PASSWORD) to the (acltype, topic) pairs it is allowed; everything else is denied but
    receiving what one may subscribe to (the plugin's default)."""
    config = directory / "dynamic-security.json"
    roles = [
        {"rolename": user, "acls": [{"acltype": k, "topic": t, "allow": True} for k, t in rules]}
        for user, rules in acl.items()
    ]
    config.write_text(
        json.dumps(
            {
                "clients": [_dynsec_client(user) for user in acl],
                "roles": roles,
                "defaultACLAccess": {
                    "publishClientSend": False,
                    "publishClientReceive": True,
                    "subscribe": False,
                    "unsubscribe": True,
                },
            }
        )
    )
    return running(
        f"allow_anonymous false\nplugin {DYNSEC}\nplugin_opt_config_file {config}", directory
    )
