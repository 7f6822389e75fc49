"""The bench client's Engine.IO v4 / Socket.IO framing (bench/engineio.py): pure functions, no server."""

from __future__ import annotations

import json

from bench import engineio


def test_a_bench_frame_travels_as_the_data_of_one_frame_event() -> None:
    packet = engineio.wrap(b'{"type":"send","room":"r"}')
    assert packet == b'42["frame",{"type":"send","room":"r"}]'
    assert json.loads(packet[2:]) == ["frame", {"type": "send", "room": "r"}]


def test_an_event_unwraps_to_its_frame_with_or_without_spaces() -> None:
    assert engineio.unwrap(b'42["frame",{"type":"message","body":"a,b"}]') == (
        "event",
        b'{"type":"message","body":"a,b"}',
    )
    assert engineio.unwrap(b'42["frame", {"type":"ack"}]') == ("event", b'{"type":"ack"}')
    assert engineio.unwrap(engineio.wrap(b"{}")) == ("event", b"{}")


def test_engineio_control_packets_are_told_apart() -> None:
    assert engineio.unwrap(b'0{"sid":"x","pingInterval":25000}') == ("open", b"")
    assert engineio.unwrap(b'40{"sid":"y"}') == ("connected", b"")
    assert engineio.unwrap(b"2") == ("ping", b"")
    assert engineio.unwrap(b"42nonsense") == ("other", b"")
    assert engineio.unwrap(b"6") == ("other", b"")
