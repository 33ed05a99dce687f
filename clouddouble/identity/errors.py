"""Entra ID error responses: the JSON body of the token endpoint and the ``error_description``
text, in the exact shape MSAL and azure-identity parse (``AADSTSnnnn: message\\r\\nTrace ID...``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from ..messages import Response, json_response

#: AADSTS code -> (OAuth error, HTTP status, message template). Messages follow Entra's wording.
ERRORS: dict[int, tuple[str, int, str]] = {
    16000: ("invalid_grant", 400, "User account '{upn}' does not exist in tenant '{tenant}'."),
    28000: (
        "invalid_scope",
        400,
        "Provided value for the input parameter scope is not valid because it contains more "
        "than one resource. Scope {scope} is not valid.",
    ),
    50011: (
        "invalid_request",
        400,
        "The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
        "URIs configured for the application '{client_id}'.",
    ),
    50020: (
        "invalid_request",
        400,
        "User account '{upn}' from identity provider '{idp}' does not exist in tenant "
        "'{tenant}' and cannot access the application '{client_id}' in that tenant.",
    ),
    50034: ("invalid_request", 400, "The user account {upn} does not exist in the directory."),
    50058: ("login_required", 400, "A silent sign-in request was sent but no user is signed in."),
    50078: (
        "invalid_grant",
        400,
        "Due to a configuration change made by your administrator, or because you moved to a new "
        "location, you must enroll in multi-factor authentication to access '{resource}'.",
    ),
    50126: (
        "invalid_grant",
        400,
        "Error validating credentials due to invalid username or password.",
    ),
    # A PKCE mismatch is an invalid_grant (RFC 7636 §4.6; Entra's answer as reported in
    # django-allauth#2916: {"error":"invalid_grant","error_description":"AADSTS50148: The
    # code_verifier does not match the code_challenge supplied in the authorization request for
    # PKCE."}, and microsoft-authentication-library-for-js#5044). Entra also answers it as
    # AADSTS501481 (Learn "Microsoft Entra authentication and authorization error codes";
    # microsoft-authentication-library-for-js#2694, #7425).
    50148: (
        "invalid_grant",
        400,
        "The code_verifier does not match the code_challenge supplied in the authorization "
        "request for PKCE.",
    ),
    501481: (
        "invalid_grant",
        400,
        "The Code_Verifier does not match the code_challenge supplied in the authorization "
        "request.",
    ),
    50173: (
        "invalid_grant",
        400,
        "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
        "The user might have changed or reset their password. The grant was issued on "
        "'{issued}' and the TokensValidFrom date (before which tokens are not valid) for this "
        "user is '{valid_from}'.",
    ),
    50194: (
        "invalid_request",
        400,
        "Application '{client_id}' is not configured as a multi-tenant application. Usage of the "
        "/common endpoint is not supported for such applications created after '10/15/2018'. Use "
        "a tenant-specific endpoint or configure the application to be multi-tenant.",
    ),
    54005: (
        "invalid_grant",
        400,
        "OAuth2 Authorization code was already redeemed, please retry "
        "with a new valid code or use an existing refresh token.",
    ),
    65001: (
        "invalid_grant",
        400,
        "The user or administrator has not consented to use the application with ID "
        "'{client_id}'. Send an interactive authorization request for this user and resource.",
    ),
    65004: ("access_denied", 400, "User declined to consent to access the app."),
    70000: ("invalid_grant", 400, "The provided value for the 'code' parameter is not valid."),
    70008: (
        "invalid_grant",
        400,
        "The provided authorization code or refresh token has expired due to inactivity. Send a "
        "new interactive authorization request for this user and resource.",
    ),
    70011: (
        "invalid_scope",
        400,
        "The provided request must include a 'scope' input parameter. The provided value for the "
        "input parameter 'scope' is not valid. The scope {scope} is not valid.",
    ),
    70016: (
        "authorization_pending",
        400,
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    ),
    70019: ("expired_token", 400, "Verification code expired."),
    90002: (
        "invalid_tenant",
        400,
        "Tenant '{tenant}' not found. Check to make sure you have the "
        "correct tenant ID and are signing into the correct cloud.",
    ),
    90094: (
        "access_denied",
        400,
        "Admin consent is required for the permissions requested by this application.",
    ),
    90014: ("invalid_request", 400, "The required field '{field}' is missing from the credential."),
    90023: ("invalid_request", 400, "Unsupported or invalid {what}."),
    500011: (
        "invalid_resource",
        400,
        "The resource principal named {resource} was not found in the tenant named {tenant}.",
    ),
    650051: (
        "invalid_client",
        400,
        "The application '{client_id}' requires permission '{permission}' which does not exist "
        "on the resource '{resource}'. Contact the app vendor.",
    ),
    650053: (
        "invalid_client",
        400,
        "The application '{client_id}' asked for scope '{scope}' that doesn't exist on the "
        "resource '{resource}'.",
    ),
    700007: (
        "invalid_grant",
        400,
        "The refresh token was issued to a different client '{other}', not to the requesting "
        "client '{client_id}'.",
    ),
    700016: (
        "unauthorized_client",
        400,
        "Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
        "This can happen if the application has not been installed by the administrator of the "
        "tenant or consented to by any user in the tenant.",
    ),
    700082: (
        "invalid_grant",
        400,
        "The refresh token has expired due to inactivity. The token was issued on '{issued}' and "
        "was inactive for 90.00:00:00.",
    ),
    900144: (
        "invalid_request",
        400,
        "The request body must contain the following parameter: '{field}'.",
    ),
    7000215: (
        "invalid_client",
        401,
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
    ),
    7000218: (
        "invalid_client",
        401,
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
    ),
    7000222: (
        "invalid_client",
        401,
        "The provided client secret keys for app '{client_id}' are expired. Visit the Azure "
        "portal to create new keys for your app.",
    ),
    7000229: (
        "invalid_client",
        400,
        "The client application {client_id} is missing service principal in the tenant {tenant}.",
    ),
    500112: (
        "invalid_grant",
        400,
        "The reply address '{redirect_uri}' does not match the reply address provided when "
        "requesting Authorization code.",
    ),
    500121: ("invalid_request", 400, "Authentication failed during strong authentication request."),
    700054: (
        "unsupported_response_type",
        400,
        "response_type '{response_type}' is not enabled for the application.",
    ),
    70003: (
        "unsupported_grant_type",
        400,
        "The app requested an unsupported grant type '{grant}'.",
    ),
    900561: ("invalid_request", 400, "The endpoint only accepts POST requests."),
    1002012: (
        "invalid_scope",
        400,
        "The provided value for scope {scope} is not valid. Client credential flows must have a "
        "scope value with /.default suffixed to the resource identifier (application ID URI).",
    ),
    9002313: ("invalid_grant", 400, "Invalid request. Request is malformed or invalid."),
}


class AadError(Exception):
    """Raised inside the identity handlers; turned into Entra's JSON or an error page."""

    def __init__(self, code: int, *, error: str | None = None, **fields: object) -> None:
        default_error, status, template = ERRORS[code]
        self.code = code
        self.error = error or default_error
        self.status = status
        self.text = f"AADSTS{code}: " + template.format_map(_Missing(fields))
        super().__init__(self.text)


