"""LeanWebSocketProtocol served by a real uvicorn, spoken to by real clients and by raw ones that misbehave."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest
import uvicorn
from uvicorn.protocols.utils import ClientDisconnected
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import CLOSED, Event
from websockets.protocol import Protocol as OpenProtocol
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from channels import websocket_protocol
from channels.connection import text_frame
from channels.websocket_protocol import TRACKS_UVICORN, UVICORN_WS, WRITE_NOWAIT, LeanWebSocketProtocol
from server.embedded import free_port
from tests.harness import listener_with_send_buffer

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Message, Receive, Send], Awaitable[None]]

MAX_SIZE = 65536
BACKLOG = 2 * 1024 * 1024  # bytes an app sends to a client that reads nothing: far beyond the kernel buffers
HANG = 10.0  # seconds: only ever a hang detector, never a speed assertion


async def until(condition: Callable[[], bool]) -> None:
    """Wait for something the test cannot await directly; fails only if it never happens."""

    async def poll() -> None:
        while True:
            if condition():
                return
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), HANG)


@dataclass
class Served:
    """A real uvicorn server with the lean protocol, on a loopback port, in the test's event loop."""

    server: uvicorn.Server
    port: int
    task: asyncio.Task[None]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def websockets(self) -> list[LeanWebSocketProtocol]:
        return [c for c in self.server.server_state.connections if isinstance(c, LeanWebSocketProtocol)]

    async def websocket(self) -> LeanWebSocketProtocol:
        """The one websocket connection the server holds (once the upgrade has reached the protocol)."""
        await until(lambda: len(self.websockets()) == 1)
        return self.websockets()[0]

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, HANG)


class Serve(Protocol):
    async def __call__(
        self,
        app: App,
        *,
        ping_interval: float | None = ...,
        ping_timeout: float | None = ...,
        send_buffer: int | None = ...,
    ) -> Served: ...


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve an ASGI app with the lean protocol on a free port; every server is stopped after the test."""
    running: list[Served] = []

    async def start(
        app: App,
        *,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        send_buffer: int | None = None,
    ) -> Served:
        port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            loop="none",
            http="httptools",
            ws=UVICORN_WS,
            ws_max_size=MAX_SIZE,
            ws_ping_interval=ping_interval,
            ws_ping_timeout=ping_timeout,
            ws_per_message_deflate=False,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        sockets = [listener_with_send_buffer(port, send_buffer)] if send_buffer is not None else None
        task = asyncio.create_task(server.serve(sockets=sockets))
        served = Served(server, port, task)
        running.append(served)
        await until(lambda: server.started or task.done())
        if task.done():
            task.result()
            raise RuntimeError("the test server stopped during start-up")
        return served

    try:
        yield start
    finally:
        for served in running:
            await served.stop()


@dataclass
class RawClient:
    """A websocket client on a bare TCP stream: it answers no ping and reads only when the test asks."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    parser: ClientProtocol
    events: list[Event] = field(default_factory=list)
    at_eof: bool = False

    async def next_event(self) -> Event | None:
        """The next handshake response or frame from the server; None once the server has closed the TCP connection."""
        while not self.events:
            if self.at_eof:
                return None
            data = await asyncio.wait_for(self.reader.read(65536), HANG)
            if data:
                self.parser.receive_data(data)
            else:
                self.at_eof = True
                self.parser.receive_eof()
            # The parser queues pongs and close echoes in data_to_send(); they are never sent.
            self.events.extend(self.parser.events_received())
        return self.events.pop(0)

    async def next_frame(self) -> Frame | None:
        event = await self.next_event()
        assert event is None or isinstance(event, Frame), event
        return event

    async def send_frame(self, frame: Frame) -> None:
        self.writer.write(frame.serialize(mask=True))
        await self.writer.drain()


