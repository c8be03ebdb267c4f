#!/usr/bin/python3
"""A TCP proxy in front of a test registry that drops connections: the first
GET of each blob is cut after CUT bytes of response, to test resume/retry.
usage: flaky_proxy.py LISTEN_PORT UPSTREAM_PORT CUT   (127.0.0.1 only)
Every request is sent upstream with "Connection: close" so one request maps to
one upstream connection. Prints one line per cut to stdout."""
import socket, sys, threading

listen, upstream, cut = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
seen, lock = set(), threading.Lock()

def handle(c):
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(65536)
            if not d:
                return
            head += d
        hdr, rest = head.split(b"\r\n\r\n", 1)
        lines = [l for l in hdr.split(b"\r\n") if not l.lower().startswith(b"connection:")]
        path = lines[0].split(b" ")[1]
        lines.append(b"Connection: close")
        u = socket.create_connection(("127.0.0.1", upstream))
        u.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + rest)
        limit = None
        with lock:
            if b"/blobs/" in path and lines[0].startswith(b"GET") and path not in seen:
                seen.add(path)
                limit = cut
        sent = 0
        while True:
            d = u.recv(65536)
            if not d:
                break
            if limit is not None and sent + len(d) >= limit:
                c.sendall(d[: limit - sent])
                print("cut", path.decode(), flush=True)
                c.shutdown(socket.SHUT_RDWR)
                break
            c.sendall(d)
            sent += len(d)
        u.close()
    except OSError:
        pass
    finally:
        c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", listen))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
