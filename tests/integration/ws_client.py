"""A small RFC 6455 WebSocket client for the rtm integration tests (API.md section 6,
docs/websocket.md). Standard library only; run with Debian's /usr/bin/python3.

- ``WsClient(port)`` connects and does the opening handshake on ``/v1/ws`` (checks the 101
  and ``Sec-WebSocket-Accept``); a refused handshake raises ``HandshakeError`` with the HTTP
  status, headers and body.
- ``call(method, **params)`` sends ``{"id":N,"method":..,"params":{..}}`` with a fresh id and
  returns the reply with that id; replies to other ids and pushed ``{"event":..}`` frames that
  arrive meanwhile are kept (``events(n, timeout)`` hands the events out in order).
  ``request()`` sends without waiting and ``reply(id)`` waits, for pipelining.
- Incoming frames: fragmented messages are reassembled, control frames may come between
  fragments, a ping is answered with a pong of the same payload (``auto_pong``), pongs are
  recorded in ``pongs``, a close frame is answered and its code recorded (``close_code``).
- Hostile input: ``send_frame(opcode, payload, fin=, rsv=, mask=, length=)`` writes any one
  frame (an unmasked one, a wrong declared length, a reserved opcode), ``send_raw(bytes)``
  writes bytes as they are, ``send_fragments()`` splits a message into frames.
- ``close(code)`` does the closing handshake and returns the server's code; ``recv_close()``
  waits for the server's close frame and returns its code; ``abort()`` drops the TCP
  connection without a close frame (a lost network).

A parameter named with a trailing underscore loses it (``from_=`` -> ``"from"``).
Not thread-safe: one thread per WsClient (a second thread may only use ``send_*``, which
takes a lock around each write).
"""

import base64
import hashlib
import json
import os
import socket
import struct
import threading
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

# RFC 6455 section 7.4.1
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_NO_STATUS = 1005  # a close frame without a code (never sent on the wire)
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011


class WsError(Exception):
    pass


class HandshakeError(WsError):
    """The server did not switch protocols (or switched without a valid accept key)."""

    def __init__(self, status, headers, body, why):
        super().__init__("WebSocket handshake refused: %s (HTTP %s, body %r)"
                         % (why, status, body[:300]))
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


class ProtocolError(WsError):
    """The server sent something RFC 6455 does not allow."""


