"""A home's own certificate authority, made for one test: a CA and a server certificate it
signed for localhost and 127.0.0.1, as PEM files, as a homelab (or a Home Assistant add-on)
gives InfluxDB, Mosquitto or Redis."""

import datetime as dt
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bench._tiers import PrivateInflux, private_influxd


@dataclass(frozen=True)
class OwnCa:
    ca: Path  # the CA's certificate: what INFLUXDB_CA_CERT / MQTT_CA_CERT name
    certificate: Path  # the server's, signed by the CA
    key: Path  # the server's private key


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def own_ca(directory: Path, name: str = "home") -> OwnCa:
    """A CA named "`name` CA" and its server certificate, written into `directory`."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    issuer = _name(f"{name} CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(issuer)
        .issuer_name(issuer)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    unencrypted = serialization.NoEncryption()
    return OwnCa(
        ca=_pem(directory / f"{name}-ca.pem", ca.public_bytes(serialization.Encoding.PEM)),
        certificate=_pem(
            directory / f"{name}-server.pem", server.public_bytes(serialization.Encoding.PEM)
        ),
        key=_pem(
            directory / f"{name}-server.key",
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, unencrypted
            ),
        ),
    )


@contextmanager
def https_influxd(directory: Path) -> Iterator[tuple[PrivateInflux, OwnCa]]:
    """A private influxd (bench._tiers) answering only over https:// with a certificate of a
    CA made in `directory`, and that CA; removed at the end."""
    home = own_ca(directory)
    with private_influxd("own-ca", https=(home.certificate, home.key, home.ca)) as server:
        yield server, home
