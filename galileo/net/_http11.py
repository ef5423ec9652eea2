"""A sans-I/O HTTP/1.1 *response* parser for the quote path.

It accepts exactly what h11 accepts on the client side (the differential tests in
tests/net/test_http11_differential.py hold it to that), but does the work in a handful of
C-level ``bytes`` operations per message instead of h11's per-event state machine: one regex
search for the end of the head, one regex per header line, one slice for a Content-Length body.
That is where the ~3x CPU difference per request comes from (docs/performance.md).

Feed bytes with :meth:`ResponseParser.feed` (and :meth:`feed_eof` when the peer closes), take
complete responses with :meth:`ResponseParser.next_response`. Malformed input raises
:class:`ProtocolError`. Informational (1xx) responses are skipped.
"""

from __future__ import annotations

import re

import attrs

from galileo._errors import GalileoError

# The grammar below is the one h11 enforces (h11/_abnf.py), so both accept the same inputs.
_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
_VCHAR_OR_OBS = rb"[^\x00\s]"
_FIELD_CONTENT = rb"%s+(?:[ \t]+%s+)*" % (_VCHAR_OR_OBS, _VCHAR_OR_OBS)
_HEADER_FIELD_RE = re.compile(
    rb"(?P<name>%s):[ \t]*(?P<value>(?:%s)?)[ \t]*" % (_TOKEN, _FIELD_CONTENT)
)
_STATUS_LINE_RE = re.compile(
    rb"HTTP/(?P<version>[0-9]\.[0-9]) (?P<status>[0-9]{3})(?: (?P<reason>(?:[ \t]|%s)*))?"
    % _VCHAR_OR_OBS
)
_CHUNK_HEADER_RE = re.compile(rb"(?P<size>[0-9A-Fa-f]{1,20})(?:;.*)?[ \t]*\r\n")
_CONTENT_LENGTH_RE = re.compile(rb"[0-9]+")
_BLANK_LINE_RE = re.compile(rb"\n\r?\n")
# Fast path for the usual head (CRLF endings, no obs-fold): one regex validates every header
# line at once, one findall extracts them. Same grammar as _HEADER_FIELD_RE.
_HEADER_LINE = rb"(%s):[ \t]*((?:%s)?)[ \t]*\r\n" % (_TOKEN, _FIELD_CONTENT)
_HEADER_BLOCK_RE = re.compile(rb"(?:%s:[ \t]*(?:%s)?[ \t]*\r\n)*" % (_TOKEN, _FIELD_CONTENT))
_HEADER_LINES_RE = re.compile(_HEADER_LINE)
_OBS_FOLD_RE = re.compile(rb"[ \t]+")
_MAX_CONTENT_LENGTH_DIGITS = 20

# Parser states.
_HEAD = 0
_BODY_LENGTH = 1
_CHUNK_HEADER = 2
_CHUNK_DATA = 3
_CHUNK_FOOTER = 4
_TRAILER = 5
_BODY_UNTIL_EOF = 6
_MUST_CLOSE = 7


class ProtocolError(GalileoError):
    """The server sent something that is not a valid HTTP/1.1 response."""


@attrs.frozen
class RawResponse:
    """One complete response. Header names are lower-case; values are stripped of OWS."""

    status: int
    reason: bytes
    http_version: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool

    def header(self, name: bytes) -> bytes | None:
        """The last value of header ``name`` (lower-case), or None."""
        found = None
        for key, value in self.headers:
            if key == name:
                found = value
        return found