class ConnectionClosed(WsError):
    """The connection is closed: ``code`` is the server's close code (1005 when its close
    frame had none), or None when the TCP connection ended without a close frame."""

    def __init__(self, code, reason=""):
        super().__init__("WebSocket closed (code %r%s)" % (code, ", " + reason if reason else ""))
        self.code = code
        self.reason = reason


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def encode_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, length=None, mask_key=None):
    """One frame's bytes. ``length`` overrides the declared payload length (hostile tests);
    ``rsv`` is the three RSV bits as an int 0-7."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload) if length is None else length
    head = bytearray([(0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)])
    mbit = 0x80 if mask else 0
    if n < 126:
        head.append(mbit | n)
    elif n < 1 << 16:
        head.append(mbit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mbit | 127)
        head += struct.pack("!Q", n)
    if not mask:
        return bytes(head) + bytes(payload)
    key = mask_key if mask_key is not None else os.urandom(4)
    head += key
    return bytes(head) + mask_bytes(payload, key)


def mask_bytes(data, key):
    """XORs data with the 4-byte key (masking and unmasking are the same)."""
    if not data:
        return b""
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def close_payload(code=None, reason=""):
    if code is None:
        return b""
    return struct.pack("!H", code) + reason.encode("utf-8")


class Frame:
    __slots__ = ("fin", "rsv", "opcode", "payload", "masked")

    def __init__(self, fin, rsv, opcode, payload, masked):
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.payload = payload
        self.masked = masked

    def __repr__(self):
        return "Frame(fin=%r, opcode=%#x, %d bytes)" % (self.fin, self.opcode, len(self.payload))


class FrameReader:
    """Reads frames from a socket with a buffer; shared by the client and test servers."""

    def __init__(self, sock, buf=b""):
        self.sock = sock
        self.buf = bytearray(buf)

    def _fill(self, deadline):
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        b = self.sock.recv(1 << 20)
        if not b:
            raise EOFError("connection closed by peer")
        self.buf += b

    def _take(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_frame(self, deadline=None, max_payload=64 << 20):
        """The next frame; socket.timeout past the deadline, EOFError when the peer closed."""
        # Take bytes only once the whole frame is here, so a timeout loses nothing.
        while True:
            if len(self.buf) >= 2:
                b0, b1 = self.buf[0], self.buf[1]
                n = b1 & 0x7F
                pos = 2
                if n == 126:
                    pos = 4
                elif n == 127:
                    pos = 10
                masked = bool(b1 & 0x80)
                hlen = pos + (4 if masked else 0)
                if len(self.buf) >= hlen:
                    if n == 126:
                        n = struct.unpack("!H", bytes(self.buf[2:4]))[0]
                    elif n == 127:
                        n = struct.unpack("!Q", bytes(self.buf[2:10]))[0]
                    if n > max_payload:
                        raise ProtocolError("frame of %d bytes is over %d" % (n, max_payload))
                    if len(self.buf) >= hlen + n:
                        payload = bytes(self.buf[hlen:hlen + n])
                        if masked:
                            payload = mask_bytes(payload, bytes(self.buf[pos:pos + 4]))
                        del self.buf[:hlen + n]
                        return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, payload, masked)
            self._fill(deadline)


def _params(params, kw):
    out = dict(params or {})
    for k, v in kw.items():
        out[k[:-1] if k.endswith("_") else k] = v
    return out


class WsClient:
    """One WebSocket connection to rtmd (see the module docstring)."""

    def __init__(self, port, path="/v1/ws", host="127.0.0.1", timeout=10.0, headers=None,
                 connect=True, auto_pong=True, ssl_context=None):
        self.port = port
        self.ssl_context = ssl_context  # wss:// when set
        self.host = host
        self.path = path
        self.timeout = timeout
        self.extra_headers = dict(headers or {})
        self.auto_pong = auto_pong
        self.sock = None
        self.reader = None
        self.response_headers = {}
        self.next_id = 1
        self.replies = {}        # id -> reply (id None: a list of replies with a null id)
        self.pushed = []         # event objects not handed out yet, in arrival order
        self.all_events = []     # every event pushed on this socket, in arrival order
        self.others = []         # JSON messages that are neither a reply nor an event
        self.binary = []         # binary messages received
        self.pings = []          # payloads of pings received (each answered when auto_pong)
        self.pongs = []          # payloads of pongs received
        self.close_code = None   # the server's close code once its close frame came
        self.close_reason = ""
        self.closed = False      # no more frames will come (close frame or EOF)
        self.close_sent = False
        self._frag_op = None
        self._frag = []
        self._wlock = threading.Lock()
        if connect:
            self.connect()

    # -- connection -----------------------------------------------------------------

    def connect(self):
        """TCP connect and the opening handshake (RFC 6455 section 4.1)."""
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            self.sock = self.ssl_context.wrap_socket(self.sock, server_hostname=self.host)
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        headers = {
            "Host": "%s:%d" % (self.host, self.port),
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
        }
        headers.update(self.extra_headers)
        req = "GET %s HTTP/1.1\r\n" % self.path
        req += "".join("%s: %s\r\n" % (k, v) for k, v in headers.items() if v is not None)
        self.sock.sendall((req + "\r\n").encode("latin-1"))

        buf = bytearray()
        deadline = time.monotonic() + self.timeout
        while b"\r\n\r\n" not in buf:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            b = self.sock.recv(65536)
            if not b:
                raise HandshakeError(None, {}, bytes(buf), "connection closed during handshake")
            buf += b
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            raise HandshakeError(None, {}, bytes(buf), "bad status line %r" % lines[0])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        self.response_headers = hdrs
        if status != 101:
            body = rest
            n = int(hdrs.get("content-length", "0") or 0)
            while len(body) < n:
                try:
                    self.sock.settimeout(max(0.001, deadline - time.monotonic()))
                    b = self.sock.recv(65536)
                except OSError:
                    break
                if not b:
                    break
                body += b
            self._close_socket()
            raise HandshakeError(status, hdrs, body, "status %d, not 101" % status)
        if hdrs.get("upgrade", "").lower() != "websocket":
            self._close_socket()
            raise HandshakeError(status, hdrs, rest, "Upgrade header %r" % hdrs.get("upgrade"))
        if "upgrade" not in [t.strip().lower() for t in hdrs.get("connection", "").split(",")]:
            self._close_socket()
            raise HandshakeError(status, hdrs, rest, "Connection header %r" % hdrs.get("connection"))
        if hdrs.get("sec-websocket-accept") != accept_key(key):
            self._close_socket()
            raise HandshakeError(status, hdrs, rest, "Sec-WebSocket-Accept %r, expected %r"
                                 % (hdrs.get("sec-websocket-accept"), accept_key(key)))
        self.reader = FrameReader(self.sock, rest)
        return self

    def _close_socket(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass

    def abort(self):
        """Drops the TCP connection without a close frame (as a lost network would)."""
        if self.sock is not None:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self._close_socket()
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.abort()

    # -- writing --------------------------------------------------------------------

    def send_raw(self, data):
        with self._wlock:
            self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, mask=True, length=None):
        """Writes one frame exactly as asked (any opcode, unmasked, a wrong length ...)."""
        self.send_raw(encode_frame(opcode, payload, fin=fin, rsv=rsv, mask=mask, length=length))

    def send_text(self, text):
        """One text frame; ``text`` may be bytes (sent as they are, valid UTF-8 or not)."""
        self.send_frame(OP_TEXT, text)

    def send_binary(self, data):
        self.send_frame(OP_BINARY, data)

    def send_json(self, obj):
        self.send_text(json.dumps(obj, separators=(",", ":")))

    def send_fragments(self, payload, sizes, opcode=OP_TEXT, between=None):
        """Sends payload as a fragmented message: frames of the given sizes (the last frame
        takes the rest). ``between(i)`` is called after each frame but the last, e.g. to
        send a ping between fragments."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        parts = []
        pos = 0
        for s in sizes:
            parts.append(payload[pos:pos + s])
            pos += s
        parts.append(payload[pos:])
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            self.send_frame(opcode if i == 0 else OP_CONT, part, fin=last)
            if not last and between is not None:
                between(i)

    def ping(self, payload=b""):
        self.send_frame(OP_PING, payload)

    def pong(self, payload=b""):
        self.send_frame(OP_PONG, payload)

    def send_close(self, code=CLOSE_NORMAL, reason=""):
        self.send_frame(OP_CLOSE, close_payload(code, reason))
        self.close_sent = True

    # -- reading --------------------------------------------------------------------

    def _deadline(self, timeout):
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def read_frame(self, timeout=None):
        """The next raw frame (no reassembly, no automatic answers)."""
        return self.reader.read_frame(self._deadline(timeout))

    def _on_close(self, payload):
        if len(payload) >= 2:
            self.close_code = struct.unpack("!H", payload[:2])[0]
            self.close_reason = payload[2:].decode("utf-8", "replace")
        elif len(payload) == 1:
            raise ProtocolError("close frame with a 1-byte payload")
        else:
            self.close_code = CLOSE_NO_STATUS
        self.closed = True
        if not self.close_sent:
            try:
                # echo the code, as RFC 6455 section 5.5.1 asks
                self.send_frame(OP_CLOSE, payload[:2])
                self.close_sent = True
            except OSError:
                pass
        raise ConnectionClosed(self.close_code, self.close_reason)

    def read_message(self, timeout=None):
        """The next data message as (opcode, payload bytes), reassembled from fragments.
        Control frames between are handled: pings answered, pongs recorded, a close frame
        answered and raised as ConnectionClosed. socket.timeout past the timeout."""
        if self.closed:
            raise ConnectionClosed(self.close_code, self.close_reason)
        deadline = self._deadline(timeout)
        while True:
            try:
                f = self.reader.read_frame(deadline)
            except (EOFError, ConnectionResetError, BrokenPipeError):
                self.closed = True
                raise ConnectionClosed(self.close_code)
            if f.masked:
                raise ProtocolError("the server sent a masked frame")
            if f.rsv:
                raise ProtocolError("the server set RSV bits %d without an extension" % f.rsv)
            if f.opcode >= 0x8:
                if not f.fin or len(f.payload) > 125:
                    raise ProtocolError("bad control frame %r" % f)
                if f.opcode == OP_PING:
                    self.pings.append(f.payload)
                    if self.auto_pong and not self.close_sent:
                        self.pong(f.payload)
                elif f.opcode == OP_PONG:
                    self.pongs.append(f.payload)
                elif f.opcode == OP_CLOSE:
                    self._on_close(f.payload)
                else:
                    raise ProtocolError("reserved control opcode %#x" % f.opcode)
                continue
            if f.opcode == OP_CONT:
                if self._frag_op is None:
                    raise ProtocolError("continuation frame without a message")
                self._frag.append(f.payload)
            elif f.opcode in (OP_TEXT, OP_BINARY):
                if self._frag_op is not None:
                    raise ProtocolError("new message inside a fragmented one")
                self._frag_op = f.opcode
                self._frag = [f.payload]
            else:
                raise ProtocolError("reserved data opcode %#x" % f.opcode)
            if f.fin:
                op, data = self._frag_op, b"".join(self._frag)
                self._frag_op, self._frag = None, []
                if op == OP_TEXT:
                    try:
                        data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise ProtocolError("the server sent a text message that is not UTF-8")
                return op, data

    def _dispatch(self, op, data):
        """Files one message: a reply under its id, an event in pushed."""
        if op != OP_TEXT:
            self.binary.append(data)
            return None
        obj = json.loads(data)
        if isinstance(obj, dict) and "event" in obj and "id" not in obj:
            self.pushed.append(obj["event"])
            self.all_events.append(obj["event"])
        elif isinstance(obj, dict) and "id" in obj:
            rid = obj["id"]
            if rid is None:
                self.replies.setdefault(None, []).append(obj)
            else:
                if rid in self.replies:
                    raise ProtocolError("two replies with id %r: %r and %r"
                                        % (rid, self.replies[rid], obj))
                self.replies[rid] = obj
        else:
            self.others.append(obj)
        return obj

    def pump(self, timeout=None):
        """Reads and files one message; returns it (a dict), or None for a binary one."""
        op, data = self.read_message(timeout)
        return self._dispatch(op, data)

    def drain(self, quiet=0.2):
        """Reads and files messages until none comes for ``quiet`` seconds."""
        while True:
            try:
                self.pump(quiet)
            except socket.timeout:
                return

    # -- calls and events -----------------------------------------------------------

    def request(self, method, params=None, /, **kw):
        """Sends a call with a fresh id without waiting; returns the id."""
        if self.closed:
            raise ConnectionClosed(self.close_code, self.close_reason)
        rid = self.next_id
        self.next_id += 1
        self.send_json({"id": rid, "method": method, "params": _params(params, kw)})
        return rid

    def reply(self, rid, timeout=None):
        """Waits for the reply with id ``rid`` (None: the next reply with a null id), filing
        whatever else arrives meanwhile."""
        deadline = self._deadline(timeout)
        while True:
            if rid is None:
                if self.replies.get(None):
                    return self.replies[None].pop(0)
            elif rid in self.replies:
                return self.replies.pop(rid)
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no reply with id %r within the timeout" % (rid,))
            self.pump(left)

    def call(self, method, params=None, /, timeout=None, **kw):
        """Sends ``{"id":N,"method":method,"params":{...}}`` and returns the reply with id N."""
        return self.reply(self.request(method, params, **kw), timeout)

    def events(self, n, timeout=None):
        """The next n pushed events (fewer when the timeout passes first)."""
        deadline = self._deadline(timeout)
        while len(self.pushed) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                self.pump(left)
            except socket.timeout:
                break
        out, self.pushed = self.pushed[:n], self.pushed[n:]
        return out

    def event(self, timeout=None):
        """The next pushed event, or None when none comes within the timeout."""
        got = self.events(1, timeout)
        return got[0] if got else None

    # -- closing --------------------------------------------------------------------

    def recv_close(self, timeout=None):
        """Reads (and files) until the server's close frame; returns its code (1005 when the
        frame had none), or None when the TCP connection ended without one. socket.timeout
        when neither happens within the timeout."""
        deadline = self._deadline(timeout)
        while True:
            if self.closed:
                return self.close_code
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no close from the server within the timeout")
            try:
                op, data = self.read_message(left)
            except ConnectionClosed:
                continue
            except (OSError, EOFError) as e:
                if isinstance(e, socket.timeout):
                    raise
                self.closed = True
                continue
            try:
                self._dispatch(op, data)
            except ValueError:
                self.others.append(data)

    def close(self, code=CLOSE_NORMAL, reason="", timeout=None):
        """The closing handshake: sends close(code), waits for the server's close frame and
        closes the socket. Returns the server's code (None when it only dropped the TCP)."""
        try:
            if not self.closed:
                try:
                    self.send_close(code, reason)
                except OSError:
                    self.closed = True
                try:
                    return self.recv_close(timeout)
                except (socket.timeout, ProtocolError):
                    return self.close_code
            return self.close_code
        finally:
            self._close_socket()
            self.closed = True

    def wait_eof(self, timeout=None):
        """After the closing handshake: True when the server ends the TCP connection within
        the timeout (any bytes still coming are discarded)."""
        deadline = self._deadline(timeout)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                if not self.sock.recv(65536):
                    return True
        except socket.timeout:
            return False
        except OSError:
            return True
