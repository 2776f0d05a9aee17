"""A loopback HTTP server standing in for the Slack Web API and DingTalk's robot endpoints: it records
every request and answers what ``answer`` says, by default as the platform would (standard library
only, so that the tests of both environments use it)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def platform_answer(request: dict) -> tuple[int, dict, dict]:
    """What Slack's Web API (paths under /api/) or a DingTalk robot answers to an accepted post."""
    if request["path"].startswith("/api/"):
        channel = request["json"].get("channel") if isinstance(request["json"], dict) else None
        return 200, {"ok": True, "channel": channel, "ts": f"{time.time():.6f}"}, {}
    return 200, {"errcode": 0, "errmsg": "ok"}, {}


class Recorder:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.changed = threading.Condition()
        self.answer = platform_answer  # (request) -> (status, JSON body, headers); tests replace it
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                parts = urlsplit(self.path)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                request = {
                    "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "headers": dict(self.headers),
                    "json": body,
                    "time": time.time(),
                }
                status, answer, headers = recorder.answer(request)
                request["status"] = status
                request["ok"] = status == 200 and answer.get("errcode", 0) == 0 and answer.get("ok", True)
                with recorder.changed:  # recorded before the answer: a caller that got it finds it here
                    recorder.requests.append(request)
                    recorder.changed.notify_all()
                data = json.dumps(answer).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # a GET has no body: its "json" is None  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def matching(self, predicate) -> list[dict]:
        with self.changed:
            return [r for r in self.requests if predicate(r)]

    def accepted(self, path: str | None = None) -> list[dict]:
        """The requests the stand-in accepted (answered as a success), optionally to one path."""
        return self.matching(lambda r: r["ok"] and (path is None or r["path"] == path))

    def wait_for(self, predicate, count: int = 1, timeout_s: float = 90.0) -> list[dict]:
        """The first ``count`` requests matching ``predicate``, waiting up to ``timeout_s`` for them."""
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while True:
                found = [r for r in self.requests if predicate(r)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"only {len(found)} of {count} expected requests arrived: {found}")
                self.changed.wait(left)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
