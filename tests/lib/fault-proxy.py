#!/usr/bin/env python3
"""fault-proxy.py: an HTTP/1.1 proxy on 127.0.0.1 in front of an S3 server that injects faults.

Point a client's S3 endpoint at the proxy; every request is forwarded unchanged to the upstream
server (the Host header and body are passed through byte for byte, so SigV4 signatures stay valid)
except for requests that match a fault rule. Python 3 standard library only.

Faults (each rule has a method, a regular expression searched in the request target
"/path?query", an action and a count of how many matching requests it applies to):
  503          answer 503 SlowDown with an S3 XML error body (the request is not forwarded)
  500          answer 500 InternalError with an S3 XML error body
  status:CODE  answer CODE with an S3 XML error body (Code "InjectedFault")
  reset:K      forward, send the response headers and the first K body bytes, then reset the
               connection (TCP RST)
  close:K      like reset:K but a clean close (FIN) after K body bytes
               (reset/close need a reply body longer than K; shorter replies pass unharmed)
  drop         forward the request, let the server answer, discard the answer and reset the
               connection: the request took effect but the client cannot know
  stall        read the request and never answer (the connection stays open until the client
               gives up or --stall-seconds passes)
  delay:MS     forward after waiting MS milliseconds
Hostile-server faults (a broken or malicious endpoint, issue 13):
  trickle:BPS  forward, then send the reply (status line and headers included) at BPS bytes a
               second, forever if the reply is large: the client must give up by itself
  huge:CODE    answer CODE with an endless chunked XML body (a listing for 2xx, an <Error>
               otherwise), sent as fast as the client reads (not forwarded)
  bomb         answer 200 with a 110 kB ListBucketResult whose DTD declares one 50 kB internal
               entity that the listing references 20,000 times (1 GB once expanded)
  range-start:N  forward; add N to the first byte position of the reply's Content-Range (at
               most up to its last byte position)
  range-total:N  forward; add N to the total length of the reply's Content-Range
  stale206     answer 206 "bytes 0-(n-1)/n" with the whole body of the last complete GET of the
               whole object (200, or 206 from byte 0 to the end) of the same path seen through
               the proxy, whatever range was asked for (a resumed
               GET that would get the object's start again)
  truncate:K   forward, but announce Content-Length: K and send only the first K body bytes,
               then close: a reply complete by its own header, short of the object

Control at run time, any of:
  * command line:  --fault 'GET ^/bucket/key 503 3'   (METHOD REGEX ACTION [COUNT]; METHOD may be
                   '*'; COUNT defaults to 1, -1 = always)
  * a control file (--control-file FILE, JSON, re-read whenever its mtime changes):
        {"rules": [{"method": "GET", "path": "^/b/k", "action": "reset:1000", "count": 2}]}
    Writing the file replaces the rules (and their remaining counts).
  * the control endpoint on the proxy's own port (never forwarded):
        GET  /__fault-proxy__/stats    JSON counters (see below)
        POST /__fault-proxy__/rules    body = the same JSON as the control file; replaces rules
        POST /__fault-proxy__/reset    clears the rules and the counters
Counters (also written as JSON to --stats-file after every request):
  {"requests": N, "connections": N, "by_method": {"GET": n, ...}, "faults": N,
   "log": ["GET /b/k 206", ...], "rules": [...]}
"requests" counts every client request that reached the proxy (faulted ones included, control
requests excluded); "connections" counts accepted client connections (control ones included), so
connection reuse shows as connections << requests; "log" keeps the last --log-size request lines
with the status sent; "rules" shows the rules with their remaining counts.

The chosen port is written to --port-file (atomically) once the proxy listens; exit with
SIGTERM/SIGINT (or let --exit-with-parent end it with its parent). Example:
  tests/lib/fault-proxy.py --upstream "$S3_ENDPOINT" --port-file "$tmp/port" --exit-with-parent \\
      --fault 'GET ^/test-bucket/clip.mp4 reset:65536 2' & pid=$!
  trap 'kill "$pid"' EXIT
  while [ ! -s "$tmp/port" ]; do sleep 0.1; done
  S3_ENDPOINT="http://127.0.0.1:$(cat "$tmp/port")" s3src-helper get s3://test-bucket/clip.mp4 out
"""

