#!/usr/bin/env python3
"""Writes the viewer-auth fixtures with an independent implementation: PyJWT
(and, for the forgeries PyJWT refuses to make, `hmac` and `base64` by hand).

    .venv/bin/python tests/auth/generate_tokens.py --out layers/viewer-auth/tests/fixtures

Files:
- rsa-1.pem, rsa-2.pem, ec-1.pem, enc-1.pem: TEST-ONLY private keys (never
  trusted anywhere); kept so that regenerating keeps the key ids stable.
- jwks.json: rsa-1, ec-1, enc-1 (use=enc, must be ignored), an Ed25519 key
  (must be skipped) -- the issuer's keys before rotation.
- jwks-rotated.json: rsa-2 and ec-1 -- after rotation (rsa-1 is gone).
- openssl-minted.txt (not written here): a token made by the README's openssl
  recipe, checked by the Rust tests.
- tokens.json: {"now", "issuer", "audience", "secret", "cases": [...]};
  each case: name, kind (jwt | shared), token, jwks (which set), expect
  (ok | an error name), and for ok, movies that must be allowed / refused.

Signatures that are randomised (ES256) change on each run; the Rust test
checks outcomes, not bytes. tests/auth/test_fixtures.py checks that PyJWT
agrees with every expected outcome.
"""
import argparse
import base64
import hashlib
import hmac
import json
import pathlib

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
ISSUER = "https://issuer.test.invalid/"
AUDIENCE = "signed-hls"
SECRET = "test-only-shared-secret-0123456789abcdef"  # 39 bytes, TEST ONLY
LEEWAY = 60
MAX_LIFETIME = 900


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_or_make(out: pathlib.Path, name: str, make):
    path = out / name
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    key = make()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return key


def jwk(key, kid, **extra):
    data = json.loads(jwt.algorithms.get_default_algorithms()[
        "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    ].to_jwk(key.public_key()))
    data.update(kid=kid, **extra)
    return data


def claims(**over):
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "viewer-42", "movies": ["1", "2"],
            "iat": NOW - 10, "exp": NOW + 600}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def manual(header: dict, payload: dict, sign) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def shared(payload: dict, secret: str = SECRET, prefix: str = "v1.") -> str:
    body = b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), (prefix + body).encode(), hashlib.sha256).digest()
    return f"{prefix}{body}.{b64(mac)}"