class _Missing(dict[str, object]):
    def __init__(self, fields: dict[str, object]) -> None:
        super().__init__(fields)

    def __missing__(self, key: str) -> str:
        return "?"


def support_ids(now: datetime) -> tuple[str, str, str]:
    """A fresh (trace id, correlation id, timestamp) for one error, as Entra issues them."""
    return str(uuid.uuid4()), str(uuid.uuid4()), now.strftime("%Y-%m-%d %H:%M:%SZ")


def described(err: AadError, ids: tuple[str, str, str]) -> str:
    """Entra's ``error_description``: the message, then its ids on their own lines. The token
    endpoint's JSON and the authorization endpoint's error redirect both carry it this way
    (Learn, reference-error-codes.md; "OAuth 2.0 authorization code flow", error response:
    ``error_description=AADSTS65004...%0d%0aTrace+ID%3a+...%0d%0aCorrelation+ID%3a+...``)."""
    trace_id, correlation_id, stamp = ids
    return (f"{err.text}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\n"
            f"Timestamp: {stamp}")


def error_json(err: AadError, authority_host: str, now: datetime) -> Response:
    ids = support_ids(now)
    trace_id, correlation_id, stamp = ids
    description = described(err, ids)
    body = {
        "error": err.error,
        "error_description": description,
        "error_codes": [err.code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{authority_host}/error?code={err.code}",
    }
    return json_response(err.status, body, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])
