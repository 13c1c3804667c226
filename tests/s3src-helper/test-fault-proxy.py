#!/usr/bin/env python3
"""test-fault-proxy.py: checks tests/lib/fault-proxy.py against a small HTTP/1.1 upstream.

Proves each fault (503/500/status, reset, close, stall, delay), rule counts, the control
endpoint and control file, request/connection counting, keep-alive, chunked replies and
Expect: 100-continue uploads. Python 3 standard library only; exits non-zero on failure.
"""
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(os.environ.get("SOURCE_ROOT", os.path.join(HERE, "..", "..")),
                     "tests", "lib", "fault-proxy.py")
BLOB = bytes((i * 7 + 3) % 256 for i in range(1_000_000))
STORE = {}


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path == "/range":
            self.send_response(206)
            self.send_header("Content-Range", "bytes 0-9/10")
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"0123456789")
            return
        body = STORE.get(self.path, BLOB)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.path == "/silent-close":
            self.close_connection = True  # like a server's idle timeout: no "Connection: close"

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BLOB)))
        self.end_headers()

    def do_PUT(self):
        length = int(self.headers["Content-Length"])
        STORE[self.path] = self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.send_header("ETag", '"x"')
        self.end_headers()


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the proxy resets connections on purpose


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def main():
    upstream = QuietServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="fault-proxy-test-")
    port_file, control, stats_file = (os.path.join(tmp, n) for n in ("port", "rules.json", "stats"))
    proc = subprocess.Popen([sys.executable, PROXY, "--upstream",
                             f"http://127.0.0.1:{upstream.server_address[1]}", "--port-file",
                             port_file, "--control-file", control, "--stats-file", stats_file,
                             "--stall-seconds", "5", "--fault", "GET ^/cli 503 2"])
    try:
        for _ in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.05)
        port = int(open(port_file).read())

        def conn(timeout=10):
            return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

        def get(path, c=None):
            c = c or conn()
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()

        def control_post(what, body=b""):
            c = conn()
            c.request("POST", "/__fault-proxy__/" + what, body=body)
            r = c.getresponse()
            return r.status, r.read()

        def stats():
            c = conn()
            c.request("GET", "/__fault-proxy__/stats")
            return json.loads(c.getresponse().read())

        # Command-line rule: two 503s with an S3 XML body, then the real object.
        status, body = get("/cli")
        check(status == 503 and b"<Code>SlowDown</Code>" in body, "503 SlowDown with XML body")
        check(get("/cli")[0] == 503, "second 503")
        status, body = get("/cli")
        check(status == 200 and body == BLOB, "third request forwarded, body exact")

        # Keep-alive: several requests on one connection, counted once as a connection.
        before = stats()
        c = conn()
        for _ in range(5):
            check(get("/k", c) == (200, BLOB), "keep-alive request")
        after = stats()
        check(after["requests"] - before["requests"] == 5, "5 requests counted")
        check(after["connections"] - before["connections"] == 2, "1 connection (+1 control)")
        check(after["by_method"]["GET"] >= 8, "counted by method")

        # An upstream that drops a kept-alive connection silently: the proxy reconnects and
        # the client sees nothing.
        c = conn()
        check(get("/silent-close", c) == (200, BLOB), "request before a silent upstream close")
        time.sleep(0.2)
        check(get("/after", c) == (200, BLOB), "next request on a fresh upstream connection")
        c.request("PUT", "/silent-put", body=b"abc")
        r = c.getresponse()
        r.read()
        check(r.status == 200 and STORE["/silent-put"] == b"abc", "PUT after it")

        # Control endpoint: reset after 1000 body bytes, once.
        rules = {"rules": [{"method": "GET", "path": "^/r", "action": "reset:1000", "count": 1}]}
        check(control_post("rules", json.dumps(rules).encode())[0] == 200, "rules replaced")
        c = conn()
        c.request("GET", "/r")
        r = c.getresponse()
        got = b""
        try:
            while True:
                part = r.read(4096)
                if not part:
                    break
                got += part
        except (ConnectionResetError, http.client.IncompleteRead) as e:
            got += getattr(e, "partial", b"")
        check(len(got) == 1000 and got == BLOB[:1000], "reset after exactly 1000 body bytes")
        check(get("/r") == (200, BLOB), "rule count used up: next one forwarded")

        # Control file: stall once (client times out), then normal; 500 for PUT.
        with open(control, "w") as f:
            json.dump({"rules": [{"method": "GET", "path": "^/s$", "action": "stall", "count": 1},
                                 {"method": "PUT", "path": "^/p", "action": "500", "count": 1}]},
                      f)
        t0 = time.monotonic()
        try:
            get("/s", conn(timeout=1))
            check(False, "stall")
        except (socket.timeout, TimeoutError):
            check(time.monotonic() - t0 < 3, "stalled request times out on the client")
        check(get("/s") == (200, BLOB), "after the stall: forwarded")
        c = conn()
        c.request("PUT", "/p", body=b"abc")
        r = c.getresponse()
        check(r.status == 500 and b"InternalError" in r.read(), "500 InternalError for PUT")
        # The same connection still works after an injected error (body was drained).
        c.request("PUT", "/p", body=b"payload")
        r = c.getresponse()
        r.read()
        check(r.status == 200 and STORE["/p"] == b"payload", "PUT forwarded with its body")
        # Expect: 100-continue is answered by the proxy and the body forwarded.
        c = conn()
        c.putrequest("PUT", "/e")
        c.putheader("Content-Length", "5")
        c.putheader("Expect", "100-continue")
        c.endheaders()
        c.send(b"12345")
        r = c.getresponse()
        r.read()
        check(r.status == 200 and STORE["/e"] == b"12345", "Expect: 100-continue upload")
        control_post("rules", json.dumps({"rules": [
            {"method": "PUT", "path": "^/dropped", "action": "drop", "count": 1}]}).encode())
        c = conn()
        try:
            c.request("PUT", "/dropped", body=b"took effect")
            c.getresponse().read()
            check(False, "drop")
        except (ConnectionResetError, http.client.RemoteDisconnected):
            check(STORE.get("/dropped") == b"took effect", "drop: request applied, reply lost")
        with open(control, "w") as f:  # a new mtime: the control file applies again
            json.dump({"rules": [{"method": "*", "path": "^/d$", "action": "delay:300",
                                  "count": 1},
                                 {"method": "GET", "path": "^/st", "action": "status:404",
                                  "count": 1}]}, f)
        t0 = time.monotonic()
        check(get("/d") == (200, BLOB) and time.monotonic() - t0 >= 0.3, "delay:300")
        check(get("/st")[0] == 404, "status:404")
        check(get("/chunked") == (200, b"hello chunked world"), "chunked reply relayed")
        c = conn()
        c.request("HEAD", "/h")
        r = c.getresponse()
        check(r.status == 200 and r.read() == b"", "HEAD relayed without a body")

        # Hostile-server faults.
        check(get("/kept") == (200, BLOB), "a whole-object GET (kept for stale206)")
        STORE["/tr"] = b"0123456789"
        control_post("rules", json.dumps({"rules": [
            {"method": "GET", "path": "^/tr", "action": "trickle:100", "count": 1},
            {"method": "GET", "path": "^/bomb", "action": "bomb", "count": 1},
            {"method": "GET", "path": "^/huge", "action": "huge:200", "count": 1},
            {"method": "GET", "path": "^/range", "action": "range-start:7", "count": 1},
            {"method": "GET", "path": "^/range", "action": "range-total:5", "count": 1},
            {"method": "GET", "path": "^/trunc", "action": "truncate:1000", "count": 1},
            {"method": "GET", "path": "^/kept", "action": "stale206", "count": 1}]}).encode())
        t0 = time.monotonic()
        check(get("/tr") == (200, b"0123456789") and time.monotonic() - t0 > 0.5,
              "trickle:100: the whole reply at 100 bytes/s")
        status, body = get("/bomb")
        check(status == 200 and b"<!DOCTYPE" in body and body.count(b"&e;") == 20000
              and 100_000 < len(body) < 120_000, "bomb: 110 kB, 20,000 entity references")
        c = conn()
        c.request("GET", "/huge")
        r = c.getresponse()
        check(r.status == 200 and len(r.read(20 << 20)) == 20 << 20, "huge:200: endless body")
        c.close()
        for want in ("bytes 7-9/10", "bytes 0-9/15"):
            c = conn()
            c.request("GET", "/range")
            r = c.getresponse()
            r.read()
            check(r.status == 206 and r.getheader("Content-Range") == want,
                  f"Content-Range rewritten to {want}")
        c = conn()
        c.request("GET", "/trunc")
        r = c.getresponse()
        check(r.getheader("Content-Length") == "1000" and r.read() == BLOB[:1000],
              "truncate:1000: a complete 1000-byte reply")
        c = conn()
        c.request("GET", "/kept")
        r = c.getresponse()
        check(r.status == 206 and r.getheader("Content-Range") == f"bytes 0-{len(BLOB) - 1}/"
              f"{len(BLOB)}" and r.read() == BLOB, "stale206: the kept body from byte 0")

        s = json.load(open(stats_file))
        check(s["faults"] >= 7 and "GET /r 200 reset after 1000 body bytes" in s["log"],
              "stats file has faults and log")
        check(control_post("reset")[0] == 200 and stats()["requests"] == 0, "counters reset")
        check(subprocess.run([sys.executable, PROXY, "--help"], capture_output=True).returncode
              == 0, "--help")
        bad = subprocess.run([sys.executable, PROXY, "--upstream", "http://127.0.0.1:1",
                              "--fault", "GET x explode"], capture_output=True, text=True)
        check(bad.returncode == 2 and "explode" in bad.stderr, "bad rule refused")
        # --exit-with-parent: started by a shell that exits, the proxy goes too.
        orphan_port = os.path.join(tmp, "orphan-port")
        subprocess.run(["sh", "-c", f'"{sys.executable}" "{PROXY}" --upstream http://127.0.0.1:1 '
                        f'--port-file "{orphan_port}" --exit-with-parent >/dev/null 2>&1 & '
                        f'while [ ! -s "{orphan_port}" ]; do sleep 0.05; done'], check=True,
                       timeout=20)
        orphan = int(open(orphan_port).read())
        gone = False
        for _ in range(60):
            try:
                socket.create_connection(("127.0.0.1", orphan), timeout=1).close()
                time.sleep(0.1)
            except OSError:
                gone = True
                break
        check(gone, "--exit-with-parent: the proxy exits with its parent")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        upstream.shutdown()
        for n in os.listdir(tmp):
            os.unlink(os.path.join(tmp, n))
        os.rmdir(tmp)
    print("all fault-proxy checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
