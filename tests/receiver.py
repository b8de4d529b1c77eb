"""A webhook endpoint on loopback for tests: a real HTTP server, no mocks."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook endpoint on loopback: records requests, answers with `status`.

    Set `hold` to keep each answer back until the test sets it; `arrived` is set on each request.
    """

    url: str
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    hold: threading.Event | None = None


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    # Loopback is refused by the callback policy unless allow-listed, as a deployment with an
    # internal receiver would do.
    settings.WEBHOOK_ALLOWED_TARGETS = ["127.0.0.1"]
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            state.arrived.set()
            if state.hold is not None:
                state.hold.wait(timeout=5)
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    # A short poll interval lets shutdown() return at once instead of after half a second.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()