@contextlib.asynccontextmanager
async def raw_client(port: int, *, reads: bool = True, receive_buffer: int | None = None) -> AsyncIterator[RawClient]:
    """Open the websocket by hand (handshake request, 101 response), then leave everything else to the test.

    reads=False: after the 101 the client reads nothing more, so what the server sends piles up in its buffers.
    """
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    parser = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/"))
    parser.send_request(parser.connect())
    writer.write(b"".join(parser.data_to_send()))
    client = RawClient(reader, writer, parser)
    try:
        response = await client.next_event()
        assert isinstance(response, Response) and response.status_code == 101, response
        if not reads:
            assert isinstance(writer.transport, asyncio.Transport)
            writer.transport.pause_reading()
        yield client
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class EchoApp:
    """Accepts, sends every message back, and records every event it receives until the disconnect."""

    def __init__(self) -> None:
        self.received: list[Message] = []
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        try:
            while True:
                message = await receive()
                self.received.append(message)
                if message["type"] == "websocket.connect":
                    await send({"type": "websocket.accept"})
                elif message["type"] == "websocket.receive":
                    await send({"type": "websocket.send", "text": message.get("text"), "bytes": message.get("bytes")})
                else:
                    return
        finally:
            if not self.finished.done():
                self.finished.set_result(None)

    async def disconnect(self) -> Message:
        """The disconnect that ended the app."""
        await asyncio.wait_for(self.finished, HANG)
        assert self.received[-1]["type"] == "websocket.disconnect", self.received
        return self.received[-1]


def close_code(frame: Frame | None) -> int:
    assert frame is not None and frame.opcode is Opcode.CLOSE, frame
    return Close.parse(bytes(frame.data)).code


async def test_text_and_binary_messages_echo_in_order_after_a_first_websocket_connect(serve: Serve) -> None:
    app = EchoApp()
    served = await serve(app)
    sent: list[str | bytes] = ["one", b"two", "three", b"\x00\xff", "five"]
    async with connect(served.url) as ws:
        for message in sent:
            await ws.send(message)
        echoed = [await asyncio.wait_for(ws.recv(), HANG) for _ in sent]
    assert echoed == sent
    await app.disconnect()
    assert app.received[0] == {"type": "websocket.connect"}
    assert [m.get("text", m.get("bytes")) for m in app.received[1:-1]] == sent