import argparse
import json
import os
import re
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

CONTROL_PREFIX = "/__fault-proxy__/"
MAX_HEADER_BYTES = 64 * 1024
CHUNK = 64 * 1024
MAX_KEPT_BODY = 64 * 1024 * 1024  # bodies of 200 GETs kept for stale206


def entity_bomb():
    """The issue's quadratic-entity listing: 50 kB entity, 20,000 references, ~110 kB."""
    refs = "&e;" * 20000
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<!DOCTYPE ListBucketResult [<!ENTITY e "{"x" * 50000}">]>\n'
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            '<Name>b</Name><IsTruncated>false</IsTruncated>'
            f'<Contents><Key>{refs}</Key><Size>1</Size></Contents>'
            '</ListBucketResult>').encode()


class Rule:
    def __init__(self, method, path, action, count=1):
        self.method = (method or "*").upper()
        self.path_text = path or ""
        self.path = re.compile(self.path_text)
        self.action = str(action)
        self.count = int(count)
        kind, _, arg = self.action.partition(":")
        if kind not in ("503", "500", "status", "reset", "close", "stall", "delay", "drop",
                        "trickle", "huge", "bomb", "range-start", "range-total", "stale206",
                        "truncate"):
            raise ValueError(f"unknown fault action '{self.action}'")
        if kind in ("status", "reset", "close", "delay", "trickle", "huge", "range-start",
                    "range-total", "truncate") and not arg.isdigit():
            raise ValueError(f"fault action '{self.action}' needs a number after ':'")
        self.kind = kind
        self.arg = int(arg) if arg else 0

    def matches(self, method, target):
        if self.count == 0:
            return False
        if self.method != "*" and self.method != method:
            return False
        return self.path.search(target) is not None

    def as_json(self):
        return {"method": self.method, "path": self.path_text, "action": self.action,
                "count": self.count}


def parse_rule_text(text):
    parts = text.split()
    if len(parts) not in (3, 4):
        raise ValueError(f"a fault is 'METHOD REGEX ACTION [COUNT]', not '{text}'")
    return Rule(parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else 1)


def parse_rules_json(data):
    doc = json.loads(data) if isinstance(data, (str, bytes)) else data
    rules = doc.get("rules", []) if isinstance(doc, dict) else doc
    return [Rule(r.get("method", "*"), r.get("path", ""), r["action"], r.get("count", 1))
            for r in rules]


class State:
    """Rules and counters shared by all connection threads."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.rules = [parse_rule_text(t) for t in args.fault]
        self.control_file = args.control_file
        self.control_mtime = None
        self.stats_file = args.stats_file
        self.log_size = args.log_size
        self.verbose = args.verbose
        self.bodies = {}  # path -> body of the last complete 200 GET (for stale206)
        self.reset_counters()

    def reset_counters(self):
        self.requests = 0
        self.connections = 0
        self.by_method = {}
        self.faults = 0
        self.log = []

    def reload_control_file(self):
        if not self.control_file:
            return
        try:
            mtime = os.stat(self.control_file).st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self.control_mtime:
            return
        try:
            with open(self.control_file, "rb") as f:
                rules = parse_rules_json(f.read())
        except (ValueError, KeyError, re.error) as e:
            print(f"fault-proxy: ignoring bad control file {self.control_file}: {e}",
                  file=sys.stderr)
            self.control_mtime = mtime
            return
        self.control_mtime = mtime
        self.rules = rules

    def take_fault(self, method, target):
        """Counts the request and returns the rule to apply to it, if any."""
        with self.lock:
            self.reload_control_file()
            self.requests += 1
            self.by_method[method] = self.by_method.get(method, 0) + 1
            for rule in self.rules:
                if rule.matches(method, target):
                    if rule.count > 0:
                        rule.count -= 1
                    self.faults += 1
                    return Rule(rule.method, rule.path_text, rule.action, 1)
            return None

    def record(self, method, target, status, note=""):
        with self.lock:
            line = f"{method} {target} {status}{(' ' + note) if note else ''}"
            self.log.append(line)
            del self.log[:-self.log_size]
            if self.verbose:
                print(f"fault-proxy: {line}", file=sys.stderr, flush=True)
            self.write_stats_locked()

    def stats_locked(self):
        return {"requests": self.requests, "connections": self.connections,
                "by_method": dict(self.by_method),
                "faults": self.faults, "log": list(self.log),
                "rules": [r.as_json() for r in self.rules]}

    def write_stats_locked(self):
        if not self.stats_file:
            return
        tmp = f"{self.stats_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(self.stats_locked(), f)
        os.replace(tmp, self.stats_file)


class ClientGone(Exception):
    pass


def read_head(sock, buf):
    """Reads up to the end of an HTTP header block; returns (head bytes, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_HEADER_BYTES:
            raise ValueError("header block too large")
        data = sock.recv(CHUNK)
        if not data:
            if buf:
                raise ClientGone("connection closed inside a header block")
            raise ClientGone("connection closed")
        buf += data
    end = buf.index(b"\r\n\r\n") + 4
    return buf[:end], buf[end:]


def parse_headers(head):
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0]
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return first, headers