def build(out: pathlib.Path) -> dict:
    rsa1 = load_or_make(out, "rsa-1.pem", lambda: rsa.generate_private_key(65537, 2048))
    rsa2 = load_or_make(out, "rsa-2.pem", lambda: rsa.generate_private_key(65537, 2048))
    enc1 = load_or_make(out, "enc-1.pem", lambda: rsa.generate_private_key(65537, 2048))
    ec1 = load_or_make(out, "ec-1.pem", lambda: ec.generate_private_key(ec.SECP256R1()))
    ed = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    okp = {"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "use": "sig",
           "x": b64(ed.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))}
    jwks = {"keys": [jwk(rsa1, "rsa-1", use="sig", alg="RS256"), jwk(ec1, "ec-1", use="sig"),
                     jwk(enc1, "enc-1", use="enc"), okp]}
    rotated = {"keys": [jwk(rsa2, "rsa-2", use="sig", alg="RS256"), jwk(ec1, "ec-1", use="sig")]}
    (out / "jwks.json").write_text(json.dumps(jwks, indent=1) + "\n")
    (out / "jwks-rotated.json").write_text(json.dumps(rotated, indent=1) + "\n")

    def rs(payload, kid="rsa-1", key=rsa1, **headers):
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid, **headers} if kid else headers)

    def es(payload, kid="ec-1", key=ec1):
        return jwt.encode(payload, key, algorithm="ES256", headers={"kid": kid})

    pub_pem = rsa1.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    good = rs(claims())
    h, p, s = good.split(".")
    forged_payload = b64(json.dumps(claims(movies=["*"])).encode())
    es_good = es(claims())
    eh, ep, _ = es_good.split(".")
    der_sig = ec1.sign(f"{eh}.{ep}".encode(), ec.ECDSA(hashes.SHA256()))

    ok = {"allow": ["1", "2"], "deny": ["3"]}
    cases = [
        dict(name="rs256 valid", token=good, expect="ok", **ok),
        dict(name="es256 valid", token=es_good, expect="ok", **ok),
        dict(name="star entitles every movie", token=rs(claims(movies=["*"])), expect="ok", allow=["1", "99"], deny=[]),
        dict(name="movies as a space/comma string", token=rs(claims(movies="1 2,7")), expect="ok",
             allow=["1", "2", "7"], deny=["3"]),
        dict(name="aud array containing the audience", token=es(claims(aud=["other", AUDIENCE])), expect="ok", **ok),
        dict(name="no movies claim: valid but entitled to nothing", token=rs(claims(movies=None)), expect="ok",
             allow=[], deny=["1"]),
        dict(name="expired within leeway", token=rs(claims(exp=NOW - 30)), expect="ok", **ok),
        dict(name="no kid, one RSA key fits", token=rs(claims(), kid=None), expect="ok", **ok),
        dict(name="unknown kid, then rotated in", token=rs(claims(), kid="rsa-2", key=rsa2), expect="unknown_key",
             rotated="ok", **ok),
        dict(name="key rotated away", token=good, expect="ok", rotated="unknown_key", **ok),
        dict(name="wrong issuer", token=rs(claims(iss="https://evil.test.invalid/")), expect="issuer"),
        dict(name="issuer without trailing slash", token=rs(claims(iss=ISSUER.rstrip("/"))), expect="issuer"),
        dict(name="wrong audience", token=rs(claims(aud="other")), expect="audience"),
        dict(name="audience missing", token=rs(claims(aud=None)), expect="audience"),
        dict(name="expired", token=rs(claims(exp=NOW - 120)), expect="expired"),
        dict(name="exp missing", token=rs(claims(exp=None)), expect="no_expiry"),
        dict(name="nbf in the future", token=rs(claims(nbf=NOW + 3600)), expect="not_yet_valid"),
        dict(name="iat in the future", token=es(claims(iat=NOW + 3600)), expect="not_yet_valid"),
        dict(name="alg none", token=manual({"alg": "none", "kid": "rsa-1"}, claims(), lambda _: b""),
             expect="algorithm"),
        dict(name="alg none without signature", token=b64(b'{"alg":"none"}') + "." + p + ".", expect="algorithm"),
        dict(name="HS256 keyed with the public key (alg confusion)",
             token=manual({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, claims(),
                          lambda m: hmac.new(pub_pem, m, hashlib.sha256).digest()), expect="algorithm"),
        dict(name="RS384 is not allowed", token=jwt.encode(claims(), rsa1, algorithm="RS384", headers={"kid": "rsa-1"}),
             expect="algorithm"),
        dict(name="alg ES256 on an RSA kid", token=manual({"alg": "ES256", "kid": "rsa-1"}, claims(),
                                                          lambda m: bytes(64)), expect="unknown_key"),
        dict(name="key with use=enc is ignored", token=rs(claims(), kid="enc-1", key=enc1), expect="unknown_key"),
        dict(name="tampered payload", token=f"{h}.{forged_payload}.{s}", expect="bad_signature"),
        dict(name="tampered signature", token=f"{h}.{p}.{s[:-4]}{'AAAA' if s[-4:] != 'AAAA' else 'BBBB'}",
             expect="bad_signature"),
        dict(name="signature from another key", token=rs(claims(), kid="rsa-1", key=rsa2), expect="bad_signature"),
        dict(name="es256 signature in DER form", token=f"{eh}.{ep}.{b64(der_sig)}", expect="bad_signature"),
        dict(name="duplicate alg header", token=manual({"alg": "RS256"}, claims(), lambda _: b"x").replace(
            b64(json.dumps({"alg": "RS256"}).encode()), b64(b'{"alg":"RS256","kid":"rsa-1","alg":"none"}')),
             expect="malformed"),
        dict(name="crit header", token=rs(claims(), crit=["exp"], exp=1), expect="malformed"),
        dict(name="padded base64", token=f"{h}.{p}.{s}==" if len(s) % 4 else f"{h}=.{p}.{s}", expect="malformed"),
        dict(name="garbage", token="not-a-token", expect="malformed"),
        dict(name="two segments", token=f"{h}.{p}", expect="malformed"),
        dict(name="four segments", token=f"{good}.x", expect="malformed"),
        dict(name="oversized", token=rs(claims(pad="x" * 9000)), expect="too_large"),
        # Shared-secret tokens (HMAC-SHA256 over "v1." + payload).
        dict(name="shared valid", kind="shared", token=shared({"sub": "v", "movies": ["1", "2"], "exp": NOW + 300}),
             expect="ok", **ok),
        dict(name="shared star, string claim", kind="shared", token=shared({"movies": "*", "exp": NOW + 300}),
             expect="ok", allow=["1", "5"], deny=[]),
        dict(name="shared expired", kind="shared", token=shared({"movies": ["1"], "exp": NOW - 61}), expect="expired"),
        dict(name="shared nbf in the future", kind="shared",
             token=shared({"movies": ["1"], "nbf": NOW + 120, "exp": NOW + 300}), expect="not_yet_valid"),
        dict(name="shared exp missing", kind="shared", token=shared({"movies": ["1"]}), expect="no_expiry"),
        dict(name="shared lifetime too long", kind="shared",
             token=shared({"movies": ["1"], "exp": NOW + MAX_LIFETIME + LEEWAY + 1}), expect="lifetime"),
        dict(name="shared wrong secret", kind="shared",
             token=shared({"movies": ["1"], "exp": NOW + 300}, secret=SECRET + "x"), expect="bad_signature"),
        dict(name="shared tampered payload", kind="shared",
             token=(lambda t: "v1." + b64(json.dumps({"movies": ["*"], "exp": NOW + 300}).encode()) + "." + t.split(".")[2])(
                 shared({"movies": ["1"], "exp": NOW + 300})), expect="bad_signature"),
        dict(name="shared wrong version", kind="shared", token=shared({"movies": ["1"], "exp": NOW + 300}, prefix="v2."),
             expect="malformed"),
        dict(name="shared given a JWT", kind="shared", token=good, expect="malformed"),
    ]
    for case in cases:
        case.setdefault("kind", "jwt")
    return {"now": NOW, "issuer": ISSUER, "audience": AUDIENCE, "secret": SECRET, "leeway": LEEWAY,
            "max_lifetime": MAX_LIFETIME, "cases": cases}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "layers" / "viewer-auth" / "tests" / "fixtures")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    doc = build(args.out)
    (args.out / "tokens.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(doc['cases'])} cases to {args.out}")


if __name__ == "__main__":
    main()
