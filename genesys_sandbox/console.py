"""The agent console: a static page and script over the control API."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"
FILES = {
    "console.js": "application/javascript",
    "console.css": "text/css",
}


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "console.html", headers={"Content-Type": "text/html"})


async def asset(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if name not in FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name, headers={"Content-Type": FILES[name]})


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console", redirect)
    app.router.add_get("/console/", page)
    app.router.add_get("/console/{name}", asset)
