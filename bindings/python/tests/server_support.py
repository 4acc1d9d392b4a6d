"""The real server binary on an ephemeral loopback port, for the remote client's tests.

The binary is the workspace build's (``$CARGO_TARGET_DIR/debug/agentdb-server``,
``cargo build --workspace``), or ``AGENTDB_SERVER_BIN``. Each server gets its
own data directory and a config with one key per role; it prints
``listening on http://…`` once bound, as crates/agentdb-server/schemathesis.sh reads it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import agentdb

TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache" / "agentdb-target")
SERVER_BIN = Path(os.environ.get("AGENTDB_SERVER_BIN") or TARGET / "debug" / "agentdb-server")

#: The keys every test server accepts (name -> key); roles and scopes in KEY_CONFIG.
KEYS = {
    "admin": "test-admin-key",
    "writer": "test-writer-key",
    "reader": "test-reader-key",
    "tenant": "test-tenant-key",
}
KEY_CONFIG = {
    "admin": 'role = "admin"',
    "writer": 'role = "read_write"',
    "reader": 'role = "read_only"',
    "tenant": 'role = "read_write"\nagents = [42]\nnamespace = "tenant_a"',
}
START_TIMEOUT_S = 120.0


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Server:
    """One running server; :meth:`stop` ends it (SIGTERM: drain, flush, close)."""

    def __init__(self, data_dir: Path, *, memory_dimension: int = 384) -> None:
        if not SERVER_BIN.is_file():
            raise FileNotFoundError(f"{SERVER_BIN} is missing: cargo build --locked --workspace")
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        run_dir = data_dir.parent
        config = run_dir / f"{data_dir.name}.server.toml"
        lines = [
            "[server]",
            'listen = "127.0.0.1:0"',
            f"data_dir = {_toml_str(str(data_dir))}",
            "shutdown_grace_ms = 5000",
            "[engine]",
            "maintenance_interval_ms = 0",
            f"memory_dimension = {memory_dimension}",
        ]
        from agentdb._db import _installed_model_dir

        model = os.environ.get("AGENTDB_MODEL_DIR") or _installed_model_dir()
        if model:
            lines.append(f"model_dir = {_toml_str(model)}")
        lines += ["[log]", 'level = "error"', 'format = "json"']
        for name, key in KEYS.items():
            digest = hashlib.sha256(key.encode()).hexdigest()
            lines += ["[[auth.keys]]", f'name = "{name}"', f'sha256 = "{digest}"', KEY_CONFIG[name]]
        config.write_text("\n".join(lines) + "\n")
        self._stdout_path = run_dir / f"{data_dir.name}.server.out"
        self._stdout = open(self._stdout_path, "w")
        self._proc = subprocess.Popen(
            [str(SERVER_BIN), "--config", str(config)],
            stdout=self._stdout,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("AGENTDB_")},
        )
        self.url = self._wait_listening()

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        url = None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"agentdb-server exited ({self._proc.returncode}): {self.output()}")
            if url is None:
                for line in self.output().splitlines():
                    if line.startswith("listening on "):
                        url = line.removeprefix("listening on ").strip()
            if url is not None:
                try:
                    with urllib.request.urlopen(url + "/readyz", timeout=5) as r:
                        if r.status == 200:
                            return url
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"agentdb-server did not become ready in {START_TIMEOUT_S} s: {self.output()}")

    def output(self) -> str:
        return self._stdout_path.read_text(errors="replace")

    def connect(self, key: str | None = "admin") -> agentdb.RemoteAgentDB:
        """A client with one of KEYS (by name), or without a key (``None``)."""
        return agentdb.connect(self.url, api_key=None if key is None else KEYS[key])

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._stdout.close()


class ServedDatabase(agentdb.RemoteAgentDB):
    """A remote client that owns its server: closing it stops the server, so
    code written for ``with agentdb.connect(path) as db`` (close, reopen the
    same directory) runs unchanged against a server on that directory."""

    __slots__ = ("_server",)

    def __init__(self, data_dir: Path, *, memory_dimension: int = 384) -> None:
        server = Server(data_dir, memory_dimension=memory_dimension)
        client = server.connect("admin")
        super().__init__(client._http)
        self._server = server

    def close(self) -> None:
        super().close()
        self._server.stop()
