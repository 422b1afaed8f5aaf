"""Property tests (hypothesis): valid responses, then mutated ones.

The parser alone (sans-I/O, many examples, arbitrary splits) and the whole client
over a socket (fewer examples) must either produce a response or fail with a
ClientError / TimeoutError - never another exception, never a hang.
"""

from __future__ import annotations

import asyncio

import pytest
from http_support import raw_server, read_request, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vif
import vif.http as http
from vif.http._h1 import ResponseParser

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@st.composite
def responses(draw):
    status = draw(st.sampled_from([200, 201, 204, 301, 404, 500]))
    headers = draw(st.lists(st.tuples(TOKEN, VALUE), max_size=6))
    headers = [
        (k, v.strip())
        for k, v in headers
        if k.lower() not in ("content-length", "transfer-encoding", "connection")
    ]
    body = draw(st.binary(max_size=300)) if status != 204 else b""
    mode = draw(st.sampled_from(["length", "chunked"]))
    head = [f"HTTP/1.1 {status} Reason Phrase"] + [f"{k}: {v}" for k, v in headers]
    if mode == "length":
        head.append(f"Content-Length: {len(body)}")
        payload = body
    else:
        head.append("Transfer-Encoding: chunked")
        sizes = draw(st.lists(st.integers(1, 50), max_size=10))
        chunks, pos = [], 0
        for n in sizes:
            if pos >= len(body):
                break
            chunks.append(body[pos : pos + n])
            pos += n
        if pos < len(body):
            chunks.append(body[pos:])
        payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    if status == 204:
        payload = b""
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload, body, status


@st.composite
def mutated(draw):
    data, _, _ = draw(responses())
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=5))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 5))]
        else:
            del data[i:]
    return bytes(data)


class Sink:
    def __init__(self):
        self.head = None
        self.body = bytearray()
        self.done = False

    def on_head(self, head):
        self.head = head

    def on_body(self, data):
        self.body += data

    def on_complete(self, keep_alive):
        self.done = True


def parse(data: bytes, splits: list[int]) -> Sink:
    sink = Sink()
    parser = ResponseParser(sink)
    parser.expect("GET")
    pos = 0
    for cut in sorted(splits) + [len(data)]:
        if cut > pos:
            parser.feed(data[pos:cut])
            pos = cut
        if sink.done:
            break
    if not sink.done:
        parser.feed_eof()
    return sink


@given(responses(), st.lists(st.integers(0, 400), max_size=5))
@settings(max_examples=300, deadline=None)
def test_valid_responses_parse(resp, splits):
    data, body, status = resp
    sink = parse(data, splits)
    assert sink.done and sink.head.status == status
    assert sink.head.reason == "Reason Phrase"
    assert bytes(sink.body) == body


@given(
    st.sampled_from([(1, 0), (1, 1)]),
    st.integers(0, 2),
    st.lists(st.integers(0, 120), max_size=4),
)
@settings(max_examples=200, deadline=None)
def test_version_after_informational_heads_and_splits(version, informational, splits):
    # The version is read off the chunk a head begins with when it can be: a final
    # head after 1xx ones in the same chunk, or split anywhere, still gets its own.
    data = b"HTTP/1.1 100 Continue\r\n\r\n" * informational
    data += b"HTTP/%d.%d 200 OK\r\nContent-Length: 2\r\n\r\nok" % version
    sink = parse(data, splits)
    assert sink.done and sink.head.version == version
    assert isinstance(sink.head.version, http.HttpVersion)


@given(mutated(), st.lists(st.integers(0, 400), max_size=3))
@settings(max_examples=500, deadline=None)
def test_mutated_responses_parse_or_fail_cleanly(data, splits):
    try:
        parse(data, splits)
    except http.ClientError:
        pass


LOOPS = [asyncio.SelectorEventLoop, vif.PyEventLoop] + (
    [vif.CEventLoop] if vif.CEventLoop is not None else []
)
try:
    import uvloop
except ImportError:
    pass
else:
    LOOPS.append(uvloop.new_event_loop)


@pytest.mark.parametrize("loop_cls", LOOPS, ids=lambda c: getattr(c, "__qualname__", str(c)))
@given(answers=st.lists(mutated(), min_size=1, max_size=8))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_mutated_responses_over_a_socket(loop_cls, answers):
    async def handler(reader, writer):
        if await read_request(reader):
            writer.write(queue.pop(0) if queue else b"")
            await writer.drain()
        writer.close()

    queue = list(answers)

    async def body():
        async with raw_server(handler) as (base, _):
            timeout = http.ClientTimeout(total=2)
            async with http.ClientSession(timeout=timeout) as s:
                for _ in range(len(answers)):
                    try:
                        async with s.get(base + "/") as resp:
                            await resp.read()
                    except (http.ClientError, TimeoutError):
                        pass
                assert s.connector.acquired_count == 0

    run(loop_cls, body())
