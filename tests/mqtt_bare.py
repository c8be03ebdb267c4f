"""A bare MQTT 3.1.1 client over TLS (python's ssl), for the tests and
benches that must speak to the broker without the link: ACL probes, the
broker's $SYS counters. Only what they need: CONNECT, PUBLISH, SUBSCRIBE,
reading one packet, DISCONNECT."""
import socket
import ssl


def connect(pki, who, port, cid):
    """A session on 127.0.0.1:PORT with WHO's certificate of PKI; CONNACK read."""
    ctx = ssl.create_default_context(cafile=pki + "/ca.crt")
    ctx.load_cert_chain(pki + "/" + who + ".crt", pki + "/" + who + ".key")
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))), server_hostname="127.0.0.1")
    s.settimeout(5)
    s.sendall(pkt(0x10, b"\x00\x04MQTT\x04\x02\x00\x1e" + len(cid).to_bytes(2, "big") + cid))
    kind, _ = read(s)
    if kind != 0x20:
        raise SystemExit("no CONNACK")
    return s


def pkt(kind, body):
    """A packet: its type byte, the remaining length (varint), BODY."""
    n, rl = len(body), b""
    while True:
        d, n = n % 128, n // 128
        rl += bytes([d | (0x80 if n else 0)])
        if not n:
            return bytes([kind]) + rl + body


def read(s):
    """One packet from S: (type byte, body)."""
    h = s.recv(1)
    if not h:
        raise SystemExit("the broker hung up")
    mult, n = 1, 0
    while True:
        b = s.recv(1)[0]
        n += (b & 127) * mult
        mult *= 128
        if not b & 128:
            break
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    return h[0], body


def publish(s, topic, payload, retain=False):
    t = topic.encode()
    s.sendall(pkt(0x31 if retain else 0x30, len(t).to_bytes(2, "big") + t + payload))


def subscribe(s, topic):
    t = topic.encode()
    s.sendall(pkt(0x82, b"\x00\x01" + len(t).to_bytes(2, "big") + t + b"\x00"))


def disconnect(s):
    s.sendall(pkt(0xE0, b""))
    s.close()
