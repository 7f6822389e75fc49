"""One client connection: ordered writes by its own task, a bounded outbox, and close-to-resume when it fills."""

from __future__ import annotations

import asyncio
import json

import uvicorn
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side

from channels.connection import Connection, text_frame
from channels.protocol import CloseCode
from server.embedded import free_port
from tests.channels.fakes import BrokenSocket, FaultySocket, RecordingSocket, StalledSocket, eventually


def frame(n: int) -> str:
    return json.dumps({"type": "message", "seq": n})


async def test_frames_reach_the_client_in_the_order_they_were_queued() -> None:
    socket = RecordingSocket()
    async with Connection(socket) as connection:
        for n in range(1, 101):
            assert connection.send(frame(n))
        frames = await socket.wait_for(100)
    assert [f["seq"] for f in frames] == list(range(1, 101))
    assert socket.close_code == CloseCode.NORMAL


async def test_text_goes_out_as_text_and_bytes_as_binary() -> None:
    socket = RecordingSocket()
    async with Connection(socket) as connection:
        connection.send('{"type":"pong"}')
        connection.send(b'{"type":"pong"}')
        await socket.wait_for(2)
    assert socket.sent == ['{"type":"pong"}', b'{"type":"pong"}']


async def test_a_stalled_client_is_closed_with_resume_code_and_others_keep_receiving() -> None:
    fast_sockets = [RecordingSocket(), RecordingSocket()]
    stalled_socket = StalledSocket()
    connections = [Connection(socket, max_queue=100) for socket in [fast_sockets[0], stalled_socket, fast_sockets[1]]]

    # Fan-out never awaits a client: every frame is offered to every connection in one go,
    # the fast writers drain as the loop yields.
    total = 1000
    for n in range(1, total + 1):
        for connection in connections:
            connection.send(frame(n))
        if n % 50 == 0:
            await asyncio.sleep(0)

    stalled = connections[1]
    await asyncio.wait_for(stalled.wait_closed(), 10)
    assert stalled.close_code == CloseCode.RESUME
    assert int(CloseCode.RESUME) == 4008
    assert stalled_socket.close_code == 4008
    assert stalled.send(frame(total + 1)) is False

    for socket in fast_sockets:
        frames = await socket.wait_for(total)
        assert [f["seq"] for f in frames] == list(range(1, total + 1))
    for connection in connections:
        await connection.close()


async def test_close_writes_what_is_queued_before_the_close_code() -> None:
    socket = RecordingSocket()
    connection = Connection(socket)
    connection.send('{"type":"error","code":"banned","message":"You were banned."}')
    await asyncio.wait_for(connection.close(CloseCode.LOGGED_OUT, "banned"), 10)
    assert socket.frames() == [{"type": "error", "code": "banned", "message": "You were banned."}]
    assert (socket.close_code, socket.close_reason) == (4001, "banned")
    assert connection.send(frame(1)) is False


async def test_closing_a_stalled_client_gives_up_on_the_queue_and_still_closes() -> None:
    socket = StalledSocket()
    connection = Connection(socket, close_timeout=0.2)
    connection.send(frame(1))
    await asyncio.wait_for(connection.close(CloseCode.RESTARTING), 10)
    assert socket.close_code == 1012


async def test_a_client_that_went_away_ends_the_connection_without_a_close_frame() -> None:
    socket = BrokenSocket()
    connection = Connection(socket)
    connection.send(frame(1))
    await asyncio.wait_for(connection.wait_closed(), 10)
    assert connection.closed
    assert connection.close_code is None
    assert socket.close_code is None
    assert connection.send(frame(2)) is False
    await asyncio.wait_for(connection.close(), 10)  # closing again is harmless


async def test_a_send_that_fails_for_another_reason_closes_the_socket_so_the_client_reconnects() -> None:
    socket = FaultySocket()
    connection = Connection(socket)
    connection.send(frame(1))
    await asyncio.wait_for(connection.wait_closed(), 10)
    assert socket.close_code == CloseCode.INTERNAL
    assert connection.send(frame(2)) is False


async def test_frames_held_for_a_topic_wait_until_released_and_can_be_filtered() -> None:
    socket = RecordingSocket()
    async with Connection(socket) as connection:
        connection.hold("room-a")
        assert connection.deliver("room-a", frame(5))  # live, arrived while history is being read
        assert connection.deliver("room-a", frame(6))
        assert connection.deliver("room-b", frame(100))  # other topics are not held
        await socket.wait_for(1)
        for n in range(3, 6):  # the history, read from the database
            connection.send(frame(n))
        connection.release("room-a", keep=lambda raw: json.loads(raw)["seq"] > 5)
        connection.deliver("room-a", frame(7))
        frames = await socket.wait_for(6)
    assert [f["seq"] for f in frames] == [100, 3, 4, 5, 6, 7]


async def test_a_new_message_that_comes_live_after_the_history_had_it_is_not_sent_again() -> None:
    # A message is published after its commit: its live frame can reach the process after a
    # joining client was sent it from history, during the hold or well after it.
    socket = RecordingSocket()
    async with Connection(socket) as connection:
        connection.hold("room-a")
        assert connection.deliver("room-a", frame(5), seq=5)  # held, and in the history too
        for n in range(3, 7):  # the history up to the head, 6
            connection.send(frame(n))
        connection.release("room-a", floor=6)
        assert connection.deliver("room-a", frame(6), seq=6) is False  # its publication, late
        assert connection.deliver("room-a", frame(7), seq=7)
        frames = await socket.wait_for(5)
        await asyncio.sleep(0)
    assert [f["seq"] for f in frames] == [3, 4, 5, 6, 7]


