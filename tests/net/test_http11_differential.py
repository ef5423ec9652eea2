"""Differential tests: galileo's response parser against h11 on the same byte streams.

Hypothesis builds sequences of responses (header sets, Content-Length / chunked / read-to-EOF
bodies, chunk extensions and trailers, back-to-back responses), optionally breaks them
(targeted protocol violations or a random byte flip), and cuts the stream at random points.
Both parsers must produce the same responses, or both must reject the stream.
"""

from __future__ import annotations

from typing import Any

import h11
from hypothesis import example, given
from hypothesis import strategies as st

from galileo.net import ProtocolError, ResponseParser

LIMIT = 1 << 20
FRAMING = {b"content-length", b"transfer-encoding"}

Outcome = tuple[str, list[tuple[int, list[tuple[bytes, bytes]], bytes]]]


def _visible(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    # h11 normalises the framing headers it consumed; compare everything else verbatim.
    return [(k.lower(), bytes(v)) for k, v in headers if k.lower() not in FRAMING]


def run_h11(chunks: list[bytes]) -> Outcome:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=LIMIT)
    out: list[tuple[int, list[tuple[bytes, bytes]], bytes]] = []

    def send_request() -> None:
        conn.send(h11.Request(method="GET", target="/quote", headers=[("host", "x")]))
        conn.send(h11.EndOfMessage())

    send_request()
    head: Any = None
    body = bytearray()
    try:
        for chunk in [*chunks, b""]:
            if chunk and conn.our_state is h11.IDLE:
                send_request()  # the next response starts: it answers a new request
            conn.receive_data(chunk)
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                    break
                if event is h11.PAUSED:
                    break
                if isinstance(event, h11.Response):
                    head = event
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    out.append((head.status_code, _visible(list(head.headers)), bytes(body)))
                    body.clear()
                    if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                        conn.start_next_cycle()
                        if conn.trailing_data[0]:
                            send_request()
    except (h11.RemoteProtocolError, h11.LocalProtocolError):
        return ("error", out)
    return ("ok", out)


def run_galileo(chunks: list[bytes]) -> Outcome:
    parser = ResponseParser(max_head_size=LIMIT)
    out: list[tuple[int, list[tuple[bytes, bytes]], bytes]] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            while (response := parser.next_response()) is not None:
                out.append((response.status, _visible(response.headers), response.body))
        parser.feed_eof()
        while (response := parser.next_response()) is not None:
            out.append((response.status, _visible(response.headers), response.body))
    except ProtocolError:
        return ("error", out)
    if not out:
        return ("error", out)  # the request got no response at all (the transport: a reset)
    return ("ok", out)


def agree(data: bytes, cuts: list[int]) -> None:
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    chunks = [c for c in chunks if c]
    theirs = run_h11(chunks)
    ours = run_galileo(chunks)
    if theirs[0] == "error" or ours[0] == "error":
        assert ours[0] == theirs[0] == "error", (data, theirs, ours)
    else:
        assert ours == theirs, data


# --- generators -----------------------------------------------------------------------------

token = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!#$%&'*+.^`|~",
    min_size=1,
    max_size=12,
)
value = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20).map(
    lambda s: s.encode()
) | st.sampled_from([b"a b", b"x\tz", b"", b"\x80\xff", b"application/json"])
extra_headers = st.lists(
    st.tuples(
        token.filter(
            lambda t: t.lower() not in {"content-length", "transfer-encoding", "connection"}
        ).map(str.encode),
        value,
    ),
    max_size=5,
)
status = st.sampled_from([200, 201, 204, 304, 400, 404, 429, 500, 503])


