"""A local OpenID Connect issuer for the tests: keys made here, a JWKS and a
discovery document served on 127.0.0.1 (a free port), tokens minted with
PyJWT. The key set can be rotated while it runs, and fetches are counted."""
import http.server
import json
import threading
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUDIENCE = "signed-hls-tests"


class LocalIssuer:
    def __init__(self):
        self.keys = {
            "rsa-1": rsa.generate_private_key(65537, 2048),
            "rsa-2": rsa.generate_private_key(65537, 2048),
            "ec-1": ec.generate_private_key(ec.SECP256R1()),
        }
        self.published = ["rsa-1", "ec-1"]
        self.fetches = {"jwks": 0, "discovery": 0}
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    issuer.fetches["discovery"] += 1
                    body = {"issuer": issuer.url, "jwks_uri": issuer.jwks_url}
                elif self.path == "/jwks.json":
                    issuer.fetches["jwks"] += 1
                    body = issuer.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.jwks_url = f"{self.url}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def jwks(self):
        out = []
        for kid in self.published:
            key = self.keys[kid]
            alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
            data = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
            data.update(kid=kid, use="sig", alg=alg)
            out.append(data)
        return {"keys": out}

    def rotate(self, published):
        self.published = list(published)

    def env(self, discovery=False):
        """The function's settings for this issuer."""
        items = ["AUTH_MODE=jwt", f"JWT_ISSUER={self.url}", f"JWT_AUDIENCE={AUDIENCE}",
                 "JWT_JWKS_MIN_REFRESH_SECONDS=0"]
        if not discovery:
            items.append(f"JWT_JWKS_URL={self.jwks_url}")
        return items

    def token(self, kid="rsa-1", lifetime=600, **claims):
        """A token signed with `kid`; claims override the defaults (None removes one)."""
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "sub": "viewer-42", "movies": ["1"], "iat": now,
                "exp": now + lifetime}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        key = self.keys[kid]
        alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})

    def close(self):
        self.server.shutdown()
        self.server.server_close()
