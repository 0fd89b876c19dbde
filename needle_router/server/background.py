"""Run the app on uvicorn in a background thread: for tests, benchmarks and notebooks.

    with BackgroundServer(ServerSettings(model="needle-tiny")) as server:
        OpenAI(base_url=server.base_url + "/v1", api_key="unused")

The socket is bound before the thread starts (port 0 picks a free one), so there is no race
for the port, and ``__enter__`` returns only once startup (model load, warmup) finished.
"""

from __future__ import annotations

import socket
import threading
import time

from needle_router.server.app import ServerSettings, create_app

__all__ = ["BackgroundServer"]


class BackgroundServer:
    """The app for ``settings`` served on ``host:port`` until :meth:`stop`."""

    def __init__(self, settings: ServerSettings | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 startup_timeout_s: float = 300.0) -> None:
        import uvicorn

        self.settings = settings or ServerSettings()
        self.app = create_app(self.settings)
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = host, self._sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", timeout_keep_alive=5, server_header=False)
        self.server = uvicorn.Server(config)
        self._timeout = startup_timeout_s
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._sock]},
                                        name=f"needle-server-{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "BackgroundServer":
        self._thread.start()
        deadline = time.monotonic() + self._timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the server stopped during startup (see the log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the server did not start within {self._timeout:g} s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._sock.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
