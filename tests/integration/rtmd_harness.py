"""Harness for the rtm integration tests: starts the real rtmd and talks to it.

Standard library only; run with Debian's /usr/bin/python3.

- ``Rtmd``: one rtmd process on a free loopback port with its own temporary data dir.
  ``start()`` waits until GET /healthz answers 200; ``stop()`` sends SIGTERM and asserts
  exit code 0 within 5 s; ``kill9()``; ``restart()`` on the same data dir.
- ``Client``: one persistent HTTP/1.1 keep-alive connection. ``call(method, **params)``
  posts /v1/<method>, ``server(method, **params)`` posts /v1/server/<method> with the API
  key; both return ``(http_status, json)``. A parameter named with a trailing underscore
  loses it (``from_=`` -> ``"from"``, ``with_=`` -> ``"with"``), for Python keywords.
  A Client is not thread-safe: give every thread its own.
- ``RawSocket``: a plain TCP socket for hostile input.
- ``RtmdTestCase``: a unittest.TestCase base that starts one rtmd per test class, with
  helpers for users, sessions, events and error assertions.

The binary is $RTMD, else ../../build/bin/rtmd relative to this file.
Set RTM_KEEP_TMP=1 to keep the data dirs and logs of the servers started.
"""

import http.client
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RTMD = os.path.normpath(os.path.join(HERE, "..", "..", "build", "bin", "rtmd"))

# API.md section 2: error name -> (rc, HTTP status).
ERRORS = {
    "InvalidRequest": (1001, 400),
    "InvalidParameter": (1002, 400),
    "UnknownMethod": (1003, 404),
    "PayloadTooLarge": (1004, 413),
    "RateLimited": (1005, 429),
    "InvalidSession": (1100, 404),
    "SessionAlreadyAuthorized": (1101, 409),
    "AuthorizeFailed": (1102, 401),
    "SessionExists": (1103, 409),
    "NotAuthorized": (1104, 401),
    "Unauthorized": (1105, 401),
    "PermissionDenied": (1106, 403),
    "InvalidToken": (1200, 401),
    "TokenExpired": (1201, 401),
    "NotFound": (1300, 404),
    "AlreadyExists": (1301, 409),
    "Internal": (1500, 500),
    "Unavailable": (1503, 503),
}

# The rtmd under test was built with ASan+UBSan (make asan sets RTM_SANITIZED=1): its RSS is
# mostly the sanitizer's quarantine of freed memory and shadow, so tests that bound rtmd's
# memory skip that one assertion.
SANITIZED = os.environ.get("RTM_SANITIZED") == "1"

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def rtmd_binary():
    return os.environ.get("RTMD") or DEFAULT_RTMD


def free_port():
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra=None):
    """The inherited environment without any RTM_* variable, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTM_")}
    env.pop("RTMD", None)
    if extra:
        env.update(extra)
    return env


def make_certificate(directory, name="server", cn="localhost"):
    """A self-signed EC certificate for 127.0.0.1 and localhost, made with openssl:
    (cert_path, key_path). A client trusts it by loading cert_path as its CA."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def client_tls_context(cafile):
    """A client context that verifies the server against cafile (hostname included)."""
    import ssl
    return ssl.create_default_context(cafile=cafile)


def _connection(port, timeout, ssl_context):
    if ssl_context is not None:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                           context=ssl_context)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


def http_get(port, path, timeout=2.0, headers=None, ssl_context=None):
    """One GET on a fresh connection: (status, headers, body bytes)."""
    conn = _connection(port, timeout, ssl_context)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    finally:
        conn.close()


