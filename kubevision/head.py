"""HEAD on every GET path: the GET answer's status and headers, without its body.

FastAPI routes a method only where it is declared, so a cache or a link checker asking
`HEAD /image/{id}` would get a 405. This middleware routes HEAD as GET and drops the body, so
Content-Length, ETag and Content-Type are exactly those a GET would send (RFC 9110, 9.3.2).
A streaming answer (the event stream) ends as soon as its headers are sent.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        ended = False
        with anyio.CancelScope() as stream_scope:
            async def send_headers_only(message: Message) -> None:
                nonlocal ended
                if message["type"] != "http.response.body":
                    await send(message)
                    return
                if ended:
                    return
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                if message.get("more_body", False):
                    # A stream would go on producing a body nobody reads: stop it here.
                    stream_scope.cancel()

            await self.app({**scope, "method": "GET"}, receive, send_headers_only)
