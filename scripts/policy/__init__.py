"""The security policy rules over the declared resources, shared by `invoke plan` and the
CrossGuard pack in `policy/`."""
