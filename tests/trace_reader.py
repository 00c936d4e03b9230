"""A real trace reader that runs offline: Chromium's own DevTools trace engine.

Chromium (Debian's `chromium` package) ships its DevTools front end inside the browser,
and with it the engine of the Performance panel (`models/trace/trace.js`), which reads
Chrome trace-event JSON into processes, threads and their slices. Neither chrome://tracing
(gone from Chromium 156: ERR_FAILED, also with internal debugging pages enabled and under
Xvfb) nor the Perfetto UI (not shipped) is needed.

How it is brought up: `chromium --headless=new --no-sandbox --remote-debugging-port=0`
with a fresh profile; the port comes from the profile's `DevToolsActivePort` file; a tab
is opened on `devtools://devtools/bundled/trace_app.html` (the DevTools trace viewer
page) through the DevTools HTTP endpoint; then, over the DevTools protocol (a websocket,
spoken by the small client below), the page imports the trace engine, parses the file's
`traceEvents` and returns what it found. The browser runs in its own process group and
is killed when done.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

VIEWER = "devtools://devtools/bundled/trace_app.html"


def chromium() -> Optional[str]:
    """The Chromium executable, or None where it is not installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class _DevToolsSocket:
    """The DevTools protocol over one websocket: text frames, client frames masked."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self._exact(1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"no websocket: {head[:200]!r}")
        self.last_id = 0

    def _exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            buf += chunk
        return bytes(buf)

    def _send(self, data: bytes) -> None:
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        mask = os.urandom(4)
        body = np.frombuffer(data, dtype=np.uint8) ^ np.resize(
            np.frombuffer(mask, dtype=np.uint8), n)
        self.sock.sendall(head + mask + body.tobytes())

    def _receive(self) -> bytes:
        parts = []
        while True:
            first, second = self._exact(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exact(8))[0]
            parts.append(self._exact(n))
            if first & 0x80:
                return b"".join(parts)

    def call(self, method: str, **params: Any) -> Dict[str, Any]:
        self.last_id += 1
        self._send(json.dumps({"id": self.last_id, "method": method,
                               "params": params}).encode())
        while True:
            msg = json.loads(self._receive())
            if msg.get("id") == self.last_id:
                if "error" in msg:
                    raise RuntimeError(msg["error"])
                return msg["result"]

    def close(self) -> None:
        self.sock.close()


# Runs in the DevTools viewer page: the Performance panel's engine reads the file.
_PARSE = """(async () => {
  const {TraceModel} = await import('./models/trace/trace.js');
  const model = TraceModel.Model.createWithAllHandlers();
  const file = %s;
  await model.parse(file.traceEvents);
  const data = model.parsedTrace(0).data;
  const threads = [];
  for (const [pid, process] of data.Renderer.processes)
    for (const [tid, thread] of process.threads)
      threads.push({pid, tid, name: thread.name, slices: thread.entries.length});
  return {generic: data.Meta.traceIsGeneric, threads,
          processes: [...data.Meta.processNames.entries()].map(([pid, e]) => [pid, e.args.name])};
})()"""


def read_trace(path: Path, timeout: float = 120.0) -> Dict[str, Any]:
    """What Chromium's DevTools trace engine reads from a trace-event JSON file:
    ``{"generic": bool, "threads": [{"pid", "tid", "name", "slices"}...],
    "processes": [[pid, name]...]}``."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed")
    text = Path(path).read_text()
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="hpxpy-chromium-") as profile:
        proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            while not port_file.exists() or not port_file.read_text().strip():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("chromium did not open its DevTools port")
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?{VIEWER}",
                                             method="PUT")
            with urllib.request.urlopen(request, timeout=30) as answer:
                tab = json.loads(answer.read())
            page = _DevToolsSocket(tab["webSocketDebuggerUrl"], deadline - time.monotonic())
            try:
                while True:  # until the viewer page has loaded
                    state = page.call("Runtime.evaluate", expression="document.readyState",
                                      returnByValue=True)["result"].get("value")
                    if state == "complete":
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError("the DevTools viewer page did not load")
                    time.sleep(0.1)
                result = page.call("Runtime.evaluate", expression=_PARSE % text,
                                   awaitPromise=True, returnByValue=True)
            finally:
                page.close()
            if "exceptionDetails" in result:
                raise RuntimeError(result["exceptionDetails"])
            return result["result"]["value"]
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
