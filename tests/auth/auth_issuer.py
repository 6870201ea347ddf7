"""A local OpenID Connect issuer for the tests and the demo: keys made here
(RSA and P-256), a discovery document and a JWKS served on 127.0.0.1 (a free
port), tokens minted with PyJWT, an implementation independent of ours. The
key set can be rotated while it runs, and fetches are counted.

DEVELOPMENT AND TESTS ONLY: `/token` mints a token for anyone who asks, which
is what the demo's "sign in" needs and what a real issuer must never do.

- `GET /.well-known/openid-configuration` -> `{"issuer", "jwks_uri"}`
- `GET /jwks.json`
- `GET /token?sub=alice&movies=1,2&lifetime=3600[&kid=rsa-1]` -> `{"token", "expires"}`
  (ES256 unless `kid` names another published key)

The tests import `LocalIssuer`; `local-stack --auth jwt` runs this file:

    .venv/bin/python tests/auth/auth_issuer.py [--port 0] [--audience A] [--exit-with-stdin]

which prints one JSON line `{"issuer", "jwks_uri", "token_url", "audience"}`
once it serves, and runs until SIGTERM or Ctrl-C (or, with
`--exit-with-stdin`, until its stdin closes: its parent is gone).
"""
import argparse
import http.server
import json
import sys
import threading
import time
import urllib.parse

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUDIENCE = "signed-hls-tests"
# The key /token signs with unless asked otherwise.
TOKEN_KID = "ec-1"


class LocalIssuer:
    def __init__(self, audience=AUDIENCE, port=0):
        self.audience = audience
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
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    issuer.fetches["discovery"] += 1
                    body = {"issuer": issuer.url, "jwks_uri": issuer.jwks_url}
                elif url.path == "/jwks.json":
                    issuer.fetches["jwks"] += 1
                    body = issuer.jwks()
                elif url.path == "/token":
                    body = issuer.token_response(urllib.parse.parse_qs(url.query))
                    if body is None:
                        self.send_error(400, "unknown kid")
                        return
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                # The demo page asks for tokens from the edge's origin.
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.jwks_url = f"{self.url}/jwks.json"
        self.token_url = f"{self.url}/token"
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
        items = ["AUTH_MODE=jwt", f"JWT_ISSUER={self.url}", f"JWT_AUDIENCE={self.audience}",
                 "JWT_JWKS_MIN_REFRESH_SECONDS=0"]
        if not discovery:
            items.append(f"JWT_JWKS_URL={self.jwks_url}")
        return items

    def token(self, kid="rsa-1", lifetime=600, **claims):
        """A token signed with `kid`; claims override the defaults (None removes one)."""
        now = int(time.time())
        body = {"iss": self.url, "aud": self.audience, "sub": "viewer-42", "movies": ["1"], "iat": now,
                "exp": now + lifetime}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        key = self.keys[kid]
        alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})

    def token_response(self, query):
        """`/token`: {"token", "expires"} for the query's sub, movies and
        lifetime (seconds, 1 to 86400, default 3600); None for an unknown kid."""
        def first(name, default):
            return query.get(name, [default])[0]

        kid = first("kid", TOKEN_KID)
        if kid not in self.published:
            return None
        movies = [m for m in first("movies", "").replace(" ", ",").split(",") if m]
        try:
            lifetime = min(max(int(first("lifetime", "3600")), 1), 86400)
        except ValueError:
            lifetime = 3600
        expires = int(time.time()) + lifetime
        return {"token": self.token(kid=kid, exp=expires, sub=first("sub", "viewer"), movies=movies),
                "expires": expires}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--audience", default=AUDIENCE, help="the tokens' aud")
    parser.add_argument("--exit-with-stdin", action="store_true", help="stop when stdin closes (run by a parent)")
    args = parser.parse_args()
    issuer = LocalIssuer(audience=args.audience, port=args.port)
    print(json.dumps({"issuer": issuer.url, "jwks_uri": issuer.jwks_url, "token_url": issuer.token_url,
                      "audience": issuer.audience}), flush=True)
    try:
        if args.exit_with_stdin:
            sys.stdin.buffer.read()
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    issuer.close()


if __name__ == "__main__":
    main()