@st.composite
def response(draw: st.DrawFn, *, last: bool) -> bytes:
    code = draw(status)
    reason = draw(st.sampled_from([b" OK", b"", b" ", b" Too Many Requests", b" wei\xe9rd"]))
    version = draw(st.sampled_from([b"1.1", b"1.0"])) if last else b"1.1"
    framing = draw(st.sampled_from(["length", "chunked", "eof"] if last else ["length", "chunked"]))
    body = draw(st.binary(max_size=300))
    if code in (204, 304):
        body = b""
    headers = draw(extra_headers)
    ows = draw(st.sampled_from([b"", b" ", b"\t", b"  "]))
    lines = [b"HTTP/" + version + b" %d" % code + reason]
    for name, val in headers:
        lines.append(name + b":" + ows + val + ows)
    if last and draw(st.booleans()):
        lines.append(
            b"Connection: " + draw(st.sampled_from([b"close", b"keep-alive", b"Close, x"]))
        )
    payload: bytes
    if framing == "length":
        if draw(st.booleans()):
            lines.append(b"Content-Length: %d" % len(body))
        else:  # a repeated identical value is legal
            lines.append(b"Content-Length: %d, %d" % (len(body), len(body)))
        payload = body
    elif framing == "chunked":
        lines.append(b"Transfer-Encoding: " + draw(st.sampled_from([b"chunked", b"Chunked"])))
        if draw(st.booleans()):
            lines.append(b"Content-Length: 3")  # ignored: chunked wins
        pieces = []
        rest = body
        while rest:
            n = draw(st.integers(min_value=1, max_value=len(rest)))
            ext = draw(st.sampled_from([b"", b";a=b", b"; x", b" "]))
            size = draw(st.sampled_from([b"%x" % n, b"%X" % n, b"00%x" % n]))
            pieces.append(size + ext + b"\r\n" + rest[:n] + b"\r\n")
            rest = rest[n:]
        trailer = draw(st.sampled_from([b"", b"X-Trailer: 1\r\n"]))
        payload = b"".join(pieces) + b"0\r\n" + trailer + b"\r\n"
    else:
        payload = body
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    if code in (204, 304):
        return head
    return head + payload


@st.composite
def stream(draw: st.DrawFn) -> bytes:
    count = draw(st.integers(min_value=1, max_value=3))
    return b"".join(draw(response(last=i == count - 1)) for i in range(count))


BREAKAGES = [
    (b"Content-Length: ", b"Content-Length: x"),
    (b"Content-Length: ", b"Content-Length: 1, "),
    (b"Content-Length: ", b"Content-Length: -"),
    (b"Transfer-Encoding: ", b"Transfer-Encoding: gzip, "),
    (b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"),
    (b"HTTP/1.1 ", b"HTTP/1.1  "),
    (b"HTTP/1.1 ", b"HTTP/11 "),
    (b"HTTP/", b"\r\nHTTP/"),
    (b"\r\n0\r\n", b"\r\nz\r\n"),
    (b"\r\n0\r\n", b"X\r\n0\r\n"),
    (b"HTTP/1.1 200", b"HTTP/1.1 20"),
    (b"\r\n\r\n", b"\r\n bad fold\r\n\r\n"),
    (b"\r\n\r\n", b"\r\nBad Name: v\r\n\r\n"),
    (b"\r\n\r\n", b"\r\nx:\x00\r\n\r\n"),
    (b"\r\n\r\n", b"\r\nx: a\x0bb\r\n\r\n"),
    (b"\r\n\r\n", b"\r\nno-colon\r\n\r\n"),
    (b"\r\n", b"\n"),
]


@st.composite
def broken_stream(draw: st.DrawFn) -> bytes:
    data = draw(stream())
    how = draw(st.sampled_from(["targeted", "flip", "truncate"]))
    if how == "targeted":
        old, new = draw(st.sampled_from(BREAKAGES))
        return data.replace(old, new, 1)
    if how == "truncate":
        return data[: draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))]
    at = draw(st.integers(min_value=0, max_value=len(data) - 1))
    byte = draw(st.integers(min_value=0, max_value=255))
    return data[:at] + bytes([byte]) + data[at + 1 :]


cuts = st.lists(st.integers(min_value=0, max_value=4096), max_size=8)


@given(stream(), cuts)
@example(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", [5, 20])
@example(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x\r\nhi\r\n0\r\n\r\n", [44, 45])
def test_valid_streams_parse_like_h11(data: bytes, cut: list[int]) -> None:
    agree(data, cut)


@given(broken_stream(), cuts)
@example(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi", [])
@example(b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nhi", [])
@example(b"\r\nHTTP/1.1 200 OK\r\n\r\n", [])
@example(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nHTTP/1.1", [])
def test_broken_streams_agree_or_both_reject(data: bytes, cut: list[int]) -> None:
    agree(data, cut)


@given(st.binary(max_size=200), cuts)
def test_arbitrary_bytes_agree_or_both_reject(data: bytes, cut: list[int]) -> None:
    agree(data, cut)
