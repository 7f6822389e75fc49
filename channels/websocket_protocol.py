"""A lean websocket protocol for uvicorn: the ASGI contract of uvicorn's websockets-sansio, with less held per socket."""

from __future__ import annotations

import asyncio
import email.utils
import enum
import logging
import os
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import unquote

from uvicorn.config import Config
from uvicorn.protocols.utils import ClientDisconnected, get_local_addr, get_remote_addr, is_ssl
from uvicorn.server import ServerState
from websockets.datastructures import Headers
from websockets.exceptions import InvalidState
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import OPEN, Protocol, Side
from websockets.server import ServerProtocol

# uvicorn's --ws option takes "module:Class"; the Procfile, `make run` and the tests all use this one.
UVICORN_WS = "channels.websocket_protocol:LeanWebSocketProtocol"

# The uvicorn release whose websocket protocol (websockets-sansio) this one follows, and whose own
# websocket tests it passes (tests/channels/test_uvicorn_websocket_suite.py, vendored from that
# release). A test checks the installed uvicorn is this one: on an upgrade, read that release's
# websockets_sansio_impl.py and tests/protocols/test_websocket.py for changes, then bump this.
TRACKS_UVICORN = "0.54.0"

# An ASGI extension in the scope: write_nowait(frame) writes one already serialized server frame
# at once if the socket can take it without waiting, and returns False otherwise (see the method).
WRITE_NOWAIT = "kindred.websocket.write_nowait"

log = logging.getLogger("uvicorn.error")
_frames_log = logging.getLogger("websockets.server")

CLOSE_TIMEOUT = 10.0


class State(enum.Enum):
    """Where one connection is; each transition is one assignment to LeanWebSocketProtocol.state."""

    HANDSHAKE = enum.auto()  # the upgrade request is not answered yet: the app may accept, close or respond
    RESPONSE = enum.auto()  # the app is sending an HTTP response instead of accepting (its body still to come)
    OPEN = enum.auto()  # accepted: frames go both ways
    CLOSING = enum.auto()  # the app's close frame is sent; reading goes on until the client answers it
    CLOSED = enum.auto()  # hung up: the transport is closing (aborted if it has not closed in close_timeout)
    GONE = enum.auto()  # the transport is lost (connection_lost)


