"""A TCP proxy that can lose one answer: the request reaches the server in full, the server
answers, and the client's connection is closed before a byte of that answer is relayed."""

from __future__ import annotations

import contextlib
import socket
import threading


def read_message(conn: socket.socket) -> bytes:
    """One HTTP/1.1 message with a Content-Length body (all the API sends or the SDK sends)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class DroppingProxy:
    """Relays 127.0.0.1:``port`` to the upstream port; ``drop_next()`` loses the answer on the
    next new connection. ``lost`` holds the answers the client never saw."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.lost: list[bytes] = []
        self._drop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def drop_next(self) -> None:
        self._drop.set()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            dropping = self._drop.is_set()
            self._drop.clear()
            target = self._lose_answer if dropping else self._relay
            threading.Thread(target=target, args=(conn,), daemon=True).start()

    def _lose_answer(self, conn: socket.socket) -> None:
        with conn, socket.create_connection(self.upstream) as up:
            up.sendall(read_message(conn))
            self.lost.append(read_message(up))  # the server has committed and answered
            conn.shutdown(socket.SHUT_RDWR)

    def _relay(self, conn: socket.socket) -> None:
        up = socket.create_connection(self.upstream)
        threading.Thread(target=_pump, args=(up, conn), daemon=True).start()
        _pump(conn, up)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
