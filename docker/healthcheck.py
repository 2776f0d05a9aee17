"""Container health check: exit 0 when a URL answers HTTP 200, else 1.

The images have no curl; Python is there. The URL is the first argument, else ``$HEALTHCHECK_URL``
(each Dockerfile sets its default; docker-compose.yml passes each service's own).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else os.environ.get("HEALTHCHECK_URL", "")
    if not url:
        print("healthcheck: no URL (argument or HEALTHCHECK_URL)", file=sys.stderr)
        return 1
    try:
        with urllib.request.urlopen(url, timeout=float(os.environ.get("HEALTHCHECK_TIMEOUT", "4"))) as answer:
            return 0 if answer.status == 200 else 1
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
