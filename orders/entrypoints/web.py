"""The web pages (web/): the customer chat page at /, the staff console at /console, and their static
files. The JSON they read is the API's (``orders.entrypoints.http``).

Our own files come from web/src; the libraries (socket.io-client, Chart.js) from web/node_modules,
installed by `npm ci --prefix web` from web/package-lock.json. Only the files the pages load are served.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
)

from orders.config import PROJECT_ROOT
from orders.entrypoints.http.errors import error

WEB_ROOT = PROJECT_ROOT / "web"
SOURCE_DIR = WEB_ROOT / "src"
NODE_MODULES = WEB_ROOT / "node_modules"
INSTALL_HINT = "npm ci --prefix web"
HUB_PATH = "/ws/notifications"
# The library files the pages load: the name they are served under -> their place in node_modules.
VENDOR_FILES = {
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}


def missing_vendor_files(node_modules: Path | None = None) -> list[str]:
    node_modules = node_modules or NODE_MODULES
    return [name for name, path in VENDOR_FILES.items() if not (node_modules / path).is_file()]


def rasa_public_url(environ: Mapping[str, str], request_host: str, scheme: str) -> str:
    """Where the browser finds Rasa's socket.io: RASA_PUBLIC_URL, else this host on Rasa's port."""
    configured = environ.get("RASA_PUBLIC_URL", "").strip()
    if configured:
        return configured.rstrip("/")
    hostname = urlsplit(f"//{request_host}").hostname or "127.0.0.1"
    if ":" in hostname:  # an IPv6 address
        hostname = f"[{hostname}]"
    return f"{scheme}://{hostname}:{environ.get('RASA_PORT', '5005')}"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _content_security_policy(rasa_url: str) -> str:
    """Scripts, styles and connections from this origin only, plus Rasa's socket.io (ws and http)."""
    rasa = _origin_of(rasa_url)
    rasa_ws = rasa.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    host = request.host
    hub = f"{'wss' if request.scheme == 'https' else 'ws'}://{host}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {hub} {rasa} {rasa_ws}; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    )


# --- the blueprint -------------------------------------------------------------------------------------


def create_blueprint(environ: Mapping[str, str] = os.environ) -> Blueprint:
    web = Blueprint("web", __name__, template_folder=str(SOURCE_DIR))

    def page(template: str):
        rasa_url = rasa_public_url(environ, request.host, request.scheme)
        missing = missing_vendor_files()
        response = current_app.make_response(
            render_template(
                template, rasa_url=rasa_url, hub_path=HUB_PATH, missing=missing, install_hint=INSTALL_HINT
            )
        )
        response.headers["Content-Security-Policy"] = _content_security_policy(rasa_url)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @web.get("/")
    def chat_page():
        return page("chat.html")

    @web.get("/console")
    def console_page():
        return page("console.html")

    @web.get("/assets/<path:filename>")
    def asset(filename: str):
        if Path(filename).suffix not in (".js", ".css", ".svg"):
            abort(404)
        response = send_from_directory(SOURCE_DIR / "assets", filename, max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @web.get("/vendor/<name>")
    def vendor(name: str):
        if name not in VENDOR_FILES:
            abort(404)
        path = NODE_MODULES / VENDOR_FILES[name]
        if not path.is_file():
            return error(
                503,
                "web_libraries_missing",
                f"{VENDOR_FILES[name]} is not installed: run `{INSTALL_HINT}` (or `make run`).",
            )
        return send_from_directory(path.parent, path.name, max_age=3600)

    return web


def register_web(app: Flask) -> None:
    app.register_blueprint(create_blueprint())
