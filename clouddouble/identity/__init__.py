"""Entra ID: the Microsoft identity platform's v2 endpoints and the directory behind them, routed
by path as ``login.microsoftonline.com`` routes them (``/{tenant}/oauth2/v2.0/...``, ``tenant`` a
GUID, a verified domain, ``organizations`` or ``common``).

It follows these Microsoft Learn pages: "OpenID Connect on the Microsoft identity
platform" (discovery, JWKS, id tokens), "Microsoft identity platform and OAuth 2.0 authorization
code flow" (with PKCE, RFC 7636), the device authorization grant and client credentials flows,
"Refresh tokens in the Microsoft identity platform", the access and ID token claims references,
"Scopes and permissions in the Microsoft identity platform", "Redirect URI (reply URL) outline and
restrictions" and "Microsoft Entra authentication and authorization error codes" (AADSTS).

Modules, in the order a request meets them:

* ``endpoints``: the router (discovery, JWKS, authorize, device code), ``IdentityPlatform``;
* ``signin`` and ``pages``: the HTML sign-in, MFA and consent pages (no JavaScript);
* ``tokenendpoint``: the grants of ``/oauth2/v2.0/token``;
* ``scopes``: parsing ``scope`` parameters against the ``catalog`` of resource applications;
* ``authstate``: server-side transactions, codes, refresh and device codes; ``context``: what
  the handlers share;
* ``tokens``: JWT minting and checking (Graph, Partner Center and Key Vault check bearer tokens
  with it);
* ``directory`` and ``records``: tenants, users, apps, secrets, grants;
* ``errors``: Entra's error replies;
* ``browser``: the programmatic user that fills the pages by their element ids.

Imports only the double's shared plumbing (``server``, ``clock``, ``msids``); the other services
import it (directory, tokens, catalog), never the reverse.
"""
