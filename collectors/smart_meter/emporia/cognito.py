"""AWS Cognito user-pool login (SRP) and token refresh: pycognito's SRP, sent through
`enrich.http`.

Emporia's app client logs in with Secure Remote Password (`USER_SRP_AUTH`, then the
`PASSWORD_VERIFIER` challenge): every known Emporia client (PyEmVue through pycognito, the
Amplify/amazon-cognito-identity-js apps) uses it, and nothing shows the pool accepting the
plain `USER_PASSWORD_AUTH` flow. So the password never leaves this process; only a proof of it.
Tokens are renewed with `REFRESH_TOKEN_AUTH`. Both are unauthenticated JSON-1.1 calls
(`X-Amz-Target` names the action).

The SRP math (the client's A, the key, the signature and Cognito's timestamp) is pycognito's
`AWSSRP` (`get_auth_params`, `process_challenge`); the calls are ours, through `enrich.http`
like every other call (timeouts, retries, error classes, scrubbed logs). pycognito's own calls
are not used: `AWSSRP.authenticate_user` and `Cognito` send through boto3, and `Cognito`
verifies each token against the pool's keys fetched with its own `requests.get`; PyEmVue adds
a `requests` session of its own on top. AWSSRP builds a boto3 client unless it is given one
(reading AWS_PROFILE and the AWS config on each login: a named profile that is missing would
fail it), so it is given `NO_CLIENT`, which refuses every call.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from enrich.http import AuthError, PermanentError, malformed, post_json


class _NoClient:
    """AWSSRP's Cognito client that calls nothing: the calls go through enrich.http."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"Cognito is called through enrich.http, not by pycognito ({name})")


NO_CLIENT = _NoClient()


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
        # pycognito (boto3 with it) is imported where used, not at every process's start.
        from pycognito.aws_srp import AWSSRP

        srp = AWSSRP(username, password, self.pool_id, self.client_id, client=NO_CLIENT)
        auth = srp.get_auth_params()  # USERNAME and SRP_A
        body = {"AuthFlow": "USER_SRP_AUTH", "ClientId": self.client_id, "AuthParameters": auth}
        answer = self._call("InitiateAuth", body)
        if answer.get("ChallengeName") != "PASSWORD_VERIFIER":
            raise self._challenge(answer)
        params = answer.get("ChallengeParameters")
        needed = ("SRP_B", "SALT", "SECRET_BLOCK", "USER_ID_FOR_SRP")
        if not isinstance(params, dict):
            raise malformed(self.provider, self.url, "the SRP challenge has no ChallengeParameters")
        for key in needed:  # pycognito fails on an empty one with an IndexError
            if not isinstance(params.get(key), str) or not params[key]:
                problem = f"the SRP challenge's {key} should be a non-empty string"
                raise malformed(self.provider, self.url, f"{problem}, got {params.get(key)!r}")
        try:
            if int(params["SRP_B"], 16) % srp.big_n == 0:  # SRP-6a: abort, or the key is known
                raise ValueError("B = 0 mod N")
            # The proof, with Cognito's timestamp (checked against its own clock).
            responses = srp.process_challenge(params, auth)
        except ValueError as exc:  # also bad hex or base64, and u = 0
            raise malformed(
                self.provider, self.url, f"the SRP challenge is unusable ({exc})"
            ) from None
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

    def _challenge(self, answer: dict[str, Any]) -> PermanentError:
        """A challenge a person must answer (AuthError); an answer naming none is malformed."""
        name = answer.get("ChallengeName")
        if not isinstance(name, str) or not name:
            return malformed(
                self.provider,
                self.url,
                f"the answer has neither the expected tokens nor a ChallengeName (got {name!r})",
            )
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
