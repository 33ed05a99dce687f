"""Partner Center Secure Application Model automation: consent, token storage, module settings
and the token lifecycle, as plain functions that `tasks.py` calls."""
