#!/usr/bin/python3
"""A registry token server for tests: docker distribution's token auth, for real.
usage: token_server.py PORT KEY.pem CERT.pem USER:PASS
Answers GET /token?service=..&scope=repository:NAME:pull with an ES256 JWT whose
x5c header carries CERT (the registry trusts it through rootcertbundle), after
checking HTTP Basic credentials. Binds 127.0.0.1 only."""
import base64, http.server, json, sys, time, urllib.parse
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

port, keyf, certf, cred = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
key = serialization.load_pem_private_key(open(keyf, "rb").read(), None)
cert = x509.load_pem_x509_certificate(open(certf, "rb").read())
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def token(scope):
    access = []
    if scope:
        typ, name, actions = scope.split(":", 2)
        access.append({"type": typ, "name": name, "actions": actions.split(",")})
    now = int(time.time())
    hdr = {"alg": "ES256", "typ": "JWT", "x5c": [x5c]}
    claims = {"iss": "chuted-test-issuer", "sub": cred.split(":")[0], "aud": "chuted-test",
              "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(now), "access": access}
    si = b64(json.dumps(hdr).encode()) + "." + b64(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(si.encode(), ec.ECDSA(hashes.SHA256())))
    return si + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        auth = self.headers.get("Authorization", "")
        ok = auth == "Basic " + base64.b64encode(cred.encode()).decode()
        if u.path != "/token" or not ok:
            self.send_response(401); self.end_headers(); return
        body = json.dumps({"token": token(q.get("scope", [""])[0])}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
