"""Adapters, one per service the automation talks to: the identity platform (MSAL, token
checks), Key Vault, Partner Center and Microsoft Graph. They speak the service's protocol and turn
its refusals into our typed errors; they decide nothing about a task."""