class LeanWebSocketProtocol(asyncio.Protocol):
    """One websocket connection, served to an ASGI app, with as little as possible kept while it is idle.

    The connection moves through State: HANDSHAKE, then OPEN on accept (or RESPONSE while the app
    sends an HTTP response instead), CLOSING once the app's close frame is sent, CLOSED once hung
    up, GONE once the transport is lost; any state may jump to CLOSED or GONE.

    A member's phone may keep a socket open for hours while saying nothing, so an idle socket
    should cost little. What uvicorn's websockets-sansio keeps for a socket's whole life and
    this does not: the parsed upgrade request and response (websockets' handshake parser keeps
    the request in a generator frame, so the handshake protocol is swapped for a fresh one in
    the OPEN state once the 101 is written), an asyncio.Queue and an asyncio.Event (here a
    deque and a future, created only while something waits). Behaviour follows uvicorn: the
    first receive is websocket.connect, a close before accept answers HTTP 403, reading pauses
    while a received message waits for the app, keepalive pings, close 1012 on shutdown.
    One difference: closing never waits for the client to read, so a stalled client cannot
    hold a close (the close frame is queued and the transport aborted close_timeout after it).
    permessage-deflate is never negotiated: a fan-out frame is serialized once for every socket
    (write_nowait), and a compressor per socket would cost more memory than all the rest.
    """

    __slots__ = (
        "abort_timer",
        "app",
        "app_state",
        "client",
        "close_timeout",
        "close_timer",
        "config",
        "conn",
        "connections",
        "default_headers",
        "fragments",
        "fragments_text",
        "incoming",
        "initial_response",
        "loop",
        "ping_payload",
        "ping_timer",
        "pong_timer",
        "read_paused",
        "receiver",
        "response",
        "scope",
        "state",
        "tasks",
        "transport",
        "writable",
        "write_paused",
    )

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.app_state = app_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.default_headers = server_state.default_headers
        self.transport: asyncio.Transport = cast(asyncio.Transport, None)
        self.client: tuple[str, int] | None = None
        # A ServerProtocol until the handshake is answered, then a plain Protocol in the OPEN state.
        self.conn: Protocol = ServerProtocol(max_size=config.ws_max_size, logger=_frames_log)
        self.scope: dict[str, Any] | None = None
        self.response: Response | None = None
        self.initial_response: tuple[int, list[tuple[str, str]], bytes] | None = None
        self.state = State.HANDSHAKE
        # ASGI receive events waiting for the app, the connect event first; a list is smaller than a deque.
        self.incoming: list[dict[str, Any]] = []
        self.receiver: asyncio.Future[None] | None = None
        self.read_paused = False
        self.write_paused = False
        self.writable: asyncio.Future[None] | None = None
        self.fragments: list[bytes] = []
        self.fragments_text = False
        self.ping_timer: asyncio.TimerHandle | None = None
        self.pong_timer: asyncio.TimerHandle | None = None
        self.ping_payload: bytes | None = None
        # uvicorn's name: how long a close waits for the client's answer, and a hang-up for the buffer to drain.
        self.close_timeout = CLOSE_TIMEOUT
        self.close_timer: asyncio.TimerHandle | None = None  # CLOSING: hang up if the client never answers
        self.abort_timer: asyncio.TimerHandle | None = None  # CLOSED: abort if the transport never closes

    # --- transport callbacks ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.connections.add(self)  # type: ignore[arg-type]
        self.client = get_remote_addr(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_keepalive()
        self._cancel_close_timers()
        # After a close frame either way the app was told already (and the first reason stands).
        opened = self.state is State.OPEN or self.state is State.CLOSING
        self._to_app({"type": "websocket.disconnect", "code": 1005 if opened else 1006})
        self.state = State.GONE
        self.connections.discard(self)
        # A send waiting for the buffer to drain would wait forever: the buffer will never drain now.
        self._wake_writers()
        if exc is None:
            self.transport.close()

    def eof_received(self) -> None:
        pass

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_writers()

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        for event in self.conn.events_received():
            if isinstance(event, Request):
                self._handle_request(event)
            elif isinstance(event, Frame):
                self._handle_frame(event)
        if self.conn.parser_exc is not None:
            # A frame was too large or malformed: websockets queued the close frame (1009, 1002…).
            self._failed()

    def _hang_up(self) -> None:
        """Close the connection once what is buffered is sent, and abort it if that has not happened in close_timeout.

        transport.close() waits for the write buffer to drain, which a client that stopped reading
        never lets happen: without the abort it would keep its socket until the process exits.
        """
        if self.state is State.GONE:
            return
        self.state = State.CLOSED
        self._wake_writers()  # a send waiting for the buffer gives up: nothing more goes out
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None
        self.transport.close()
        if self.abort_timer is None:
            self.abort_timer = self.loop.call_later(self.close_timeout, self._abort)

    def _abort(self) -> None:
        self.abort_timer = None
        self.transport.abort()

    def _close_unanswered(self) -> None:
        """CLOSING for close_timeout and the client never answered the close frame: hang up."""
        self.close_timer = None
        self._hang_up()

    def _cancel_close_timers(self) -> None:
        for timer in (self.close_timer, self.abort_timer):
            if timer is not None:
                timer.cancel()
        self.close_timer = self.abort_timer = None

    def _failed(self) -> None:
        """websockets failed the connection (and queued its close frame): tell the app, send it, hang up."""
        if self.transport.is_closing():
            return
        self._to_app(_disconnect(self.conn.close_sent, 1002))
        self._flush()
        self._stop_keepalive()
        self._hang_up()

    def shutdown(self) -> None:
        """uvicorn is stopping (SIGTERM): close with 1012, "service restart", so clients reconnect elsewhere."""
        self._stop_keepalive()
        if self.state is State.OPEN:
            self._to_app({"type": "websocket.disconnect", "code": 1012})
            self.conn.send_close(1012)
            self._flush()
        elif self.state is State.HANDSHAKE:
            self._send_500()
        self._hang_up()

    # --- incoming -----------------------------------------------------------------------------

    def _handle_request(self, request: Request) -> None:
        assert isinstance(self.conn, ServerProtocol)
        response = self.conn.accept(request)
        if response.status_code != 101:
            # Not a valid websocket handshake: answered without the app.
            self.conn.send_response(response)
            self._flush()
            self._hang_up()
            return
        self.response = response
        raw_path, _sep, query = request.path.partition("?")
        root_path = self.config.root_path
        subprotocols = [
            token.strip()
            for header in request.headers.get_all("Sec-WebSocket-Protocol")
            for token in header.split(",")
            if token.strip()
        ]
        self.scope = {
            "type": "websocket",
            "asgi": {"version": self.config.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "wss" if is_ssl(self.transport) else "ws",
            "server": get_local_addr(self.transport),
            "client": self.client,
            "root_path": root_path,
            "path": root_path + unquote(raw_path),
            "raw_path": root_path.encode("ascii") + raw_path.encode("ascii"),
            "query_string": query.encode("ascii"),
            "headers": [
                (key.lower().encode("ascii"), value.encode("latin-1")) for key, value in request.headers.raw_items()
            ],
            "subprotocols": subprotocols,
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}, WRITE_NOWAIT: self.write_nowait},
        }
        self._to_app({"type": "websocket.connect"})
        task = self.loop.create_task(self._run_asgi())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _handle_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            self.fragments_text = opcode is Opcode.TEXT
            self.fragments = [bytes(frame.data)]
            if frame.fin:
                self._message_to_app()
        elif opcode is Opcode.CONT:
            self.fragments.append(bytes(frame.data))
            if frame.fin:
                self._message_to_app()
        elif opcode is Opcode.PING:
            self._flush()  # websockets queued the pong
        elif opcode is Opcode.PONG:
            self._handle_pong(bytes(frame.data))
        elif opcode is Opcode.CLOSE:
            if self.state is not State.OPEN:
                # CLOSING: the client answered our close, the closing handshake is complete (CLOSED: late, ignored).
                self._hang_up()
                return
            self._to_app(_disconnect(self.conn.close_rcvd, 1005))
            self._flush()  # websockets queued the close echo
            self._hang_up()

    def _message_to_app(self) -> None:
        data = self.fragments[0] if len(self.fragments) == 1 else b"".join(self.fragments)
        self.fragments = []
        if self.state is not State.OPEN:
            return  # the app already closed: drop it, keep reading until the client's close arrives
        if self.fragments_text:
            try:
                text = data.decode()
            except UnicodeDecodeError:
                self.conn.fail(1007, "invalid UTF-8")
                self._failed()
                return
            self._to_app({"type": "websocket.receive", "text": text})
        else:
            self._to_app({"type": "websocket.receive", "bytes": data})
        # Read no further until the app takes it: a client cannot pile up messages in the server.
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def _to_app(self, event: dict[str, Any]) -> None:
        if event["type"] == "websocket.disconnect" and self.incoming and self.incoming[-1]["type"] == event["type"]:
            return  # the app is already told; the first reason stands
        self.incoming.append(event)
        receiver = self.receiver
        if receiver is not None and not receiver.done():
            receiver.set_result(None)

    async def receive(self) -> dict[str, Any]:
        while not self.incoming:
            self.receiver = self.loop.create_future()
            try:
                await self.receiver
            finally:
                self.receiver = None
        event = self.incoming[0]
        if event["type"] == "websocket.disconnect" and len(self.incoming) == 1:
            return event  # left in place: every later receive also says the socket is gone
        del self.incoming[0]
        if self.read_paused and not self.incoming and self.state is State.OPEN:
            self.read_paused = False
            self.transport.resume_reading()
        return event

    # --- outgoing -----------------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        state = self.state
        if state is State.GONE:
            raise ClientDisconnected()
        if state is State.HANDSHAKE:
            self._send_handshake(message)
            return
        if state is State.RESPONSE:
            self._send_http_body(message)
            return
        if kind == "websocket.send":
            while self.write_paused and self.state is State.OPEN:
                await self._wait_writable()
            if self.state is not State.OPEN:
                raise ClientDisconnected()
            data = message.get("bytes")
            try:
                if data is not None:
                    self.conn.send_binary(data)
                else:
                    self.conn.send_text(cast(str, message["text"]).encode())
            except InvalidState:
                raise ClientDisconnected() from None
            self._flush()
        elif kind == "websocket.close":
            if state is not State.OPEN or self.transport.is_closing():
                return
            code = message.get("code", 1000)
            reason = message.get("reason") or ""
            self._to_app({"type": "websocket.disconnect", "code": code, "reason": reason})
            self.conn.send_close(code, reason)
            # Not waiting for the buffer to drain: a client that stopped reading is closed all the same.
            self._flush()
            self.state = State.CLOSING
            self._wake_writers()
            self._stop_keepalive()
            if self.read_paused:
                self.read_paused = False
                self.transport.resume_reading()
            # Reading goes on until the client answers the close (then _hang_up); hang up if it never does.
            self.close_timer = self.loop.call_later(self.close_timeout, self._close_unanswered)
        else:
            raise RuntimeError(f"Expected ASGI message 'websocket.send' or 'websocket.close', but got {kind!r}.")

    def write_nowait(self, frame: bytes) -> bool:
        """Write one serialized, unmasked, final server frame now; False (nothing written) if that would mean waiting.

        A fan-out sends the same frame to hundreds of sockets: serialized once per message and
        written here, it costs one transport write per socket, with no coroutine, task or ASGI
        message. Refused before accept, once closing or gone, and while the client is not
        reading (the caller then queues it behind the ASGI send path, which waits).
        """
        if (
            self.write_paused
            or self.state is not State.OPEN
            or self.conn.state is not OPEN  # websockets failed the connection (its close frame is queued)
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True

    def _send_handshake(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        assert isinstance(self.conn, ServerProtocol) and self.response is not None
        path = self.scope["path"] if self.scope else "?"
        # The scope's client, not the peer: --proxy-headers rewrites it to the forwarded address.
        client = _address(self.scope["client"] if self.scope else self.client)
        # Answered one way or another: from now on only the app holds the scope.
        self.scope = None
        if kind == "websocket.accept":
            log.info('%s - "WebSocket %s" [accepted]', client, path)
            response = self.response
            del response.headers["Date"]
            for name, value in [*self.default_headers, *message.get("headers", [])]:
                response.headers[name.decode("latin-1")] = value.decode("latin-1")
            if message.get("subprotocol"):
                response.headers["Sec-WebSocket-Protocol"] = message["subprotocol"]
            if self.transport.is_closing():
                return
            self.state = State.OPEN
            self.conn.send_response(response)
            self._flush()
            # The handshake parser keeps the whole request alive for the connection's life; a fresh
            # protocol in the OPEN state reads the frames instead, starting from any bytes already read.
            leftover = bytes(self.conn.reader.buffer)
            self.conn = Protocol(Side.SERVER, state=OPEN, max_size=self.config.ws_max_size, logger=_frames_log)
            self.response = None
            if leftover:
                self.data_received(leftover)
            self._start_keepalive()
        elif kind == "websocket.close":
            # Refused before accepting: the upgrade is answered with HTTP 403.
            log.info('%s - "WebSocket %s" 403', client, path)
            self._to_app({"type": "websocket.disconnect", "code": 1006})
            self._respond(self.conn.reject(HTTPStatus.FORBIDDEN, ""))
        elif kind == "websocket.http.response.start":
            status = message["status"]
            if not 100 <= status < 600:
                raise RuntimeError(f"Invalid HTTP status code {status!r} in response.")
            log.info('%s - "WebSocket %s" %d', client, path, status)
            headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in message.get("headers", [])]
            self.initial_response = (status, headers, b"")
            self.state = State.RESPONSE
        else:
            raise RuntimeError(
                "Expected ASGI message 'websocket.accept', 'websocket.close' or "
                f"'websocket.http.response.start' but got {kind!r}."
            )

    def _send_http_body(self, message: dict[str, Any]) -> None:
        assert self.initial_response is not None
        if message["type"] != "websocket.http.response.body":
            raise RuntimeError(f"Expected ASGI message 'websocket.http.response.body' but got {message['type']!r}.")
        status, headers, body = self.initial_response
        body += message.get("body", b"")
        self.initial_response = (status, headers, body)
        if message.get("more_body", False):
            return
        response_headers = Headers(headers)
        response_headers.setdefault("Date", email.utils.formatdate(usegmt=True))
        response_headers.setdefault("Connection", "close")
        response_headers.setdefault("Content-Length", str(len(body)))
        response_headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        self._to_app({"type": "websocket.disconnect", "code": 1006})
        self._respond(Response(status, _phrase(status), response_headers, body))

    def _respond(self, response: Response) -> None:
        """Answer the upgrade with a plain HTTP response and close."""
        assert isinstance(self.conn, ServerProtocol)
        self.initial_response = None
        self.conn.send_response(response)
        self._flush()
        self._hang_up()

    def _send_500(self) -> None:
        """Answer a still unanswered upgrade with HTTP 500 (the caller hangs up)."""
        if self.state is not State.HANDSHAKE:
            return
        assert isinstance(self.conn, ServerProtocol)
        self.conn.send_response(self.conn.reject(500, "Internal Server Error"))
        self._flush()

    def _flush(self) -> None:
        output = self.conn.data_to_send()
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))

    async def _wait_writable(self) -> None:
        if self.writable is None or self.writable.done():
            self.writable = self.loop.create_future()
        await asyncio.shield(self.writable)

    def _wake_writers(self) -> None:
        writable = self.writable
        self.writable = None
        if writable is not None and not writable.done():
            writable.set_result(None)

    # --- the app ------------------------------------------------------------------------------

    async def _run_asgi(self) -> None:
        scope = self.scope
        assert scope is not None
        path = scope["path"]
        try:
            result = await self.app(scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            log.exception("Exception in ASGI application\n")
            self._send_500()
        else:
            if self.state is State.HANDSHAKE or self.state is State.RESPONSE:
                log.error("ASGI callable returned without completing handshake (%s).", path)
                self._send_500()
            elif result is not None:
                log.error("ASGI callable should return None, but returned '%s'.", result)
        if self.state is not State.CLOSING and not self.transport.is_closing():
            # The app ended without closing (or before accepting): hang up. After its close, the
            # client's answer or the close timer ends the connection instead.
            self._hang_up()

    # --- keepalive ----------------------------------------------------------------------------

    def _start_keepalive(self) -> None:
        interval = self.config.ws_ping_interval
        if interval:
            self.ping_timer = self.loop.call_later(interval, self._send_ping)

    def _stop_keepalive(self) -> None:
        for timer in (self.ping_timer, self.pong_timer):
            if timer is not None:
                timer.cancel()
        self.ping_timer = self.pong_timer = None
        self.ping_payload = None

    def _send_ping(self) -> None:
        self.ping_timer = None
        if self.state is not State.OPEN or self.transport.is_closing():
            return
        self.ping_payload = os.urandom(4)
        self.conn.send_ping(self.ping_payload)
        self._flush()
        timeout = self.config.ws_ping_timeout
        if timeout:
            self.pong_timer = self.loop.call_later(timeout, self._keepalive_timeout)
        else:
            self._start_keepalive()

    def _handle_pong(self, payload: bytes) -> None:
        if self.ping_payload is None or payload != self.ping_payload:
            return  # unsolicited or stale
        self.ping_payload = None
        if self.pong_timer is not None:
            self.pong_timer.cancel()
            self.pong_timer = None
            self._start_keepalive()

    def _keepalive_timeout(self) -> None:
        self.pong_timer = None
        if self.state is not State.OPEN or self.transport.is_closing():
            return
        self.conn.fail(1011, "keepalive ping timeout")
        self._failed()


def _disconnect(close: Close | None, code_without_frame: int) -> dict[str, Any]:
    """The ASGI disconnect event for a close frame (or for none: code_without_frame)."""
    if close is None:
        return {"type": "websocket.disconnect", "code": code_without_frame, "reason": ""}
    return {"type": "websocket.disconnect", "code": close.code, "reason": close.reason}


def _address(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else ""


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