def header(headers, name):
    name = name.lower()
    for n, v in headers:
        if n.lower() == name:
            return v
    return None


def build_head(first, headers):
    return (first + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n").encode(
        "latin-1")


def relay_body(src, rest, length, chunked, out, limit=None):
    """Copies a message body from src (with rest already read) to out (a callable).

    Returns the bytes left over after the body (pipelined data). With limit, stops after that
    many body bytes have been sent and returns None."""
    sent = 0

    def emit(data):
        nonlocal sent
        if limit is not None and sent + len(data) >= limit:
            out(data[:limit - sent])
            sent = limit
            return False
        out(data)
        sent += len(data)
        return True

    buf = rest
    if chunked:
        # Forward the chunked encoding verbatim, parsing only enough to find its end.
        while True:
            while b"\r\n" not in buf:
                data = src.recv(CHUNK)
                if not data:
                    raise ClientGone("closed inside a chunked body")
                buf += data
            line_end = buf.index(b"\r\n") + 2
            size = int(buf[:line_end].split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # Trailers end with an empty line.
                while b"\r\n\r\n" not in buf[line_end - 2:]:
                    data = src.recv(CHUNK)
                    if not data:
                        raise ClientGone("closed inside chunked trailers")
                    buf += data
                end = buf.index(b"\r\n\r\n", line_end - 2) + 4
                if not emit(buf[:end]):
                    return None
                return buf[end:]
            need = line_end + size + 2
            while len(buf) < need:
                data = src.recv(CHUNK)
                if not data:
                    raise ClientGone("closed inside a chunk")
                buf += data
            if not emit(buf[:need]):
                return None
            buf = buf[need:]
    if length is None:
        # Until the connection closes.
        if buf and not emit(buf):
            return None
        while True:
            data = src.recv(CHUNK)
            if not data:
                return b""
            if not emit(data):
                return None
    remaining = length
    take = buf[:remaining]
    if take and not emit(take):
        return None
    remaining -= len(take)
    leftover = buf[len(take):]
    while remaining > 0:
        data = src.recv(min(CHUNK, remaining))
        if not data:
            raise ClientGone("closed inside a body")
        if not emit(data):
            return None
        remaining -= len(data)
    return leftover


def rewrite_content_range(head, kind, n):
    """Moves the start (range-start) or the total (range-total) of a Content-Range by n."""
    first, headers = parse_headers(head)
    out = []
    for name, value in headers:
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", value) \
            if name.lower() == "content-range" else None
        if m:
            start, end, total = int(m.group(1)), int(m.group(2)), m.group(3)
            if kind == "range-start":
                value = f"bytes {min(start + n, end)}-{end}/{total}"
            elif total != "*":
                value = f"bytes {start}-{end}/{int(total) + n}"
        out.append((name, value))
    return build_head(first, out)


def s3_error_body(code, message, target):
    resource = urllib.parse.urlsplit(target).path
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message><Resource>{resource}</Resource>"
            f"<RequestId>fault-proxy</RequestId></Error>").encode()


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.state.lock:
            self.server.state.connections += 1
        self.upstream = None
        self.up_buf = b""

    def finish(self):
        self.close_upstream()

    def close_upstream(self):
        if self.upstream is not None:
            try:
                self.upstream.close()
            except OSError:
                pass
        self.upstream = None
        self.up_buf = b""

    def connect_upstream(self):
        if self.upstream is None:
            host, port = self.server.upstream
            self.upstream = socket.create_connection((host, port), timeout=None)
            self.upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.up_buf = b""

    def handle(self):
        state = self.server.state
        buf = b""
        client = self.request
        try:
            while True:
                head, buf = read_head(client, buf)
                first, headers = parse_headers(head)
                try:
                    method, target, version = first.split(" ", 2)
                except ValueError:
                    return
                if target.startswith(CONTROL_PREFIX):
                    buf = self.control(method, target, headers, buf)
                    continue
                length = header(headers, "content-length")
                chunked = "chunked" in (header(headers, "transfer-encoding") or "").lower()
                length = int(length) if length is not None else (None if chunked else 0)
                close_after = (header(headers, "connection") or "").lower() == "close" or \
                    version == "HTTP/1.0"
                rule = state.take_fault(method, target)
                expects = header(headers, "expect") is not None
                if expects:
                    # Answer 100 ourselves: the proxy reads the body before the upstream sees it.
                    headers = [(n, v) for n, v in headers if n.lower() != "expect"]
                    if rule is None or rule.kind in ("reset", "close", "delay", "drop", "trickle",
                                                     "truncate", "range-start", "range-total"):
                        client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                if rule is not None and rule.kind in ("503", "500", "status", "stall"):
                    if rule.kind == "stall":
                        state.record(method, target, "-", "stall")
                        self.stall()
                        return
                    # Drain the request body so the connection stays usable; a client waiting
                    # for 100 Continue sends no body, so answer at once and close instead.
                    if expects:
                        close_after = True
                    else:
                        buf = relay_body(client, buf, length, chunked, lambda _d: None)
                    code, name, text = {
                        "503": (503, "SlowDown", "Please reduce your request rate."),
                        "500": (500, "InternalError", "We encountered an internal error."),
                    }.get(rule.kind, (rule.arg, "InjectedFault", "Fault injected by the proxy."))
                    body = s3_error_body(name, text, target) if method != "HEAD" else b""
                    length_value = len(s3_error_body(name, text, target))
                    reply = (f"HTTP/1.1 {code} {name}\r\nContent-Type: application/xml\r\n"
                             f"Content-Length: {length_value}\r\nx-amz-request-id: fault-proxy\r\n"
                             f"\r\n").encode() + body
                    client.sendall(reply)
                    state.record(method, target, code, "injected")
                    if close_after:
                        return
                    continue
                if rule is not None and rule.kind in ("huge", "bomb", "stale206"):
                    if not expects:
                        buf = relay_body(client, buf, length, chunked, lambda _d: None)
                    if not self.synthesize(method, target, rule) or expects or close_after:
                        return
                    continue
                if rule is not None and rule.kind == "delay":
                    time.sleep(rule.arg / 1000.0)
                buf = self.forward(method, target, headers, first, buf, length, chunked, rule)
                if buf is None or close_after:
                    return
        except (ClientGone, ConnectionError, BrokenPipeError, ValueError, OSError):
            return

    def stall(self):
        client = self.request
        client.settimeout(self.server.stall_seconds)
        try:
            while client.recv(CHUNK):
                pass
        except (OSError, socket.timeout):
            pass

    def synthesize(self, method, target, rule):
        """Answers a hostile reply made up by the proxy; returns False to close the connection."""
        state = self.server.state
        client = self.request
        if rule.kind == "bomb":
            body = entity_bomb()
            client.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
                           f"Content-Length: {len(body)}\r\n\r\n".encode()
                           + (b"" if method == "HEAD" else body))
            state.record(method, target, 200, "entity bomb")
            return True
        if rule.kind == "stale206":
            path = urllib.parse.urlsplit(target).path
            with state.lock:
                body = state.bodies.get(path)
            if body is None:
                client.sendall(b"HTTP/1.1 500 No Body Kept\r\nContent-Length: 0\r\n\r\n")
                state.record(method, target, 500, "stale206: no earlier 200 GET of this path")
                return True
            client.sendall(f"HTTP/1.1 206 Partial Content\r\nContent-Type: "
                           f"application/octet-stream\r\nContent-Range: bytes 0-{len(body) - 1}/"
                           f"{len(body)}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                           + (b"" if method == "HEAD" else body))
            state.record(method, target, 206, "stale206: the object from byte 0")
            return True
        # huge: an endless chunked body, as fast as the client takes it.
        code = rule.arg
        ok = 200 <= code < 300
        state.record(method, target, code, "huge body")
        client.sendall(f"HTTP/1.1 {code} Huge\r\nContent-Type: application/xml\r\n"
                       f"Transfer-Encoding: chunked\r\n\r\n".encode())
        if method == "HEAD":
            return False
        start = (b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>false'
                 b'</IsTruncated>' if ok else b"<Error><Code>SlowDown</Code><Message>")
        filler = (b"<Contents><Key>" + b"k" * 200 + b"</Key><Size>1</Size></Contents>") * 300 \
            if ok else b"x" * 65536
        try:
            client.sendall(b"%x\r\n%s\r\n" % (len(start), start))
            while True:
                client.sendall(b"%x\r\n%s\r\n" % (len(filler), filler))
        except OSError:
            pass
        return False

    def forward(self, method, target, headers, first, buf, length, chunked, rule):
        """Relays one request and its response; returns leftover client bytes or None to close."""
        state = self.server.state
        client = self.request
        bodiless = length == 0 and not chunked
        body_taken = False
        for attempt in range(2):
            reused = self.upstream is not None
            try:
                self.connect_upstream()
                self.upstream.sendall(build_head(first, headers))
                if not body_taken:
                    body_taken = True
                    buf = relay_body(client, buf, length, chunked, self.upstream.sendall)
                up_head, self.up_buf = read_head(self.upstream, self.up_buf)
                break
            except (OSError, ClientGone):
                # A kept-alive upstream connection the server closed meanwhile: the request can
                # go again on a new one, unseen by the client, unless its body is spent.
                self.close_upstream()
                if attempt == 1 or not reused or (body_taken and not bodiless):
                    raise

        while True:
            status_line, up_headers = parse_headers(up_head)
            status = int(status_line.split(" ", 2)[1])
            if not 100 <= status < 200:
                break
            # Interim replies were already answered by the proxy: wait for the final one.
            up_head, self.up_buf = read_head(self.upstream, self.up_buf)
        up_length = header(up_headers, "content-length")
        up_chunked = "chunked" in (header(up_headers, "transfer-encoding") or "").lower()
        if method == "HEAD" or status in (204, 304):
            up_length, up_chunked = 0, False
        else:
            up_length = int(up_length) if up_length is not None else (None if up_chunked else None)
        if rule is not None and rule.kind == "drop":
            # The server did the work; the client never hears about it.
            relay_body(self.upstream, self.up_buf, up_length, up_chunked, lambda _d: None)
            state.record(method, target, status, "drop: reply discarded, connection reset")
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_upstream()
            return None
        kind = rule.kind if rule is not None else None
        if kind in ("range-start", "range-total"):
            up_head = rewrite_content_range(up_head, kind, rule.arg)
        if kind == "truncate" and up_length is not None and not up_chunked:
            up_head = build_head(status_line, [(n, str(min(rule.arg, up_length)))
                                               if n.lower() == "content-length" else (n, v)
                                               for n, v in up_headers])
        out = client.sendall
        if kind == "trickle":
            def out(data, rate=max(rule.arg, 1)):
                for i in range(len(data)):
                    client.sendall(data[i:i + 1])
                    time.sleep(1.0 / rate)
        out(up_head)
        whole = status == 200 or re.fullmatch(
            r"bytes 0-(\d+)/(\d+)", header(up_headers, "content-range") or "") is not None and \
            int(header(up_headers, "content-range").split("/")[1]) == up_length
        kept = [] if (method == "GET" and whole and rule is None and up_length is not None
                      and up_length <= MAX_KEPT_BODY) else None

        def send(data):
            out(data)
            if kept is not None:
                kept.append(data)
        limit = rule.arg if kind in ("reset", "close", "truncate") else None
        leftover = relay_body(self.upstream, self.up_buf, up_length, up_chunked, send, limit)
        if kept is not None and leftover is not None:
            with state.lock:
                state.bodies[urllib.parse.urlsplit(target).path] = b"".join(kept)
        if leftover is None:
            note = f"{rule.kind} after {rule.arg} body bytes"
            state.record(method, target, status, note)
            if rule.kind == "reset":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_upstream()
            return None
        self.up_buf = leftover
        state.record(method, target, status, kind or "")
        if kind in ("truncate", "trickle"):
            self.close_upstream()
            return None
        if up_length is None and not up_chunked:
            self.close_upstream()
            return None
        if (header(up_headers, "connection") or "").lower() == "close":
            self.close_upstream()
        return buf

    def control(self, method, target, headers, buf):
        state = self.server.state
        length = int(header(headers, "content-length") or 0)
        chunks = []
        buf = relay_body(self.request, buf, length, False, chunks.append)
        body = b"".join(chunks)
        what = target[len(CONTROL_PREFIX):].split("?")[0]
        status, reply = 200, b""
        try:
            with state.lock:
                if what == "stats" and method == "GET":
                    reply = json.dumps(state.stats_locked()).encode()
                elif what == "rules" and method in ("POST", "PUT"):
                    state.rules = parse_rules_json(body)
                    reply = json.dumps({"rules": [r.as_json() for r in state.rules]}).encode()
                elif what == "reset" and method == "POST":
                    state.rules = []
                    state.reset_counters()
                    state.write_stats_locked()
                    reply = b"{}"
                else:
                    status, reply = 404, b'{"error": "unknown control request"}'
        except (ValueError, KeyError, re.error) as e:
            status, reply = 400, json.dumps({"error": str(e)}).encode()
        self.request.sendall(
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(reply)}\r\n\r\n".encode()
            + reply)
        return buf


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(
        prog="fault-proxy.py",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True,
                        help="the server to forward to, e.g. http://127.0.0.1:7480")
    parser.add_argument("--port", type=int, default=0,
                        help="port to listen on (default: a free one)")
    parser.add_argument("--port-file", help="write the listening port to this file")
    parser.add_argument("--fault", action="append", default=[], metavar="'METHOD REGEX ACTION [N]'",
                        help="a fault rule (repeatable; first matching rule wins)")
    parser.add_argument("--control-file", help="JSON rules file re-read when it changes")
    parser.add_argument("--stats-file", help="write the JSON counters here after each request")
    parser.add_argument("--stall-seconds", type=float, default=3600.0,
                        help="how long a stalled connection is held open (default 3600)")
    parser.add_argument("--log-size", type=int, default=1000,
                        help="request lines kept in the counters' log (default 1000)")
    parser.add_argument("--verbose", action="store_true", help="print each request on stderr")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="exit when the process that started the proxy exits (so a test "
                             "that crashes leaves no proxy behind holding its output open)")
    args = parser.parse_args()

    up = urllib.parse.urlsplit(args.upstream)
    if up.scheme != "http" or not up.hostname:
        parser.error(f"--upstream must be an http:// URL, not '{args.upstream}'")
    try:
        state = State(args)
    except (ValueError, re.error) as e:
        parser.error(str(e))

    server = Server(("127.0.0.1", args.port), Handler)
    server.upstream = (up.hostname, up.port or 80)
    server.state = state
    server.stall_seconds = args.stall_seconds
    port = server.server_address[1]
    if args.port_file:
        tmp = f"{args.port_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    with state.lock:
        state.write_stats_locked()

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_with_parent:
        parent = os.getppid()

        def watch_parent():
            while os.getppid() == parent:
                time.sleep(0.5)
            server.shutdown()

        threading.Thread(target=watch_parent, daemon=True).start()
    if args.verbose:
        print(f"fault-proxy: listening on 127.0.0.1:{port} -> {args.upstream}", file=sys.stderr)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