async def test_a_change_to_a_seq_the_history_had_is_still_sent_after_the_history() -> None:
    # A removal committed while the history was read may not be in it: it must not be lost.
    socket = RecordingSocket()
    async with Connection(socket) as connection:
        connection.hold("room-a")
        removed = json.dumps({"type": "remove", "seq": 4})
        assert connection.deliver("room-a", removed)  # a change: no seq announced
        for n in range(3, 7):
            connection.send(frame(n))
        connection.release("room-a", floor=6)
        assert connection.deliver("room-a", json.dumps({"type": "remove", "seq": 5}))
        frames = await socket.wait_for(6)
    assert [(f["type"], f["seq"]) for f in frames] == [
        ("message", 3),
        ("message", 4),
        ("message", 5),
        ("message", 6),
        ("remove", 4),
        ("remove", 5),
    ]


async def test_a_forgotten_topic_has_no_floor_and_no_hold() -> None:
    socket = RecordingSocket()
    async with Connection(socket) as connection:
        connection.release("room-a", floor=6)
        connection.hold("room-a")
        assert connection.deliver("room-a", frame(9), seq=9)
        connection.forget("room-a")  # left the room: what was held is dropped
        assert connection.pending == 0
        # Joined again after its history was reset: seqs start over and are sent.
        assert connection.deliver("room-a", frame(1), seq=1)
        frames = await socket.wait_for(1)
    assert [f["seq"] for f in frames] == [1]


async def test_held_frames_count_toward_the_bound() -> None:
    socket = RecordingSocket()
    connection = Connection(socket, max_queue=10)
    connection.hold("room-a")
    for n in range(10):
        assert connection.deliver("room-a", frame(n))
    assert connection.deliver("room-a", frame(10)) is False
    await asyncio.wait_for(connection.wait_closed(), 10)
    assert socket.close_code == CloseCode.RESUME
    assert socket.sent == []


async def test_a_starlette_websocket_served_by_uvicorn_is_a_socket() -> None:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        async with Connection(websocket) as connection:
            connection.send(frame(1))
            connection.send(frame(2).encode())
            await connection.close(CloseCode.LOGGED_OUT, "logged out")

    app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), ws="websockets-sansio", log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        async with connect(f"ws://127.0.0.1:{config.port}/ws") as client:
            assert await asyncio.wait_for(client.recv(), 10) == frame(1)
            assert await asyncio.wait_for(client.recv(), 10) == frame(2).encode()
            try:
                await asyncio.wait_for(client.recv(), 10)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                assert (closed.rcvd.code, closed.rcvd.reason) == (4001, "logged out")
            else:
                raise AssertionError("the server did not close")
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)


class DirectWrites:
    """A socket's write-now path that takes frames while `open` and records them, as raw bytes."""

    def __init__(self) -> None:
        self.open = True
        self.written: list[bytes] = []

    def __call__(self, wire: bytes) -> bool:
        if not self.open:
            return False
        self.written.append(wire)
        return True


async def eventually_idle(connection: Connection) -> None:
    async def idle() -> bool:
        return connection.pending == 0 and not connection.writing

    await eventually(idle)


def text_of(wire: bytes) -> str:
    """The text a websocket client reads from one serialized server frame."""
    client = Protocol(Side.CLIENT)
    client.receive_data(wire)
    (received,) = client.events_received()
    assert isinstance(received, Frame) and received.opcode is Opcode.TEXT and received.fin
    return bytes(received.data).decode()


def test_a_text_frame_is_serialized_as_a_websocket_client_reads_it() -> None:
    for payload in ['{"type":"pong"}', "é" * 200, "x" * 70_000]:  # short, 16-bit and 64-bit lengths
        assert text_of(text_frame(payload.encode())) == payload


async def test_with_nothing_queued_a_frame_is_written_at_once_without_a_writer_task() -> None:
    socket = RecordingSocket()
    direct = DirectWrites()
    connection = Connection(socket, write_nowait=direct)
    for n in range(1, 4):
        payload = frame(n)
        assert connection.send(payload, text_frame(payload.encode()))
    # Written before this coroutine yielded once: no queue, no task.
    assert [json.loads(text_of(wire))["seq"] for wire in direct.written] == [1, 2, 3]
    assert connection.pending == 0
    assert socket.sent == []
    await connection.close()


async def test_once_a_frame_waits_the_later_ones_queue_behind_it_and_keep_their_order() -> None:
    socket = RecordingSocket()
    direct = DirectWrites()
    connection = Connection(socket, write_nowait=direct)
    direct.open = False  # the client is not reading: the socket cannot take a frame now
    first = frame(1)
    assert connection.send(first, text_frame(first.encode()))
    direct.open = True  # it could take one again, but frame 1 is still queued: writing 2 now would overtake it
    for n in range(2, 6):
        payload = frame(n)
        assert connection.send(payload, text_frame(payload.encode()))
    frames = await socket.wait_for(5)
    assert [f["seq"] for f in frames] == [1, 2, 3, 4, 5]
    assert direct.written == []
    # With the queue drained (the writer task has ended), the direct path is used again.
    await eventually_idle(connection)
    last = frame(6)
    assert connection.send(last, text_frame(last.encode()))
    assert [text_of(wire) for wire in direct.written] == [last]
    await connection.close()