def _split_head(block: bytes) -> list[bytes]:
    lines = block.split(b"\n")
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _decode_headers(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    last: bytes | None = None
    folded: list[bytes] = []
    for line in lines:
        fold = _OBS_FOLD_RE.match(line)
        if fold is not None:
            # obs-fold: a continuation line joins the previous one with a single space.
            if last is None:
                raise ProtocolError("continuation line at start of headers")
            last = last + b" " + line[fold.end() :]
            continue
        if last is not None:
            folded.append(last)
        last = line
    if last is not None:
        folded.append(last)
    for line in folded:
        match = _HEADER_FIELD_RE.fullmatch(line)
        if match is None:
            raise ProtocolError(f"illegal header line: {line[:80]!r}")
        headers.append((match.group("name").lower(), match.group("value")))
    return headers


def _comma_values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    values: list[bytes] = []
    for key, value in headers:
        if key == name:
            for item in value.split(b","):
                token = item.strip(b" \t").lower()
                if token:
                    values.append(token)
    return values


class ResponseParser:
    """Incremental parser of a stream of responses on one connection.

    ``max_head_size`` bounds an incomplete head (status line + headers) and an incomplete
    chunk header, like h11's ``max_incomplete_event_size``.
    """

    __slots__ = (
        "_body",
        "_buf",
        "_chunk_left",
        "_eof",
        "_head",
        "_max_head",
        "_pos",
        "_remaining",
        "_state",
    )

    def __init__(self, max_head_size: int = 64 * 1024) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._state = _HEAD
        self._eof = False
        self._max_head = max_head_size
        self._head: tuple[int, bytes, bytes, list[tuple[bytes, bytes]], bool] | None = None
        self._remaining = 0
        self._chunk_left = 0
        self._body: list[bytes] = []

    # -- input -------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self._eof:
            raise ProtocolError("data after end of stream")
        if self._pos and self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        self._buf += data

    def feed_eof(self) -> None:
        self._eof = True

    @property
    def idle(self) -> bool:
        """True between responses with nothing buffered: the connection can be reused."""
        return self._state == _HEAD and self._pos == len(self._buf) and not self._eof

    @property
    def must_close(self) -> bool:
        """True once a response said the connection ends with it."""
        return self._state == _MUST_CLOSE

    @property
    def started(self) -> bool:
        """True when some bytes of the next response have arrived."""
        return self._state != _HEAD or self._pos < len(self._buf)

    # -- output ------------------------------------------------------------------------------

    def next_response(self) -> RawResponse | None:
        """The next complete response, or None when more data is needed."""
        while True:
            state = self._state
            if state == _HEAD:
                if not self._read_head():
                    return None
                continue
            if state == _BODY_LENGTH:
                available = len(self._buf) - self._pos
                if available < self._remaining:
                    if self._eof:
                        raise ProtocolError(
                            "peer closed connection without sending complete message body"
                        )
                    return None
                end = self._pos + self._remaining
                body = bytes(self._buf[self._pos : end])
                self._pos = end
                return self._finish(body)
            if state == _CHUNK_HEADER:
                if not self._read_chunk_header():
                    return None
                continue
            if state == _CHUNK_DATA:
                available = len(self._buf) - self._pos
                if available == 0:
                    if self._eof:
                        raise ProtocolError("peer closed connection mid-chunk")
                    return None
                take = min(available, self._chunk_left)
                self._body.append(bytes(self._buf[self._pos : self._pos + take]))
                self._pos += take
                self._chunk_left -= take
                if self._chunk_left == 0:
                    self._state = _CHUNK_FOOTER
                continue
            if state == _CHUNK_FOOTER:
                available = len(self._buf) - self._pos
                got = bytes(self._buf[self._pos : self._pos + min(2, available)])
                if got != b"\r\n"[: len(got)]:
                    raise ProtocolError(f"malformed chunk footer: {got!r}")
                if len(got) < 2:
                    if self._eof:
                        raise ProtocolError("peer closed connection mid-chunk")
                    return None
                self._pos += 2
                self._state = _CHUNK_HEADER
                continue
            if state == _TRAILER:
                lines = self._extract_lines()
                if lines is None:
                    if self._eof:
                        raise ProtocolError("peer closed connection in trailers")
                    return None
                _decode_headers(lines)  # validated, then dropped: quote APIs send none
                body = b"".join(self._body)
                self._body = []
                return self._finish(body)
            if state == _BODY_UNTIL_EOF:
                if not self._eof:
                    return None
                body = bytes(self._buf[self._pos :])
                self._pos = len(self._buf)
                return self._finish(body)
            # _MUST_CLOSE
            if self._pos < len(self._buf):
                raise ProtocolError("data after a response that closes the connection")
            return None

    # -- internals ---------------------------------------------------------------------------

    def _extract_lines(self) -> list[bytes] | None:
        buf = self._buf
        pos = self._pos
        if buf[pos : pos + 1] == b"\n":
            self._pos = pos + 1
            return []
        if buf[pos : pos + 2] == b"\r\n":
            self._pos = pos + 2
            return []
        match = _BLANK_LINE_RE.search(buf, pos)
        if match is None:
            if len(buf) - pos > self._max_head:
                raise ProtocolError("response head too large")
            return None
        end = match.end()
        if end - pos > self._max_head:
            raise ProtocolError("response head too large")
        block = bytes(buf[pos:end])
        self._pos = end
        lines = _split_head(block)
        del lines[-2:]
        return lines

    def _read_head(self) -> bool:
        if self._pos == len(self._buf):
            return False
        buf = self._buf
        start = self._pos
        lines: list[bytes] | None
        status_line: bytes | None = None
        headers: list[tuple[bytes, bytes]] | None = None
        end = buf.find(b"\r\n\r\n", start)
        if end > start:
            block = bytes(buf[start : end + 2])
            if (
                b"\n " not in block
                and b"\n\t" not in block
                and block.count(b"\n") == block.count(b"\r\n")
                and end + 4 - start <= self._max_head
            ):
                first = block.find(b"\r\n")
                header_block = block[first + 2 :]
                if _HEADER_BLOCK_RE.fullmatch(header_block) is not None:
                    status_line = block[:first]
                    headers = [(n.lower(), v) for n, v in _HEADER_LINES_RE.findall(header_block)]
                    self._pos = end + 4
        if status_line is None:
            lines = self._extract_lines()
            if lines is None:
                if self._eof:
                    raise ProtocolError("peer closed connection in the response head")
                return False
            if not lines:
                raise ProtocolError("no response line received")
            status_line = lines[0]
            headers = _decode_headers(lines[1:])
        assert headers is not None
        status_match = _STATUS_LINE_RE.fullmatch(status_line)
        if status_match is None:
            raise ProtocolError(f"illegal status line: {status_line[:80]!r}")
        status = int(status_match.group("status"))
        version = status_match.group("version")
        reason = status_match.group("reason") or b""
        content_length = self._validate_framing_headers(headers)
        if status < 200:
            # Informational: nothing to hand out, the real response follows.
            return True
        connection = _comma_values(headers, b"connection")
        keep_alive = b"close" not in connection and version >= b"1.1"
        if (
            status not in (204, 304)
            and content_length is None
            and not _comma_values(headers, b"transfer-encoding")
        ):
            keep_alive = False  # the body runs to EOF: the connection cannot be reused
        self._head = (status, reason, version, headers, keep_alive)
        if status in (204, 304):
            self._remaining = 0
            self._state = _BODY_LENGTH
        elif _comma_values(headers, b"transfer-encoding"):
            self._body = []
            self._state = _CHUNK_HEADER
        elif content_length is not None:
            self._remaining = content_length
            self._state = _BODY_LENGTH
        else:
            self._state = _BODY_UNTIL_EOF
        return True

    @staticmethod
    def _validate_framing_headers(headers: list[tuple[bytes, bytes]]) -> int | None:
        content_length: bytes | None = None
        saw_te = False
        for name, value in headers:
            if name == b"content-length":
                lengths = {part.strip() for part in value.split(b",")}
                if len(lengths) != 1:
                    raise ProtocolError("conflicting Content-Length headers")
                length = lengths.pop()
                if (
                    _CONTENT_LENGTH_RE.fullmatch(length) is None
                    or len(length) > _MAX_CONTENT_LENGTH_DIGITS
                ):
                    raise ProtocolError("bad Content-Length")
                if content_length is None:
                    content_length = length
                elif content_length != length:
                    raise ProtocolError("conflicting Content-Length headers")
            elif name == b"transfer-encoding":
                if saw_te:
                    raise ProtocolError("multiple Transfer-Encoding headers")
                if value.lower() != b"chunked":
                    raise ProtocolError("only Transfer-Encoding: chunked is supported")
                saw_te = True
        return int(content_length) if content_length is not None else None

    def _read_chunk_header(self) -> bool:
        buf = self._buf
        end = buf.find(b"\r\n", self._pos)
        if end < 0:
            if len(buf) - self._pos > self._max_head:
                raise ProtocolError("chunk header too large")
            if self._eof:
                raise ProtocolError("peer closed connection in a chunk header")
            return False
        line = bytes(buf[self._pos : end + 2])
        match = _CHUNK_HEADER_RE.fullmatch(line)
        if match is None:
            raise ProtocolError(f"illegal chunk header: {line[:80]!r}")
        self._pos = end + 2
        size = int(match.group("size"), 16)
        if size == 0:
            self._state = _TRAILER
        else:
            self._chunk_left = size
            self._state = _CHUNK_DATA
        return True

    def _finish(self, body: bytes) -> RawResponse:
        head = self._head
        assert head is not None
        status, reason, version, headers, keep_alive = head
        self._head = None
        self._state = _HEAD if keep_alive else _MUST_CLOSE
        if self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        return RawResponse(
            status=status,
            reason=reason,
            http_version=version,
            headers=headers,
            body=body,
            keep_alive=keep_alive,
        )
