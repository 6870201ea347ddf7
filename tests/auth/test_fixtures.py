"""PyJWT, an independent implementation, agrees with every expected outcome
in layers/viewer-auth/tests/fixtures/tokens.json (which the Rust crate is
tested against), so the fixtures cannot drift into testing a bug."""
import base64
import hashlib
import hmac
import json
import pathlib

import jwt
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "layers" / "viewer-auth" / "tests" / "fixtures"
DOC = json.loads((FIXTURES / "tokens.json").read_text())
NOW = DOC["now"]


def keyset(name):
    keys = {}
    for k in json.loads((FIXTURES / name).read_text())["keys"]:
        if k.get("use", "sig") != "sig" or k["kty"] not in ("RSA", "EC"):
            continue
        keys[k["kid"]] = jwt.PyJWK(k)
    return keys


def pyjwt_outcome(token, keys):
    """What PyJWT concludes, in the Rust crate's vocabulary."""
    if len(token) > 8192:
        return "too_large"
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:  # DecodeError, an unsupported crit extension
        return "malformed"
    if header.get("alg") not in ("RS256", "ES256"):
        return "algorithm"
    if "crit" in header:
        return "malformed"
    kid = header.get("kid")
    if kid is None:
        fitting = [k for k in keys.values() if k.algorithm_name == header["alg"]]
        key = fitting[0] if len(fitting) == 1 else None
    else:
        key = keys.get(kid)
    if key is None or key.algorithm_name != header["alg"]:
        return "unknown_key"
    try:
        claims = jwt.decode(
            token, key, algorithms=[header["alg"]],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                     "verify_iss": False},
        )
    except jwt.InvalidSignatureError:
        return "bad_signature"
    except jwt.InvalidTokenError:  # DecodeError, an unsupported crit extension
        return "malformed"
    if claims.get("iss") != DOC["issuer"]:
        return "issuer"
    aud = claims.get("aud")
    if not (aud == DOC["audience"] or (isinstance(aud, list) and DOC["audience"] in aud)):
        return "audience"
    return time_outcome(claims)


def time_outcome(claims):
    if "exp" not in claims:
        return "no_expiry"
    if NOW >= claims["exp"] + DOC["leeway"]:
        return "expired"
    for name in ("nbf", "iat"):
        if name in claims and claims[name] > NOW + DOC["leeway"]:
            return "not_yet_valid"
    return "ok"


def shared_outcome(token):
    if not token.startswith("v1.") or token.count(".") != 2:
        return "malformed"
    _, payload, mac = token.split(".")
    expected = hmac.new(DOC["secret"].encode(), f"v1.{payload}".encode(), hashlib.sha256).digest()
    given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
    if not hmac.compare_digest(expected, given):
        return "bad_signature"
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    outcome = time_outcome(claims)
    if outcome == "ok" and claims["exp"] > NOW + DOC["max_lifetime"] + DOC["leeway"]:
        return "lifetime"
    return outcome


def entitled(claims, movie):
    movies = claims.get("movies", [])
    ids = movies.replace(",", " ").split() if isinstance(movies, str) else [str(m) for m in movies]
    return "*" in ids or movie in ids


# Where the crate is stricter than PyJWT on purpose (both outcomes are stated).
STRICTER = {
    # RFC 7515 gives no meaning to duplicate members; the crate refuses the
    # header, PyJWT keeps the last "alg" (none) and refuses for that.
    "duplicate alg header": "algorithm",
    # RFC 7515 base64url has no padding; PyJWT tolerates it.
    "padded base64": "ok",
}


@pytest.mark.parametrize("case", DOC["cases"], ids=[c["name"] for c in DOC["cases"]])
def test_pyjwt_agrees(case):
    if case["kind"] == "shared":
        assert shared_outcome(case["token"]) == case["expect"]
        return
    expected = STRICTER.get(case["name"], case["expect"])
    assert pyjwt_outcome(case["token"], keyset("jwks.json")) == expected
    if "rotated" in case:
        assert pyjwt_outcome(case["token"], keyset("jwks-rotated.json")) == case["rotated"]
    if case["expect"] == "ok":
        claims = jwt.decode(case["token"], options={"verify_signature": False})
        for movie in case.get("allow", []):
            assert entitled(claims, movie), movie
        for movie in case.get("deny", []):
            assert not entitled(claims, movie), movie


def test_fixtures_cover_the_issue():
    names = " ".join(c["name"] for c in DOC["cases"])
    for needed in ("rs256 valid", "es256 valid", "wrong issuer", "wrong audience", "alg none", "HS256", "expired",
                   "nbf in the future", "unknown kid", "key rotated away", "no movies claim", "star",
                   "tampered payload", "garbage", "oversized"):
        assert needed in names, needed
