"""The reference field client at ``/app/``: the installable web app built from ``web/``
(``npm ci && npm run build`` in web/, which ``make run`` and ``make test`` do) into
``web/dist``, served as static files. No token is needed to load the app itself; it asks
for one (its sign-in screen) before it calls the API.

Caching: hashed build assets (``/app/assets/*``) are immutable; the page, the service
worker and the web manifest are revalidated on every load (``no-cache`` with an ETag), so
a new build reaches phones at their next start. The app's own Content-Security-Policy
allows only this origin (MapLibre's worker and tile images use ``blob:``), and the origin of the
basemap style (FIELDNAV_BASEMAP_STYLE_URL), which the map reads its street map from.

Demo sign-in link: ``fieldnav token create ... | python -m service.api.routes.app_static``
prints ``http://HOST:PORT/app/#token=<token>`` (``make run`` does, with a 12 h demo token).
The token travels in the URL fragment, which browsers never send to a server (so it is in
no access log); the app stores it and removes it from the address bar.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import jwt
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.responses import FileResponse

from service.api.errors import problem_response
from service.api.http_cache import IMMUTABLE
from service.platform.settings import PROJECT_ROOT, api_settings, basemap_settings

router = APIRouter(include_in_schema=False)

WEB_DIR = PROJECT_ROOT / "web"
# Where `npm run build` (web/vite.config.js) writes the app. Tests may point it elsewhere.
DIST_DIR = WEB_DIR / "dist"
BUILD_HINT = "cd web && npm ci && npm run build (or `make web`)"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}


def _style_origin() -> str:
    """The origin of the basemap style (FIELDNAV_BASEMAP_STYLE_URL), which the map fetches the
    style, its tiles, glyphs and sprites from; '' when there is none. A style must keep those
    on its own origin (OpenFreeMap's do)."""
    style = basemap_settings().style
    if not style:
        return ""
    parts = urlsplit(style)
    return f" {parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


STYLE_ORIGIN = _style_origin()
APP_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # MapLibre positions its controls and popups with style attributes
        f"img-src 'self' data: blob:{STYLE_ORIGIN}",
        "font-src 'self' data:",
        f"connect-src 'self' blob: data:{STYLE_ORIGIN}",
        "worker-src 'self' blob:",
        "child-src 'self' blob:",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

REVALIDATE = "no-cache"
# Files fetched again on every start: a new build must reach phones as soon as they are online.
ALWAYS_REVALIDATE = {"index.html", "sw.js", "manifest.webmanifest"}


def _problem(request: Request, status: int, slug: str, detail: str, **extra) -> Response:
    response = problem_response(request, status, slug, detail, **extra)
    response.headers["Content-Security-Policy"] = APP_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def _etag(path: Path) -> str:
    stat = path.stat()
    return f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'


def _serve(request: Request, relative: str) -> Response:
    root = DIST_DIR.resolve()
    if not (root / "index.html").is_file():
        return _problem(
            request,
            503,
            "app-not-built",
            f"The field client is not built on this server: run {BUILD_HINT}, then reload.",
            title="Field client not built",
            detail_fr=f"L’application terrain n’est pas construite sur ce serveur : exécutez {BUILD_HINT}, "
            "puis rechargez la page.",
        )
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return _problem(
            request,
            404,
            "not-found",
            f"No file /app/{relative} in the field client.",
            detail_fr=f"Aucun fichier /app/{relative} dans l’application terrain.",
        )
    name = target.relative_to(root).as_posix()
    if name.startswith("assets/"):
        cache = IMMUTABLE  # content-hashed names (vite)
    elif name in ALWAYS_REVALIDATE:
        cache = REVALIDATE
    else:
        cache = "public, max-age=3600"
    etag = _etag(target)
    headers = {"Cache-Control": cache, "ETag": etag, "Content-Security-Policy": APP_CSP}
    if name == "sw.js":
        headers["Service-Worker-Allowed"] = "/app/"
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    media_type = MEDIA_TYPES.get(target.suffix, "application/octet-stream")
    return FileResponse(target, media_type=media_type, headers=headers)


@router.api_route("/app", methods=["GET", "HEAD"])
def app_redirect(request: Request) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/app/{query}", status_code=308)


@router.api_route("/app/", methods=["GET", "HEAD"])
def app_index(request: Request) -> Response:
    return _serve(request, "index.html")


@router.api_route("/app/{path:path}", methods=["GET", "HEAD"])
def app_file(request: Request, path: str) -> Response:
    return _serve(request, path or "index.html")


def sign_in_link(base_url: str, token: str) -> str:
    """The link that signs the field client in with ``token`` (kept in the URL fragment)."""
    return f"{base_url.rstrip('/')}/app/#token={token}"


def local_base_url() -> str:
    settings = api_settings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def main() -> int:
    """Read a token on stdin and print the demo sign-in link (``make run`` uses this)."""
    token = sys.stdin.read().strip()
    if not token:
        print("no token on stdin: pipe `fieldnav token create ...` into this command", file=sys.stderr)
        return 1
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        until = datetime.fromtimestamp(claims["exp"]).astimezone().strftime("%Y-%m-%d %H:%M %Z")
        who = f"{claims.get('role')} of agency {claims.get('agency')}, valid until {until}"
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        who = "demo sign-in"
    print(f"\nField client ({who}):\n  {sign_in_link(local_base_url(), token)}\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
