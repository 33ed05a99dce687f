"""A loopback port nobody listens on, for the redirect listener of a rehearsal or a test.

The operating system picks it (bind to port 0): two runs side by side never collide, unlike a
fixed port. It is free when returned; the caller binds it right away.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
