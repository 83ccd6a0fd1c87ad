"""The certificate authorities of the home's own servers, read by config.settings: where InfluxDB
(INFLUXDB_CA_CERT) or the MQTT broker (MQTT_CA_CERT) answers over TLS with a certificate its
home signed itself (a homelab CA, a Home Assistant add-on's own), not one the system trusts.
Each is the PEM file of that CA; the certificate is verified against it (host name included).
A path that is no file, or holds no PEM certificate, stops the start naming the setting, as
does one given while the server's URL asks for no TLS (the file would be read by nothing).
Redis takes its CA in REDIS_URL (`rediss://…?ssl_ca_certs=`), PostgreSQL in DATABASE_URL
(`sslrootcert=`)."""

import ssl

from django.core.exceptions import ImproperlyConfigured

from config.environment import BASE_DIR, env, text


def ca_file(name: str, url_name: str, scheme: str) -> str:
    """The absolute path `name` gives (relative: from the project root), "" when empty;
    refused unless it holds a PEM certificate and the URL setting `url_name` starts with
    `scheme` (or is empty)."""
    given = text(name)
    if not given:
        return ""
    path = str(BASE_DIR / given)  # an absolute `given` stays as it is
    url = env.str(url_name, default="").strip()
    if url and not url.startswith(scheme):
        raise ImproperlyConfigured(
            f"{name}={given!r} is the CA of a server reached over TLS, but {url_name} starts "
            f"with {url.split(':', 1)[0]}://: use {scheme} (or leave {name} empty)."
        )
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError:  # a file, but no certificate in it (DER, a key, another file)
        reason = "it holds no PEM certificate"
    except OSError as exc:  # no such file, a directory, not readable
        reason = exc.strerror or str(exc)
    else:
        return path
    raise ImproperlyConfigured(
        f"{name}={given!r} cannot be read as a CA certificate ({reason}): give the path of "
        "the PEM file (-----BEGIN CERTIFICATE-----) of the certificate authority that signed "
        "the server's certificate, or leave it empty for the system's CAs."
    )


# InfluxDB over https://; MQTT over mqtts://.
INFLUXDB_CA_CERT = ca_file("INFLUXDB_CA_CERT", "INFLUXDB_URL", "https://")
MQTT_CA_CERT = ca_file("MQTT_CA_CERT", "MQTT_URL", "mqtts://")
