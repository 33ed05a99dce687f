"""The Pulumi program: the Key Vault client app, the token vault, its access and the token secret;
optionally the in-house Partner Center app, the GitOps pipeline's federated identity and the
partner tenant's MFA enforcement.

``infra/__main__.py`` is what ``pulumi up`` runs; ``infra.program.declare`` is the composition that
both it and the offline plan (``scripts.flows.plan``) call, so tests exercise the real program.
"""
