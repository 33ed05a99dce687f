"""This machine: the loopback sign-in listener, the owner-only pending-token file, the Pulumi
stack outputs read through the CLI, and what child processes (browser, pulumi) inherit."""