def wait_healthy(port, proc=None, timeout=START_TIMEOUT, ssl_context=None):
    """Waits until GET /healthz is 200. Raises RuntimeError on timeout or process exit."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("rtmd exited with %r before it was healthy" % proc.returncode)
        try:
            status, _, body = http_get(port, "/healthz", timeout=1.0, ssl_context=ssl_context)
            if status == 200:
                return json.loads(body)
            last = "status %d" % status
        except (OSError, http.client.HTTPException) as e:
            last = repr(e)
        time.sleep(0.05)
    raise RuntimeError("rtmd not healthy within %.0f s on port %d (%s)" % (timeout, port, last))


class Rtmd:
    """One rtmd process. Use start()/stop(); cleanup() removes its temporary files."""

    def __init__(self, api_key="generate", data_dir=None, args=(), env=None, listen=True,
                 log_level="warn", tls=False):
        """api_key: a key for --api-key; "generate" (default) makes a random one; None
        gives no --api-key flag. tls: serve HTTPS/WSS with a certificate made for it
        (self.tls_cert, self.tls_key; clients get self.ssl_context)."""
        self.binary = rtmd_binary()
        self.api_key = "it-" + secrets.token_hex(16) if api_key == "generate" else api_key
        self.tmp = tempfile.mkdtemp(prefix="rtm-it-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.args = list(args)
        self.env = clean_env(env)
        self.listen = listen
        self.log_level = log_level
        self.port = None
        self.proc = None
        self.runs = 0
        self.stdout_path = None
        self.stderr_path = None
        self.tls_cert = self.tls_key = self.ssl_context = None
        if tls:
            self.tls_cert, self.tls_key = make_certificate(self.tmp)
            self.args += ["--tls-cert", self.tls_cert, "--tls-key", self.tls_key]
            self.ssl_context = client_tls_context(self.tls_cert)

    # -- process control ------------------------------------------------------------

    def command(self):
        cmd = [self.binary]
        if self.listen:
            cmd += ["--listen", "127.0.0.1:%d" % self.port]
        if self.data_dir is not None:
            cmd += ["--data-dir", self.data_dir]
        if self.api_key:
            cmd += ["--api-key", self.api_key]
        if self.log_level:
            cmd += ["--log-level", self.log_level]
        return cmd + self.args

    def spawn(self):
        """Starts the process without waiting for it to be ready."""
        if not os.path.exists(self.binary):
            if os.environ.get("RTMD"):
                raise RuntimeError("RTMD=%s does not exist (build rtmd first)" % self.binary)
            raise unittest.SkipTest("rtmd binary not found at %s (set RTMD)" % self.binary)
        self.runs += 1
        self.stdout_path = os.path.join(self.tmp, "stdout.%d.log" % self.runs)
        self.stderr_path = os.path.join(self.tmp, "stderr.%d.log" % self.runs)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=self.env, cwd=self.tmp,
                                         start_new_session=True, preexec_fn=_die_with_parent)
        return self.proc

    def start(self, port=None):
        """Starts rtmd and waits for /healthz == 200 (10 s). Retries on a port taken meanwhile."""
        for attempt in range(3):
            if self.listen:
                self.port = port or free_port()
            self.spawn()
            try:
                wait_healthy(self.port, self.proc, ssl_context=self.ssl_context)
                return self
            except RuntimeError as e:
                if self.proc.poll() is None:
                    self._kill()
                    raise RuntimeError("%s\nstderr: %s" % (e, self.stderr()))
                if port is None and attempt < 2 and "in use" in self.stderr().lower():
                    continue
                raise RuntimeError("%s\nstderr: %s" % (e, self.stderr()))
        raise RuntimeError("could not start rtmd")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, signo):
        self.proc.send_signal(signo)

    def wait(self, timeout):
        """Waits for exit; returns the exit code or None on timeout."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, signo=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """SIGTERM (or signo); asserts exit code 0 within 5 s. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            rc = None if self.proc is None else self.proc.returncode
            raise AssertionError("rtmd was not running at stop() (exit code %r)\nstderr: %s"
                                 % (rc, self.stderr()))
        started = time.monotonic()
        self.proc.send_signal(signo)
        rc = self.wait(timeout)
        if rc is None:
            self._kill()
            raise AssertionError("rtmd did not exit within %.0f s of signal %d" % (timeout, signo))
        if rc != 0:
            raise AssertionError("rtmd exited with %d after signal %d (%.2f s)\nstderr: %s"
                                 % (rc, signo, time.monotonic() - started, self.stderr()))
        return rc

    def kill9(self):
        self._kill()

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self):
        """Starts again on the same data dir (and the same port when it is free)."""
        if self.alive():
            self.stop()
        try:
            return self.start(port=self.port)
        except RuntimeError:
            return self.start()

    def cleanup(self):
        """Kills rtmd if it still runs and removes its files. Raises AssertionError when a
        sanitizer (ASan, UBSan, LSan, TSan) reported anything on its stderr in any of its
        runs: `make test` runs this suite once against an ASan+UBSan rtmd, and a report
        there is a bug even when every answer was right."""
        self._kill()
        reports = self.sanitizer_reports()
        if os.environ.get("RTM_KEEP_TMP") or reports:
            print("rtmd files kept in", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if reports:
            raise AssertionError("sanitizer report from %s:\n%s"
                                 % (self.binary, "\n\n".join(reports)))

    def sanitizer_reports(self):
        """The sanitizer reports on the stderr of every run of this Rtmd (at most 60 lines
        each)."""
        reports = []
        for run in range(1, self.runs + 1):
            text = _read(os.path.join(self.tmp, "stderr.%d.log" % run))
            report = sanitizer_report(text)
            if report:
                reports.append("run %d: %s" % (run, report))
        return reports

    # -- inspection -----------------------------------------------------------------

    def stdout(self):
        return _read(self.stdout_path)

    def stderr(self):
        return _read(self.stderr_path)

    def status_field(self, name):
        """A field of /proc/PID/status in kB (VmRSS, VmHWM)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
        return None

    def client(self, **kw):
        return Client(self, **kw)


# The first line of a report from each sanitizer rtmd may be built with (RTM_SANITIZE, the
# TSan build): "==PID==ERROR: AddressSanitizer: ...", "file:line: runtime error: ...".
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer")


def sanitizer_report(text):
    """The lines of text from the first sanitizer report on, or None when there is none."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if any(m in line for m in SANITIZER_MARKERS):
            return "\n".join(lines[i:i + 60])
    return None


def _die_with_parent():
    """In the child before exec: SIGKILL rtmd when the test process dies, so that a crashed
    or interrupted test run leaves no server behind."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort only
        pass


def _read(path):
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def _params(params, kw):
    out = dict(params or {})
    for k, v in kw.items():
        out[k[:-1] if k.endswith("_") else k] = v
    return out


class Client:
    """A keep-alive HTTP client for one rtmd. Not thread-safe."""

    def __init__(self, rtmd, timeout=75.0, api_key=None):
        self.rtmd = rtmd
        self.timeout = timeout
        self.api_key = api_key if api_key is not None else rtmd.api_key
        self.conn = None
        self.port = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _connection(self):
        port = self.rtmd.port if hasattr(self.rtmd, "port") else self.rtmd
        if self.conn is None or self.port != port:
            self.close()
            self.conn = _connection(port, self.timeout, getattr(self.rtmd, "ssl_context", None))
            self.port = port
            return self.conn, True
        return self.conn, False

    def request(self, method, path, body=None, headers=None):
        """(status, lower-cased headers, body bytes). Reconnects once when a kept-alive
        connection turns out to be closed by the server before it answered."""
        headers = dict(headers or {})
        for attempt in range(2):
            conn, fresh = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                hdrs = dict((k.lower(), v) for k, v in resp.getheaders())
                if resp.will_close:
                    self.close()
                return resp.status, hdrs, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    ConnectionAbortedError, http.client.CannotSendRequest,
                    http.client.ResponseNotReady):
                self.close()
                if fresh or attempt == 1:
                    raise
            except Exception:
                self.close()
                raise
        raise AssertionError("unreachable")

    def post(self, path, body, headers=None):
        """POST raw bytes (or a JSON-able object); answers (status, parsed JSON or None)."""
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        status, _, data = self.request("POST", path, body, h)
        return status, _json(data)

    def call(self, method, params=None, /, **kw):
        """POST /v1/<method>: (http_status, json)."""
        return self.post("/v1/" + method, _params(params, kw))

    def server(self, method, params=None, /, **kw):
        """POST /v1/server/<method> with the API key: (http_status, json)."""
        return self.post("/v1/server/" + method, _params(params, kw),
                         {"Authorization": "Bearer " + self.api_key})

    def get(self, path, headers=None):
        return self.request("GET", path, None, headers)


def _json(data):
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


class RawSocket:
    """A plain TCP connection for bytes that http.client would not send."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def recv_all(self, timeout=5.0, limit=1 << 20):
        """Reads until the peer closes, the timeout passes or limit bytes arrived."""
        self.sock.settimeout(timeout)
        chunks = []
        total = 0
        try:
            while total < limit:
                b = self.sock.recv(65536)
                if not b:
                    break
                chunks.append(b)
                total += len(b)
        except socket.timeout:
            pass
        return b"".join(chunks)

    def _fill(self):
        b = self.sock.recv(65536)
        if b:
            self.buf += b
        return bool(b)

    def read_response(self, timeout=5.0):
        """Reads one HTTP response: (status, headers, body) or None when closed first.
        Bytes past it stay buffered for the next read_response (pipelining)."""
        self.sock.settimeout(timeout)
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                return None
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n and self._fill():
                pass
            body, self.buf = self.buf[:n], self.buf[n:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    if not self._fill():
                        return status, headers, body
                size_line, _, self.buf = self.buf.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2 and self._fill():
                    pass
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
        else:
            body = self.buf + self.recv_all(timeout)
            self.buf = b""
        return status, headers, body

    def closed_by_peer(self, timeout=5.0):
        """True when the peer closes (EOF or reset) within timeout, discarding any data."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                b = self.sock.recv(65536)
                if not b:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


_counter = itertools.count(1)
_counter_lock = threading.Lock()


def unique(prefix="u"):
    with _counter_lock:
        n = next(_counter)
    return "%s%d_%d_%s" % (prefix, os.getpid(), n, secrets.token_hex(3))


def unique_id():
    """A positive id (gid, rid, uid, mid) no other test of this run picks."""
    return secrets.randbelow(1 << 40) + (1 << 41)


class User:
    def __init__(self, uid, login, password):
        self.uid = uid
        self.login = login
        self.password = password
        self.session = None

    def __repr__(self):
        return "User(uid=%r, login=%r, session=%r)" % (self.uid, self.login, self.session)


class RtmdTestCase(unittest.TestCase):
    """Starts one rtmd for the test class (setUpClass) and stops it with SIGTERM at the end,
    asserting exit code 0. self.c is a keep-alive client."""

    rtmd_args = ()
    rtmd_env = None
    rtmd_tls = False  # HTTPS/WSS with a certificate made for the class (Rtmd's tls)

    @classmethod
    def setUpClass(cls):
        cls.rtmd = Rtmd(args=cls.rtmd_args, env=cls.rtmd_env, tls=cls.rtmd_tls)
        try:
            cls.rtmd.start()
        except BaseException:
            cls.rtmd.cleanup()
            raise
        cls.c = cls.rtmd.client()

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        try:
            if cls.rtmd.alive():
                cls.rtmd.stop()
        finally:
            cls.rtmd.cleanup()

    def setUp(self):
        if not self.rtmd.alive():
            # an earlier test crashed it (that test reported it); go on with a fresh start
            self.c.close()
            self.rtmd.start()

    def tearDown(self):
        if self.rtmd.alive():
            try:
                http_get(self.rtmd.port, "/healthz", timeout=2.0,
                         ssl_context=self.rtmd.ssl_context)
            except (OSError, http.client.HTTPException):
                self.rtmd.wait(2.0)  # dying: let it finish, so the next test starts a fresh one
        if not self.rtmd.alive():
            self.fail("rtmd died during this test (exit code %r); stderr ends with:\n%s"
                      % (self.rtmd.proc.returncode, self.rtmd.stderr()[-2000:]))

    # -- assertions -----------------------------------------------------------------

    def assertOk(self, resp, msg=None):
        """Asserts HTTP 200 and rc 0; returns the body."""
        status, body = resp
        self.assertIsInstance(body, dict, msg or "answer is not a JSON object: %r" % (resp,))
        self.assertEqual((status, body.get("rc")), (200, 0),
                         msg or "expected success, got %r" % (resp,))
        return body

    def assertError(self, resp, *names, msg=None):
        """Asserts the HTTP status, rc and error name of API.md's table (one of names)."""
        status, body = resp
        self.assertIsInstance(body, dict, "error answer is not a JSON object: %r" % (resp,))
        expected = [(ERRORS[n][1], ERRORS[n][0], n) for n in names]
        got = (status, body.get("rc"), body.get("error"))
        self.assertIn(got, expected, msg or "expected %s, got %r" % (" or ".join(names), resp))
        self.assertIsInstance(body.get("msg"), str, "error without msg text: %r" % (resp,))
        return body

    # -- users and sessions ---------------------------------------------------------

    def new_user(self, password=None, uid=None):
        login = unique("user")
        password = password or "pw-" + secrets.token_hex(6)
        params = {"login": login, "password": password}
        if uid is not None:
            params["uid"] = uid
        body = self.assertOk(self.c.server("user.add", params))
        self.assertIsInstance(body.get("uid"), int)
        return User(body["uid"], login, password)

    def new_session(self, client=None):
        body = self.assertOk((client or self.c).call("session.create"))
        self.assertIsInstance(body.get("session"), str)
        return body["session"]

    def authorize(self, session, user, mode=None, client=None, password=None):
        params = {"session": session, "login": user.login,
                  "password": password if password is not None else user.password}
        if mode is not None:
            params["mode"] = mode
        return (client or self.c).call("session.authorize", params)

    def login(self, user=None, mode=None):
        """A new authorized session for user (a new user when None); sets user.session."""
        user = user or self.new_user()
        s = self.new_session()
        body = self.assertOk(self.authorize(s, user, mode=mode))
        self.assertEqual(body.get("uid"), user.uid)
        user.session = body.get("session", s)
        return user

    def get_events(self, session, timeout=0, after=None, client=None):
        params = {"session": session, "timeout": timeout}
        if after is not None:
            params["after"] = after
        return (client or self.c).call("session.get_events", params)

    def events(self, session, timeout=0, after=None, client=None):
        """The events list of a successful get_events."""
        body = self.assertOk(self.get_events(session, timeout, after, client))
        self.assertIsInstance(body.get("events"), list, body)
        return body["events"]

    def collect(self, session, count, timeout=5.0, kinds=None, client=None):
        """Polls until count events (of the given types) arrived or timeout passed."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            evs = self.events(session, timeout=max(1, min(5, int(left + 0.999))), client=client)
            got += [e for e in evs if kinds is None or e.get("type") in kinds]
        return got

    def messages(self, session, count, timeout=5.0, client=None):
        """The message objects of the next count message events."""
        return [e["message"] for e in self.collect(session, count, timeout, ("message",), client)]

    def quiet(self, session, client=None):
        """Asserts no event is queued for session right now."""
        evs = self.events(session, timeout=0, client=client)
        self.assertEqual(evs, [], "unexpected events")

    def send(self, sender, to, msg="hi", mtype=30, **kw):
        """message.send from sender (a User with a session); returns the answer body."""
        params = {"session": sender.session, "to": to.uid if isinstance(to, User) else to,
                  "mtype": mtype, "msg": msg}
        params.update(kw)
        return self.assertOk(self.c.call("message.send", params))


class ServersCase(unittest.TestCase):
    """For tests that start their own rtmd processes, several or again and again (the data
    dir's lock, refused starts, flags): self.rtmd(**kw) makes an Rtmd (not started) that
    tearDown cleans up, whatever state the test left it in."""

    def setUp(self):
        self.servers = []

    def tearDown(self):
        failures = []
        for r in self.servers:
            try:
                r.cleanup()
            except AssertionError as e:  # cleanup may report what it found; clean the rest first
                failures.append(str(e))
        if failures:
            self.fail("\n\n".join(failures))

    def rtmd(self, **kw):
        r = Rtmd(**kw)
        self.servers.append(r)
        return r
