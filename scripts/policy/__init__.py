"""The security policy rules over the declared resources, shared by `csp-secure-app plan` and the
CrossGuard pack in `policy/`."""
