"""Headless Chromium driven over the DevTools protocol, for the report's page (stdlib only).

    with Browser() as b:
        b.open(path)                  # waits for the load event
        b.eval("document.title")      # a JSON value
        b.click("button.mark")        # a real mouse click at the element's centre
        png = b.screenshot()
        b.errors                      # console errors, exceptions, CSP violations seen so far

The browser talks on --remote-debugging-pipe (fd 3 in, fd 4 out, one JSON
message per NUL), so no port is opened; its profile is a fresh directory in
the test's work directory, and the network is not used.
"""
import base64
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import time
import zlib

import harness

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
         "--remote-debugging-pipe"]


def chromium():
    """The browser's path, or Skip."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise harness.Skip("chromium is not installed (make deps installs it)")


class Browser:
    def __init__(self, width=1400, height=900, timeout=30):
        exe = chromium()
        self.timeout = timeout
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=harness.workdir())
        to_browser_r, self._w = os.pipe()
        self._r, from_browser_w = os.pipe()

        def fds():   # the pipe on the fds Chromium expects
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._err = open(os.path.join(self.profile, "stderr"), "wb")
        self.proc = harness._popen([exe, *FLAGS, f"--user-data-dir={self.profile}",
                                    f"--window-size={width},{height}", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=self._err, pass_fds=(3, 4),
                                   preexec_fn=fds)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf, self._id, self._events = b"", 0, []
        self.errors = []
        self.session = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            os.close(self._w)
        except OSError:
            pass
        harness.kill_group(self.proc)
        try:
            os.close(self._r)
        except OSError:
            pass
        self._err.close()

    # ------------------------------------------------------------ the protocol

    def _read(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                harness.fail("chromium did not answer in time")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    harness.fail("chromium exited (its stderr: "
                                 + open(self._err.name, errors="replace").read()[-400:] + ")")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        msg = json.loads(msg)
        if "method" in msg:
            self._note(msg)
        return msg

    def _note(self, msg):
        """Keeps an event; an error the page shows in its console goes to self.errors."""
        self._events.append(msg)
        method, p = msg["method"], msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.errors.append("exception: " + d.get("exception", {}).get("description", d.get("text", "")))
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console." + p["type"] + ": "
                               + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            self.errors.append("log: " + p["entry"].get("text", ""))

    def call(self, method, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._w, data):]
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    harness.fail(f"chromium: {method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def wait_event(self, method, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = len(self._events)
        while True:
            for msg in self._events[seen:]:
                if msg["method"] == method:
                    return msg.get("params", {})
            seen = len(self._events)
            self._read(deadline)

    # ------------------------------------------------------------ the page

    def open(self, path):
        """Loads a file and waits for its load event; the time it took, in seconds."""
        t0 = time.monotonic()
        self._events.clear()
        self.call("Page.navigate", url="file://" + os.path.abspath(path))
        self.wait_event("Page.loadEventFired")
        return time.monotonic() - t0

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            harness.fail(f"in the page: {expression}: {r['exceptionDetails'].get('text')} "
                         f"{r['exceptionDetails'].get('exception', {}).get('description', '')}")
        return r.get("result", {}).get("value")

    def click(self, selector):
        """Scrolls the first element matching selector into view and clicks its centre with the mouse."""
        box = self.eval(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: "center", inline: "center"}});
            const r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2];
        }})()""")
        harness.expect(box is not None, f"no element {selector} to click")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def screenshot(self):
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])


# ---------------------------------------------------------------- PNG, to check a screenshot

def png_pixels(data):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG."""
    harness.expect(data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            harness.expect(depth == 8 and colour in (2, 6), f"PNG of depth {depth}, colour type {colour}")
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def png_colours(data, step=3):
    """How many distinct colours, and the share of pixels that are not the most common one
    (sampled every `step` pixels both ways)."""
    width, height, rows, bpp = png_pixels(data)
    counts = {}
    for y in range(0, height, step):
        row = rows[y]
        for x in range(0, width, step):
            px = row[x * bpp:x * bpp + 3]
            counts[px] = counts.get(px, 0) + 1
    total = sum(counts.values())
    return len(counts), 1 - max(counts.values()) / total
