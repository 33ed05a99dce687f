"""One module per task flow (consent, rotate, verify, settings, mfa-report, plan, demo), each
owning its logic; `tasks.py` parses flags, calls one flow and prints."""
