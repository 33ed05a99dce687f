"""The Pulumi program: the Key Vault client app, the token vault, its access and the token secret;
optionally the in-house Partner Center app, the GitOps pipeline's federated identity and the
partner tenant's MFA enforcement.

``infra/__main__.py`` is what ``pulumi up`` runs; ``infra.program.declare`` is the composition that
both it and the offline plan (``scripts.offline``) call, so tests exercise the real program. It is
the one place that reads the typed ``infra.config.StackConfig``: each component takes its own
typed arguments. ``infra`` imports only ``foundation`` (and Pulumi and its providers).
"""
