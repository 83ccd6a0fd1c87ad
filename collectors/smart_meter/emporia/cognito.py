"""AWS Cognito user-pool login (SRP) and token refresh, spoken directly over HTTP.

Emporia's app client logs in with Secure Remote Password (`USER_SRP_AUTH`, then the
`PASSWORD_VERIFIER` challenge): every known Emporia client (PyEmVue through pycognito, the
Amplify/amazon-cognito-identity-js apps) uses it, and nothing shows the pool accepting the
plain `USER_PASSWORD_AUTH` flow. So the password never leaves this process; only a proof of it.
Tokens are renewed with `REFRESH_TOKEN_AUTH`. Both are unauthenticated JSON-1.1 calls
(`X-Amz-Target` names the action), sent through `enrich.http` like every other call.

The SRP-6a variant is Cognito's (RFC 5054 3072-bit group, SHA-256, the "Caldera Derived Key"
HKDF, the signature over pool name | user id | secret block | timestamp).

Why not pycognito: it calls Cognito through boto3 and fetches the pool's keys with its own
`requests` call, both outside `enrich.http` (its retries, error classes, scrubbing), and it
cannot be tested as strictly: moto's cognito-idp server accepts any PASSWORD_VERIFIER answer
(a wrong password logs in), while tests/collectors/test_emporia_vue.py checks the proof with
the server's side of the SRP math.
"""

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from enrich.http import AuthError, PermanentError, malformed, post_json

# RFC 5054 3072-bit group, generator 2.
N = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)
G = 2
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def padded_hex(value: int | str) -> str:
    """Hex of a positive number as Cognito hashes it: even length, and a leading 00 when the
    top bit is set (so it reads as positive, like Java's BigInteger)."""
    text = value if isinstance(value, str) else f"{value:x}"
    if len(text) % 2:
        return "0" + text
    return "00" + text if text[0] in "89abcdefABCDEF" else text


def hash_hex(hex_text: str) -> int:
    return int(hashlib.sha256(bytes.fromhex(hex_text)).hexdigest(), 16)


K = hash_hex(padded_hex(N) + padded_hex(G))


def new_secret() -> tuple[int, int]:
    """The client's ephemeral pair (a, A = g^a mod N)."""
    while True:
        a = int.from_bytes(secrets.token_bytes(128), "big") % N
        big_a = pow(G, a, N)
        if big_a % N:
            return a, big_a


def pool_name(pool_id: str) -> str:
    """`us-east-2_ghlOXVLi1` -> `ghlOXVLi1` (what the proof is bound to)."""
    return pool_id.split("_", 1)[1]


def password_key(
    pool_id: str, user_id: str, password: str, a: int, big_a: int, big_b: int, salt_hex: str
) -> bytes:
    """The 16-byte key both sides derive from the SRP exchange (HKDF over S, salted with u)."""
    u = hash_hex(padded_hex(big_a) + padded_hex(big_b))
    if u == 0:
        raise ValueError("SRP: u is zero")
    inner = hashlib.sha256(f"{pool_name(pool_id)}{user_id}:{password}".encode()).hexdigest()
    x = hash_hex(padded_hex(salt_hex) + inner)
    s = pow(big_b - K * pow(G, x, N), a + u * x, N)
    prk = hmac.new(bytes.fromhex(padded_hex(u)), bytes.fromhex(padded_hex(s)), "sha256").digest()
    return hmac.new(prk, b"Caldera Derived Key\x01", "sha256").digest()[:16]


def signature(key: bytes, pool_id: str, user_id: str, secret_block: str, timestamp: str) -> str:
    message = (
        pool_name(pool_id).encode()
        + user_id.encode()
        + base64.b64decode(secret_block)
        + timestamp.encode()
    )
    return base64.b64encode(hmac.new(key, message, "sha256").digest()).decode()


def timestamp(moment: datetime) -> str:
    """Cognito's clock format, e.g. `Fri May 1 14:05:03 UTC 2026` (English names, no padding
    of the day), built by hand so the process locale cannot change it."""
    t = moment.astimezone(UTC)
    return f"{DAYS[t.weekday()]} {MONTHS[t.month - 1]} {t.day} {t:%H:%M:%S} UTC {t.year}"


@dataclass(frozen=True)
class Tokens:
    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: float  # seconds


