"""The direct answer channel: an owner writes answers to the port the asking client listens on."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from meterstream.budgets import replies
from meterstream.budgets.replies import DirectReplier, ReplyListener


class Received:
    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.arrived = threading.Condition()

    def __call__(self, request_id: str, answer: Any) -> None:
        with self.arrived:
            self.answers[request_id] = answer
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> dict[str, Any]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.answers) >= count, timeout), self.answers
            return self.answers


def _answer(request_id: str, **fields: Any) -> bytes:
    return orjson.dumps({"request_id": request_id, **fields})


def test_answers_reach_the_listener_by_request_id():
    received = Received()
    listener, replier = ReplyListener("127.0.0.1", received), DirectReplier()
    try:
        replier.send({listener.address: [_answer("a", granted=True), _answer("b", granted=False)]})
        assert received.wait_for(2) == {"a": {"request_id": "a", "granted": True},
                                        "b": {"request_id": "b", "granted": False}}
    finally:
        replier.close()
        listener.close()


@contextmanager
def owner_connected_to_a_listener() -> Iterator[tuple[socket.socket, Received]]:
    """A listener, and a raw connection to it standing in for an owner."""
    received = Received()
    listener = ReplyListener("127.0.0.1", received)
    try:
        with socket.create_connection(replies.split_address(listener.address)) as connection:
            yield connection, received
    finally:
        listener.close()


def test_an_answer_split_across_reads_arrives_whole():
    with owner_connected_to_a_listener() as (connection, received):
        line = _answer("split", amount="0.030000000000") + b"\n"
        connection.sendall(line[:7])
        time.sleep(0.1)
        connection.sendall(line[7:])
        assert received.wait_for(1)["split"]["amount"] == "0.030000000000"


def test_an_unreadable_answer_is_passed_on_as_an_error_without_stopping_the_listener():
    with owner_connected_to_a_listener() as (connection, received):
        connection.sendall(b"not json\n" + _answer("after") + b"\n")
        answers = received.wait_for(2)
    assert isinstance(answers[""], orjson.JSONDecodeError)
    assert answers["after"] == {"request_id": "after"}


def test_answers_to_a_client_that_went_away_are_dropped_and_the_next_client_is_answered():
    gone = ReplyListener("127.0.0.1", Received())
    address = gone.address
    gone.close()
    received = Received()
    listener, replier = ReplyListener("127.0.0.1", received), DirectReplier()
    try:
        replier.send({address: [_answer("lost")], listener.address: [_answer("kept")]})
        assert received.wait_for(1) == {"kept": {"request_id": "kept"}}
    finally:
        replier.close()
        listener.close()


def test_a_connection_the_client_closed_is_replaced_by_a_new_one():
    server = socket.create_server(("127.0.0.1", 0))
    address = f"127.0.0.1:{server.getsockname()[1]}"
    replier = DirectReplier()
    try:
        replier.send({address: [_answer("first")]})
        first, _ = server.accept()
        assert first.recv(1024).startswith(_answer("first"))
        first.close()  # the client drops the owner's connection and keeps listening
        # The first write after a peer's close may still succeed locally and be lost: the
        # client's re-send covers that one. The writes after it go over a new connection.
        for attempt in range(3):
            replier.send({address: [_answer(f"again-{attempt}")]})
            time.sleep(0.1)
        server.settimeout(5)
        second, _ = server.accept()
        second.settimeout(5)
        assert b'"again-2"' in second.recv(1024)
        second.close()
    finally:
        replier.close()
        server.close()


def test_an_ipv6_address_is_split_into_host_and_port():
    assert replies.split_address("[::1]:4100") == ("::1", 4100)
    assert replies.split_address("10.0.0.7:4100") == ("10.0.0.7", 4100)
