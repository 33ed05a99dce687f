"""TLS listeners and the shared request log (the messages they carry: ``messages``; the faults
they inject: ``faults``).

Every service of the double (identity, Partner Center, Graph, each vault) gets its own listener on
127.0.0.1 with an ephemeral port, so the real SDKs see distinct hosts exactly as in Azure and tests
can tell round trips apart. All listeners share one :class:`RequestLog` and one ``FaultTable``,
so ``cloud.inject_fault(...)`` and ``cloud.requests`` work across services.

Stdlib only: ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive (the SDKs pool
connections), TLS handshakes done in the per-connection thread so a slow client never blocks the
accept loop. The server never writes to stderr: request lines and tracebacks could carry secrets.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from .faults import FaultTable, fault_body
from .messages import Request, Response, json_response


@dataclass(frozen=True)
class RequestRecord:
    """One request as a listener saw it. ``status`` is 0 when the connection was dropped."""

    method: str
    host_port: str
    path: str
    query: str
    status: int
    service: str = ""


class RequestLog:
    """Thread-safe append-only list of :class:`RequestRecord` (no headers or bodies: no secrets),
    and how many TCP connections each listener accepted (``host_port`` -> count). A connection is
    counted when it is accepted, before its TLS handshake: one a client gave up on because it does
    not trust the certificate counts too, so a count is "connection attempts".

    ``clear`` starts a new log: a request that arrived before it and is answered only after it
    (one held by a ``hang`` fault, whose client may be long gone) is served as the service would
    serve it, but is not recorded in the new log, where it would look like a request of the
    next test's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._connections: dict[str, int] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Which log a request arriving now belongs to (``add``'s ``arrived``)."""
        with self._lock:
            return self._generation

    def add(self, record: RequestRecord, arrived: int | None = None) -> None:
        with self._lock:
            if arrived is None or arrived == self._generation:
                self._records.append(record)

    def connected(self, host_port: str) -> None:
        with self._lock:
            self._connections[host_port] = self._connections.get(host_port, 0) + 1

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def connections(self) -> dict[str, int]:
        with self._lock:
            return dict(self._connections)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._connections.clear()
            self._generation += 1


Route = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Ephemeral port on loopback only; never reuse a port another process may hold.
    allow_reuse_address = False

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silence: a client hanging up mid-request is normal (timeouts, injected resets)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "clouddouble"
    sys_version = ""
    timeout = 30  # reap idle keep-alive connections
    server: _Server

    def setup(self) -> None:
        raw: socket.socket = self.request
        raw.settimeout(10)
        # A response leaves in one send (_write) and at once: without TCP_NODELAY, Nagle holds a
        # short write until the client's delayed ACK (about 40 ms on Linux) on every response.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listener = self.server.listener
        listener.log.connected(listener.host_port)  # before the handshake: attempts count too
        self.request = listener.ssl_context.wrap_socket(raw, server_side=True)
        with self.server.sockets_lock:
            self.server.open_sockets.add(self.request)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.sockets_lock:
                self.server.open_sockets.discard(self.request)

    def log_message(self, format: str, *args: Any) -> None:
        """Never print request lines: queries and paths are the user's business, not stderr's."""

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        listener = self.server.listener
        arrived = listener.log.generation
        body = self._read_body()
        split = urlsplit(self.path)
        path = unquote(split.path)  # Graph clients may send applications(appId=%27...%27)
        host_port = f"127.0.0.1:{listener.port}"
        request = Request(
            method=self.command,
            path=path,
            query_string=split.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            host_port=host_port,
            base_url=listener.base_url,
        )
        fault = listener.faults.take(request.method, listener.name, path)
        if fault and fault.reset:
            listener.log.add(
                RequestRecord(request.method, host_port, path, split.query, 0, listener.name),
                arrived,
            )
            self._reset_connection()
            return
        if fault and fault.hang:
            listener.stopping.wait(fault.hang)
            fault = None
        if fault:
            headers = [("Content-Type", fault.content_type)]
            if fault.retry_after is not None:
                headers.append(("Retry-After", str(int(fault.retry_after))))
            payload = fault.body if fault.body is not None else fault_body(fault.status)
            response = Response(fault.status, payload, headers)
        else:
            try:
                response = listener.route(request)
            except Exception:  # a bug in the double must look like a 500, never a traceback
                response = json_response(
                    500, {"error": {"code": "InternalServerError", "message": "double failed"}}
                )
        listener.log.add(
            RequestRecord(
                request.method, host_port, path, split.query, response.status, listener.name
            ),
            arrived,
        )
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response_only(response.status)
        self.send_header("Date", self.date_time_string())
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        # Headers and body in one buffer, one send (end_headers would send the headers alone).
        # send_header collects into http.server's private _headers_buffer; flush_headers sends it.
        buffer: list[bytes] = self._headers_buffer  # type: ignore[attr-defined]
        buffer.append(b"\r\n")
        if self.command != "HEAD":
            buffer.append(response.body)
        self.flush_headers()

    def _reset_connection(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0), the way a dropped load balancer connection looks."""
        self.close_connection = True
        try:
            sock: socket.socket = self.request
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw = socket.socket(fileno=sock.detach())
            raw.close()
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class _Acceptor:
    """One thread that accepts for every listener of the process. It sleeps in ``select`` until
    a connection arrives (or a listener is added or removed): a double that has made hundreds
    of vaults (one listener each) costs nothing while idle, where an accept loop per listener
    would wake every poll interval, and a listener stops at once instead of after its loop's
    next poll. Each accepted connection is served by its own thread (``ThreadingHTTPServer``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        #: (server, add?, done): changes to the selector, made by the loop's own thread.
        self._changes: list[tuple[_Server, bool, threading.Event]] = []

    def add(self, server: _Server) -> None:
        self._change(server, add=True)

    def remove(self, server: _Server) -> None:
        """Returns once the loop no longer accepts for ``server``."""
        self._change(server, add=False)

    def _change(self, server: _Server, *, add: bool) -> None:
        done = threading.Event()
        with self._lock:
            self._changes.append((server, add, done))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="clouddouble-accept",
                                                daemon=True)
                self._thread.start()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        done.wait(timeout=5)

    def _apply_changes(self) -> None:
        with self._lock:
            changes, self._changes = self._changes, []
        for server, add, done in changes:
            with contextlib.suppress(KeyError, ValueError, OSError):
                if add:
                    self._selector.register(server.socket, selectors.EVENT_READ, server)
                else:
                    self._selector.unregister(server.socket)
            done.set()

    def _loop(self) -> None:
        while True:
            self._apply_changes()
            for key, _events in self._selector.select():
                if key.data is None:
                    with contextlib.suppress(OSError):
                        while self._wake_r.recv(4096):
                            pass
                    continue
                self._accept(key.data)

    @staticmethod
    def _accept(server: _Server) -> None:
        """socketserver's own step of ``serve_forever``: accept, then a thread per request."""
        try:
            request, client_address = server.get_request()
        except OSError:
            return
        if not server.verify_request(request, client_address):
            server.shutdown_request(request)
            return
        try:
            server.process_request(request, client_address)
        except Exception:
            server.handle_error(request, client_address)
            server.shutdown_request(request)


