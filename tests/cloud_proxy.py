#!/usr/bin/python3
"""A TCP proxy on 127.0.0.1 in front of the test broker, for the cloud link's
tests and bench.
usage: cloud_proxy.py forward LISTEN UPSTREAM STATS
       cloud_proxy.py v311 LISTEN UPSTREAM STATS PKI NAME
forward: bytes as they are (TLS included), counted both ways: the bytes on
  the wire of the clients behind it.
v311: an MQTT 3.1.1-only broker as old ones are: TLS ends here (PKI's
  broker.crt, a client certificate required); a CONNECT for MQTT 5 gets the
  3.1.1 CONNACK "unacceptable protocol version" (0x01) and the connection is
  closed; any other goes on to UPSTREAM over TLS with PKI's NAME.crt.
STATS (JSON, rewritten as bytes pass): {"up": client->broker, "down":
broker->client, "conns": connections, "refused_v5": CONNECTs refused}."""
import json, os, socket, ssl, sys, threading

mode, listen, upstream, stats_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
stats, lock = {"up": 0, "down": 0, "conns": 0, "refused_v5": 0}, threading.Lock()


def count(key, n):
    with lock:
        stats[key] += n
        tmp = stats_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, stats_path)


def pump(src, dst, key):
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            dst.sendall(d)
            count(key, len(d))
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def read_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise OSError("closed")
        b += d
    return b


def read_packet(s):
    """One MQTT control packet: fixed header, remaining length, body."""
    head = read_exact(s, 1)
    mult, length, raw = 1, 0, b""
    while True:
        c = read_exact(s, 1)
        raw += c
        length += (c[0] & 0x7F) * mult
        mult *= 128
        if not c[0] & 0x80:
            break
    return head + raw + read_exact(s, length), head + raw


def handle(c):
    try:
        if mode == "forward":
            u = socket.create_connection(("127.0.0.1", upstream))
            count("conns", 1)
        else:
            c = server_ctx.wrap_socket(c, server_side=True)
            pkt, fixed = read_packet(c)
            body = pkt[len(fixed):]
            level = body[2 + int.from_bytes(body[0:2], "big")]
            if level == 5:
                c.sendall(bytes([0x20, 0x02, 0x00, 0x01]))
                count("refused_v5", 1)
                c.close()
                return
            u = client_ctx.wrap_socket(socket.create_connection(("127.0.0.1", upstream)), server_hostname="127.0.0.1")
            u.sendall(pkt)
            count("conns", 1)
        threading.Thread(target=pump, args=(u, c, "down"), daemon=True).start()
        pump(c, u, "up")
    except (OSError, ssl.SSLError, IndexError):
        c.close()


if mode == "v311":
    pki, name = sys.argv[5], sys.argv[6]
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki + "/broker.crt", pki + "/broker.key")
    server_ctx.load_verify_locations(pki + "/ca.crt")
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(pki + "/ca.crt")
    client_ctx.load_cert_chain(pki + "/" + name + ".crt", pki + "/" + name + ".key")
count("up", 0)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen))
srv.listen(16)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