class Cognito:
    """One user pool's app client at `url` (the regional endpoint, or a local test server)."""

    def __init__(self, provider: str, url: str, pool_id: str, client_id: str) -> None:
        if "_" not in pool_id:
            raise ValueError(f"{pool_id!r} is not a Cognito user pool id (region_name)")
        self.provider, self.url, self.pool_id, self.client_id = provider, url, pool_id, client_id

    def login(self, username: str, password: str) -> Tokens:
        a, big_a = new_secret()
        auth = {"USERNAME": username, "SRP_A": f"{big_a:x}"}
        body = {"AuthFlow": "USER_SRP_AUTH", "ClientId": self.client_id, "AuthParameters": auth}
        answer = self._call("InitiateAuth", body)
        if answer.get("ChallengeName") != "PASSWORD_VERIFIER":
            raise self._challenge(answer)
        params = answer.get("ChallengeParameters")
        needed = ("SRP_B", "SALT", "SECRET_BLOCK", "USER_ID_FOR_SRP")
        if not isinstance(params, dict) or not all(isinstance(params.get(k), str) for k in needed):
            raise malformed(self.provider, self.url, f"the SRP challenge lacks {needed}", None)
        user_id = params["USER_ID_FOR_SRP"]
        try:
            big_b = int(params["SRP_B"], 16)
            key = password_key(self.pool_id, user_id, password, a, big_a, big_b, params["SALT"])
        except ValueError as exc:
            raise malformed(
                self.provider, self.url, f"the SRP challenge is unusable ({exc})"
            ) from None
        if big_b % N == 0:
            raise malformed(self.provider, self.url, "the SRP challenge has B = 0 mod N")
        when = timestamp(datetime.now(UTC))  # Cognito checks it against its own clock
        responses = {
            "USERNAME": params.get("USERNAME", username),
            "TIMESTAMP": when,
            "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
            "PASSWORD_CLAIM_SIGNATURE": signature(
                key, self.pool_id, user_id, params["SECRET_BLOCK"], when
            ),
        }
        body = {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ClientId": self.client_id,
            "ChallengeResponses": responses,
        }
        answer = self._call("RespondToAuthChallenge", body)
        if "AuthenticationResult" not in answer:
            raise self._challenge(answer)
        return self._tokens(answer, refresh_token=None)

    def refresh(self, refresh_token: str) -> Tokens:
        body = {
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": self.client_id,
            "AuthParameters": {"REFRESH_TOKEN": refresh_token},
        }
        return self._tokens(self._call("InitiateAuth", body), refresh_token=refresh_token)

    # --- internals ---

    def _call(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{action}",
            "Content-Type": "application/x-amz-json-1.1",
        }
        try:
            answer = post_json(self.provider, self.url, data=json.dumps(body), headers=headers)
        except PermanentError as error:
            raise self._refused(error) from None
        if not isinstance(answer, dict):
            raise malformed(self.provider, self.url, f"{action} did not answer a JSON object")
        return answer

    def _refused(self, error: PermanentError) -> PermanentError:
        """Cognito answers 400 with `__type` for refused logins; make them AuthErrors."""
        if isinstance(error, AuthError) or error.status != 400:
            return error
        text = error.body_excerpt
        if "NotAuthorizedException" in text or "UserNotFoundException" in text:
            what = (
                "refused the e-mail or password (or the saved session expired). Check "
                "METER_USERNAME and METER_PASSWORD: the e-mail and password of the Emporia app "
                "(log in at web.emporiaenergy.com to be sure; accounts created with Apple or "
                "Google sign-in need a password added there first)"
            )
        elif "PasswordResetRequiredException" in text:
            what = "says the password must be reset: reset it in the Emporia app, then update METER_PASSWORD"
        elif "UserNotConfirmedException" in text:
            what = "says the account is not confirmed yet: finish the sign-up in the Emporia app"
        else:
            return error
        return AuthError(
            f"{self.provider}: the Emporia login (AWS Cognito) {what}. Cognito said: {text}",
            provider=self.provider,
            endpoint=error.endpoint,
            status=error.status,
            body_excerpt=text,
        )

    def _challenge(self, answer: dict[str, Any]) -> AuthError:
        name = answer.get("ChallengeName") or "no tokens"
        return AuthError(
            f"{self.provider}: the Emporia login asked for {name}, which enrich cannot answer "
            "unattended (multi-factor codes or a new password). Finish that step in the Emporia "
            "app, or turn it off for this account, then try again.",
            provider=self.provider,
            endpoint=self.url,
        )

    def _tokens(self, answer: dict[str, Any], refresh_token: str | None) -> Tokens:
        result = answer.get("AuthenticationResult")
        if not isinstance(result, dict):
            raise malformed(self.provider, self.url, "no AuthenticationResult in the answer")
        for key in ("IdToken", "AccessToken"):
            if not isinstance(result.get(key), str) or not result[key]:
                raise malformed(self.provider, self.url, f"AuthenticationResult has no {key}")
        refresh = result.get("RefreshToken") or refresh_token  # a refresh keeps the old one
        if not isinstance(refresh, str) or not refresh:
            raise malformed(self.provider, self.url, "AuthenticationResult has no RefreshToken")
        expires = result.get("ExpiresIn", 3600)
        if isinstance(expires, bool) or not isinstance(expires, int | float) or expires <= 0:
            raise malformed(
                self.provider, self.url, f"ExpiresIn {expires!r} is not a positive number"
            )
        return Tokens(result["IdToken"], result["AccessToken"], refresh, float(expires))
