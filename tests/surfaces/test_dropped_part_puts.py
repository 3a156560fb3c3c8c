"""A client that drops in the middle of a PUT to omnidrop's own part URL: the ASGI app answers (to no
one) instead of raising, as the File Upload API and tus do, so the server logs no traceback."""

from __future__ import annotations

from urllib.parse import urlsplit

from omnidrop.app import create_app
from omnidrop.protocols.presigned_parts import part_url
from omnidrop.settings import Settings


async def test_a_dropped_part_put_is_answered_not_raised(db_url, tmp_path):
    app = create_app(Settings(data_dir=tmp_path, database_url=db_url))
    async with app.router.lifespan_context(app):
        services = app.state.services
        owner = await services.keys.ensure_owner("dropped-part")
        upload = await services.parts.create(owner, "t/dropped.bin")
        url = urlsplit(part_url(services.parts, services.signer, upload, 1, "http://testserver/", 600))
        incoming = [{"type": "http.request", "body": b"0123456789", "more_body": True}, {"type": "http.disconnect"}]

        async def receive():
            return incoming.pop(0) if incoming else {"type": "http.disconnect"}

        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "PUT",
                 "scheme": "http", "path": url.path, "raw_path": url.path.encode(), "root_path": "",
                 "query_string": url.query.encode(), "server": ("testserver", 80), "client": ("127.0.0.1", 1),
                 "headers": [(b"host", b"testserver"), (b"content-length", b"1000")]}
        await app(scope, receive, send)  # raised BodyInterrupted before: an "Exception in ASGI application"
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        assert start["status"] == 400 and b"<Code>IncompleteBody</Code>" in body
        assert await services.parts.list_parts(upload) == []  # nothing of the cut part was kept