_ACCEPTOR = _Acceptor()


class Listener:
    """One HTTPS service on 127.0.0.1:<ephemeral port>, accepted for by the process's one
    accept loop (``_Acceptor``); each connection has its own daemon thread."""

    def __init__(
        self,
        name: str,
        route: Route,
        ssl_context: ssl.SSLContext,
        log: RequestLog,
        faults: FaultTable,
    ) -> None:
        self.name = name
        self.route = route
        self.ssl_context = ssl_context
        self.log = log
        self.faults = faults
        self.stopping = threading.Event()
        self._server = _Server(self)
        self.port: int = self._server.server_address[1]
        self.base_url = f"https://127.0.0.1:{self.port}"
        self._started = False

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self._started = True
        _ACCEPTOR.add(self._server)

    def stop(self) -> None:
        """Stop accepting, wake hung handlers and cut pooled keep-alive connections, so a stopped
        double never keeps answering clients that still hold a connection."""
        self.stopping.set()
        if self._started:
            _ACCEPTOR.remove(self._server)
            self._started = False
        self._server.server_close()
        with self._server.sockets_lock:
            sockets = list(self._server.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def make_ssl_context(cert_pem: bytes, key_pem: bytes, directory: str) -> ssl.SSLContext:
    """Server-side TLS context from PEM bytes (written to ``directory``: ssl wants files)."""
    import os

    cert_path = os.path.join(directory, "server.pem")
    key_path = os.path.join(directory, "server.key")
    with open(cert_path, "wb") as fh:
        fh.write(cert_pem)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context
