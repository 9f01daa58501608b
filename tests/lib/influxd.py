"""Servers for the --influx scenarios (python3 stdlib only).

Influxd: a real InfluxDB 1.x (Debian's `influxdb` package) on a free loopback
port with a fresh data directory in the test's work directory; it can be
stopped and started again on the same port with the same data.

Listener: a loopback HTTP server that records every request (path, query,
headers, body with gzip undone) and answers from a script of statuses; it
stands in for InfluxDB 2.x/3.x, which Debian does not package.

Both stop themselves when used as context managers, and run in their own
session, so the runner's sweep also catches them if a test dies.
"""
import gzip
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import Skip, fail, workdir

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"
START_TIMEOUT = 30


def free_port():
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{dir}/meta"
  logging-enabled = false

[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false

[continuous_queries]
  enabled = false

[logging]
  level = "warn"
"""


class Influxd:
    """influxd on 127.0.0.1:PORT; raises Skip when it is not installed."""

    def __init__(self):
        if not os.access(INFLUXD, os.X_OK):
            raise Skip("influxd is not installed (apt-get install influxdb)")
        self.dir = tempfile.mkdtemp(prefix="influxd-", dir=workdir())
        self.port = free_port()
        self.conf = os.path.join(self.dir, "influxdb.conf")
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(dir=self.dir, port=self.port, rpc_port=free_port()))
        self.log = os.path.join(self.dir, "influxd.log")
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _log_tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-10:])
        except OSError:
            return ""

    def ping(self):
        try:
            with urllib.request.urlopen(self.url + "/ping", timeout=1) as r:
                return r.status == 204
        except (OSError, urllib.error.URLError):
            return False

    def start(self):
        """Start (again) on the same port and data, and wait until /ping answers."""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([INFLUXD, "-config", self.conf], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ping():
            if self.proc.poll() is not None:
                fail(f"influxd exited with status {self.proc.returncode}:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                fail(f"influxd did not answer /ping within {START_TIMEOUT}s:\n{self._log_tail()}")
            time.sleep(0.05)

    def stop(self):
        """Stop the server (its data stays); a no-op when it is not running."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        self.proc = None

    def query(self, q, db=None):
        """Run InfluxQL; the "results" list, timestamps as integer nanoseconds."""
        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(self.url + "/query", data=data, timeout=10) as r:
            results = json.load(r)["results"]
        for res in results:
            if "error" in res:
                fail(f"influxd: {q}: {res['error']}")
        return results

    def write(self, db, body):
        """POST line protocol; (HTTP status, error text or "")."""
        req = urllib.request.Request(f"{self.url}/write?db={urllib.parse.quote(db)}&precision=ns",
                                     data=body.encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, ""
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def create_database(self, name):
        self.query(f'CREATE DATABASE "{name}"')

    def databases(self):
        series = self.query("SHOW DATABASES")[0].get("series", [])
        return [row[0] for s in series for row in s.get("values", [])]

    def rows(self, q, db):
        """The rows of a single-statement query as dicts (column -> value)."""
        out = []
        for s in self.query(q, db)[0].get("series", []):
            out += [dict(zip(s["columns"], row)) for row in s.get("values", [])]
        return out

    def points(self, db, measurement="forktrace"):
        """Every point of a measurement: dicts with "time" (ns) and each tag and field
        (fields and tags a point lacks are left out)."""
        rows = self.rows(f'SELECT * FROM "{measurement}"', db)
        return [{k: v for k, v in r.items() if v is not None} for r in rows]

    def tag_keys(self, db, measurement="forktrace"):
        return {r["tagKey"] for r in self.rows(f'SHOW TAG KEYS FROM "{measurement}"', db)}

    def field_types(self, db, measurement="forktrace"):
        return {r["fieldKey"]: r["fieldType"] for r in self.rows(f'SHOW FIELD KEYS FROM "{measurement}"', db)}


class Listener:
    """A loopback HTTP server that records requests. Response i has status
    statuses[min(i, len - 1)]; retry_after is sent with non-2xx answers."""

    def __init__(self, statuses=(204,), retry_after=None):
        self.statuses, self.retry_after = list(statuses), retry_after
        self.requests = []
        self.lock = threading.Lock()
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                url = urllib.parse.urlsplit(self.path)
                with listener.lock:
                    n = len(listener.requests)
                    listener.requests.append({
                        "method": self.command,
                        "path": url.path,
                        "query": urllib.parse.parse_qs(url.query, keep_blank_values=True),
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    })
                status = listener.statuses[min(n, len(listener.statuses) - 1)]
                self.send_response(status)
                if status // 100 != 2 and listener.retry_after is not None:
                    self.send_header("Retry-After", str(listener.retry_after))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def lines(self, status_ok=True):
        """Line-protocol lines of every request (of those answered 2xx, by default)."""
        out = []
        with self.lock:
            for i, r in enumerate(self.requests):
                status = self.statuses[min(i, len(self.statuses) - 1)]
                if status_ok and status // 100 != 2:
                    continue
                out += r["body"].decode("utf-8", "replace").splitlines()
        return out