async def test_closing_before_accept_answers_the_upgrade_with_http_403(serve: Serve) -> None:
    async def refuse(scope: Message, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.close"})

    served = await serve(refuse)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(served.url):
            pass
    assert refused.value.response.status_code == 403


async def test_an_http_response_before_accept_reaches_the_client_with_its_status_and_body(serve: Serve) -> None:
    async def answer_in_http(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        assert "websocket.http.response" in scope["extensions"]
        headers = [(b"content-type", b"text/plain"), (b"x-kindred", b"teapot")]
        await send({"type": "websocket.http.response.start", "status": 418, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": b"no websockets ", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"in this teapot"})

    served = await serve(answer_in_http)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(served.url):
            pass
    response = refused.value.response
    assert response.status_code == 418
    assert response.headers["X-Kindred"] == "teapot"
    assert response.body == b"no websockets in this teapot"


async def test_the_subprotocol_the_app_accepts_with_is_the_one_the_client_sees(serve: Serve) -> None:
    offered: list[list[str]] = []

    async def pick_v1(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        offered.append(scope["subprotocols"])
        await send({"type": "websocket.accept", "subprotocol": "kindred.v1"})
        await receive()

    served = await serve(pick_v1)
    async with connect(served.url, subprotocols=[Subprotocol("kindred.v0"), Subprotocol("kindred.v1")]) as ws:
        assert ws.subprotocol == "kindred.v1"
    assert offered == [["kindred.v0", "kindred.v1"]]


async def test_a_message_over_ws_max_size_is_closed_with_1009_and_the_app_is_told(serve: Serve) -> None:
    app = EchoApp()
    served = await serve(app)
    async with connect(served.url) as ws:
        await ws.send(bytes(MAX_SIZE))
        assert await asyncio.wait_for(ws.recv(), HANG) == bytes(MAX_SIZE)  # the limit itself is allowed
        await ws.send(bytes(MAX_SIZE + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), HANG)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert (await app.disconnect())["code"] == 1009
    assert [m["type"] for m in app.received] == ["websocket.connect", "websocket.receive", "websocket.disconnect"]


async def test_invalid_utf8_in_a_text_frame_is_closed_with_1007(serve: Serve) -> None:
    app = EchoApp()
    served = await serve(app)
    async with raw_client(served.port) as raw:
        await raw.send_frame(Frame(Opcode.TEXT, "café".encode()[:-1]))  # cut in the middle of "é"
        assert close_code(await raw.next_frame()) == 1007
        assert await raw.next_frame() is None
    assert (await app.disconnect())["code"] == 1007
    assert [m["type"] for m in app.received] == ["websocket.connect", "websocket.disconnect"]


async def test_a_client_that_never_answers_pings_is_closed_with_1011(serve: Serve) -> None:
    app = EchoApp()
    served = await serve(app, ping_interval=0.2, ping_timeout=0.2)
    async with raw_client(served.port) as raw:
        ping = await raw.next_frame()
        assert ping is not None and ping.opcode is Opcode.PING
        assert close_code(await raw.next_frame()) == 1011
        assert await raw.next_frame() is None
    assert (await app.disconnect())["code"] == 1011


class PingCountingConnection(ClientConnection):
    """An ordinary websockets client connection (it answers every ping) that counts the pings it gets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pings = 0

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING:
            self.pings += 1
        super().process_event(event)


async def test_a_client_that_answers_pings_stays_open_across_many_ping_intervals(serve: Serve) -> None:
    app = EchoApp()
    # The timeout is longer than the interval only so that a busy test machine cannot miss a pong.
    served = await serve(app, ping_interval=0.1, ping_timeout=1.0)
    async with connect(served.url, ping_interval=None, create_connection=PingCountingConnection) as ws:
        assert isinstance(ws, PingCountingConnection)
        # The server pings again only after the pong to its last ping: five pings means four pongs were taken.
        await until(lambda: ws.pings >= 5 or ws.protocol.state is CLOSED)
        await ws.send("still here")
        assert await asyncio.wait_for(ws.recv(), HANG) == "still here"
        assert ws.pings >= 5
    assert (await app.disconnect())["code"] == 1000


async def test_after_the_handshake_the_protocol_keeps_neither_handshake_parser_nor_request(serve: Serve) -> None:
    app = EchoApp()
    served = await serve(app)
    async with connect(served.url) as ws:
        await ws.send("hello")
        assert await asyncio.wait_for(ws.recv(), HANG) == "hello"
        protocol = await served.websocket()
        assert type(protocol.conn) is OpenProtocol
        assert protocol.scope is None
        assert protocol.response is None


async def test_closing_does_not_wait_for_a_client_that_stopped_reading(serve: Serve) -> None:
    stalled = asyncio.Event()
    after_close: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

    async def fill_then_close(scope: Message, receive: Receive, send: Send) -> None:
        try:
            await receive()
            await send({"type": "websocket.accept"})
            # Far more than the kernel buffers can take: most of it stays in the transport, which pauses writing.
            await send({"type": "websocket.send", "bytes": bytes(BACKLOG)})
            await stalled.wait()
            await asyncio.wait_for(send({"type": "websocket.close", "code": 1000}), HANG)
            after_close.set_result(await asyncio.wait_for(receive(), HANG))
        except BaseException as exc:
            after_close.set_exception(exc)
            raise

    served = await serve(fill_then_close, send_buffer=16384)
    async with raw_client(served.port, reads=False, receive_buffer=16384):
        protocol = await served.websocket()
        await until(lambda: protocol.write_paused)
        stalled.set()
        disconnect = await asyncio.wait_for(after_close, HANG)
        assert protocol.write_paused  # the close frame is still stuck behind the unread data
    assert disconnect == {"type": "websocket.disconnect", "code": 1000, "reason": ""}


async def test_a_client_that_stopped_reading_is_cut_off_close_timeout_after_the_app_closes(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(websocket_protocol, "CLOSE_TIMEOUT", 0.2)
    closed = asyncio.Event()

    async def fill_then_close(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "bytes": bytes(BACKLOG)})
        await send({"type": "websocket.close", "code": 1000})
        closed.set()

    served = await serve(fill_then_close, send_buffer=16384)
    async with raw_client(served.port, reads=False, receive_buffer=16384):
        await asyncio.wait_for(closed.wait(), HANG)
        # The close frame is stuck behind unread data; the server hangs up on the client all the same.
        await until(lambda: served.websockets() == [])


async def test_a_client_that_closes_and_then_reads_nothing_is_cut_off_close_timeout_later(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(websocket_protocol, "CLOSE_TIMEOUT", 0.2)
    backlogged = asyncio.Event()
    told: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

    async def fill_then_listen(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "bytes": bytes(BACKLOG)})
        backlogged.set()
        told.set_result(await receive())

    served = await serve(fill_then_listen, send_buffer=16384)
    async with raw_client(served.port, reads=False, receive_buffer=16384) as client:
        protocol = await served.websocket()
        await asyncio.wait_for(backlogged.wait(), HANG)
        await until(lambda: protocol.write_paused)
        await client.send_frame(Frame(Opcode.CLOSE, Close(1000, "bye").serialize()))
        assert (await asyncio.wait_for(told, HANG))["code"] == 1000
        # The close echo is stuck behind the unread data; the server does not keep the socket for it.
        await until(lambda: served.websockets() == [])


async def test_a_client_that_reads_nothing_is_cut_off_close_timeout_after_the_keepalive_fails(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(websocket_protocol, "CLOSE_TIMEOUT", 0.2)
    app = EchoApp()

    async def fill_then_echo(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "bytes": bytes(BACKLOG)})  # the pings queue behind this
        await app(scope, receive, send)

    served = await serve(fill_then_echo, ping_interval=0.2, ping_timeout=0.2, send_buffer=16384)
    async with raw_client(served.port, reads=False, receive_buffer=16384):
        assert (await app.disconnect())["code"] == 1011
        # The close frame is stuck behind unread data; the server hangs up on the client all the same.
        await until(lambda: served.websockets() == [])


async def test_a_client_close_with_a_code_and_reason_reaches_the_app_and_every_later_receive(serve: Serve) -> None:
    client_gone = asyncio.Event()
    receives: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()

    async def receive_after_close(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        events = [await asyncio.wait_for(receive(), HANG)]
        await client_gone.wait()
        events += [await asyncio.wait_for(receive(), HANG) for _ in range(2)]
        receives.set_result(events)

    served = await serve(receive_after_close)
    async with connect(served.url) as ws:
        await ws.close(4000, "switching to the phone")
    await until(lambda: served.websockets() == [])  # the server has dropped the TCP connection too
    client_gone.set()
    events = await asyncio.wait_for(receives, HANG)
    assert events == [{"type": "websocket.disconnect", "code": 4000, "reason": "switching to the phone"}] * 3


async def test_an_abrupt_tcp_drop_ends_the_pending_receive_and_later_sends_raise(serve: Serve) -> None:
    outcome: asyncio.Future[tuple[Message, BaseException | None]] = asyncio.get_running_loop().create_future()

    async def receive_then_send(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        event = await asyncio.wait_for(receive(), HANG)
        try:
            await send({"type": "websocket.send", "text": "anyone there?"})
        except ClientDisconnected as exc:
            outcome.set_result((event, exc))
        else:
            outcome.set_result((event, None))

    served = await serve(receive_then_send)
    async with raw_client(served.port) as raw:
        protocol = await served.websocket()
        await until(lambda: protocol.receiver is not None)  # the app is waiting in receive()
        sock = raw.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        raw.writer.transport.abort()
    event, error = await asyncio.wait_for(outcome, HANG)
    assert event["type"] == "websocket.disconnect"
    assert isinstance(error, ClientDisconnected) and isinstance(error, OSError)


async def test_server_shutdown_closes_an_open_socket_with_1012(serve: Serve) -> None:
    app = EchoApp()
    served = await serve(app)
    async with connect(served.url) as ws:
        await ws.send("before the restart")
        assert await asyncio.wait_for(ws.recv(), HANG) == "before the restart"
        served.server.should_exit = True
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), HANG)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert (await app.disconnect())["code"] == 1012
    await asyncio.wait_for(served.task, HANG)


async def test_reading_pauses_while_a_message_waits_for_the_app_and_a_slow_app_loses_nothing(serve: Serve) -> None:
    count = 300
    burst = [f"{n:04d} " + "x" * 2000 for n in range(count)]  # several reads' worth: several pauses and resumes
    start_reading = asyncio.Event()
    taken: list[str] = []

    async def slow_reader(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await start_reading.wait()
        while len(taken) < count:
            message = await receive()
            assert message["type"] == "websocket.receive", message
            taken.append(message["text"])
            await asyncio.sleep(0.001)
        await send({"type": "websocket.send", "text": "all taken"})
        await receive()

    served = await serve(slow_reader)
    async with connect(served.url) as ws:
        protocol = await served.websocket()

        async def send_burst() -> None:
            for message in burst:
                await ws.send(message)

        sending = asyncio.create_task(send_burst())
        await until(lambda: bool(protocol.incoming))
        assert not protocol.transport.is_reading()  # a message waits for the app: nothing more is read
        start_reading.set()
        assert await asyncio.wait_for(ws.recv(), HANG) == "all taken"
        await asyncio.wait_for(sending, HANG)
        assert protocol.transport.is_reading()  # everything was taken: reading resumed
    assert taken == burst


async def test_write_nowait_writes_a_serialized_frame_only_while_the_socket_can_take_it(serve: Serve) -> None:
    answers: dict[str, bool] = {}
    stalled = asyncio.Event()
    done = asyncio.Event()

    async def app(scope: Message, receive: Receive, send: Send) -> None:
        write_nowait = scope["extensions"][WRITE_NOWAIT]
        await receive()
        answers["before accept"] = write_nowait(text_frame(b"too early"))
        await send({"type": "websocket.accept"})
        answers["open"] = write_nowait(text_frame(b'{"type":"pong"}'))
        await receive()  # the client's "fill" request
        await send({"type": "websocket.send", "bytes": bytes(BACKLOG)})
        await stalled.wait()
        answers["not reading"] = write_nowait(text_frame(b"would wait"))
        await send({"type": "websocket.close", "code": 1000})
        answers["closed"] = write_nowait(text_frame(b"too late"))
        done.set()

    served = await serve(app, send_buffer=16384)
    async with connect(served.url, max_size=None) as ws:
        # The frame written straight to the transport is an ordinary text message for the client.
        assert await asyncio.wait_for(ws.recv(), HANG) == '{"type":"pong"}'
        protocol = await served.websocket()
        ws.transport.pause_reading()  # stop reading, so the backlog pauses the server's writing
        await ws.send("fill")
        await until(lambda: protocol.write_paused)
        stalled.set()
        await asyncio.wait_for(done.wait(), HANG)
        ws.transport.resume_reading()  # let the client take the backlog and the close
    assert answers == {"before accept": False, "open": True, "not reading": False, "closed": False}


def test_the_installed_uvicorn_is_the_release_the_protocol_tracks() -> None:
    # Bumping uvicorn means re-reading its websockets-sansio protocol and its vendored websocket tests.
    assert importlib.metadata.version("uvicorn") == TRACKS_UVICORN
