"""The local alert receiver: Alertmanager's webhook notifications, appended to a log one JSON line
each (`python -m api.alertlog --port P --file F`). In production the same routes go to a pager or a
chat webhook; here the tests read the log to prove an alert reached someone."""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def serve(port: int, log: Path) -> None:
    lock = threading.Lock()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            try:
                notification: Any = json.loads(self.rfile.read(min(size, 1 << 20)))
            except ValueError:
                self.send_error(400, "not JSON")
                return
            line = json.dumps({"received_at": time.time(), "path": self.path, "notification": notification})
            with lock, log.open("a") as out:
                out.write(line + "\n")
            self.send_response(200)
            self.end_headers()

        def do_GET(self) -> None:  # the health check
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # the log file is the record
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", type=Path, required=True)
    args = parser.parse_args()
    serve(args.port, args.file)
