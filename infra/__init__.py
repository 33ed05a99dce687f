"""The Pulumi program: the Key Vault client app, the token vault, its access and the token secret.

``infra/__main__.py`` is what ``pulumi up`` runs; ``infra.program.declare`` is the composition that
both it and the offline plan (``scripts.plan``) call, so tests exercise the real program.
"""
