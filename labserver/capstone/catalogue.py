"""The capstone's catalogue: every flaw a black-box target can carry, as data.

Each :class:`Flaw` says where it can sit (``places``: endpoints of the capstone app), which
academy lab it anchors to, three hints of increasing detail, how the endpoint behaves with it,
and what a working exploit is (``exploit``: ``"token"``, an admin token the endpoint accepts, or
``"session"``/``"fixation"``, a request that opens the victim's session; ``"refresh"``, a
refresh request that gives the victim's token; ``"stolen"``, the victim's own token, read where
it leaked). The HTTP behaviour is
in :mod:`labserver.chapters.capstone`, keyed by the same ``id``; a test checks the two agree.

A new attack becomes a capstone flaw with one entry here, one behaviour there and one probe in
``solutions/ex23_find_the_flaws_in_a_black_box.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The endpoints a flaw can sit on, in the order the target's index lists them.
PLACES = (
    "/login",
    "/token",
    "/token/refresh",
    "/api/profile",
    "/api/orders",
    "/api/admin/report",
)
#: The endpoints that verify bearer tokens (each with its own verifier).
BEARER_PLACES = ("/api/profile", "/api/orders", "/api/admin/report")


@dataclass(frozen=True)
class Flaw:
    """One flaw of the catalogue."""

    id: str
    title: str
    anchor: str  # the academy lab it corresponds to
    places: tuple[str, ...]
    behaviour: str  # how the endpoint behaves with the flaw
    hints: tuple[str, str, str]  # vague, then the idea and tool, then nearly the recipe
    exploit: str = "token"  # "token", "session", "fixation", "refresh" or "stolen" (see above)


CATALOGUE: tuple[Flaw, ...] = (
    Flaw(
        "no-verify",
        "signature not verified",
        "PortSwigger: JWT authentication bypass via unverified signature",
        BEARER_PLACES,
        "reads the claims and checks iss, aud and exp, but never the signature",
        (
            "Some endpoint may read a token more than it checks it.",
            "Edit a claim of your own genuine token and keep its old signature "
            "(labserver.forge.tamper).",
            "tamper(your_token, roles=['admin']) is accepted: the signature is never checked.",
        ),
    ),
    Flaw(
        "alg-none",
        "alg: none accepted",
        "PortSwigger: JWT authentication bypass via flawed signature verification; "
        "Juice Shop: Unsigned JWT",
        BEARER_PLACES,
        "verifies signed tokens properly, and takes an unsigned one (alg none) at its word",
        (
            "Some endpoint may let a token decide how much checking it needs.",
            "The header's alg is the attacker's text: try a token with alg 'none' and no "
            "signature (labserver.forge.encode_unsigned).",
            "encode_unsigned({'alg': 'none', 'typ': 'at+jwt'}, claims with roles ['admin']) is "
            "accepted.",
        ),
    ),
    Flaw(
        "weak-secret",
        "weak HMAC secret",
        "PortSwigger: JWT authentication bypass via weak signing key; WebGoat: JWT cracking",
        ("/token",),
        "signs HS256 tokens with a word from a word list (every API endpoint verifies them)",
        (
            "Not every token this server issues is signed by a key pair.",
            "Ask the token endpoint for an HS256 token and try the course's word list on it "
            "offline (crack_hs256 and words from labserver.experiments.attacks).",
            "crack_hs256(hs256_token, words()) finds the secret; sign admin claims with it "
            "(hs256_with_key_bytes, the same kid).",
        ),
    ),
    Flaw(
        "jwk-header",
        "key in the jwk header",
        "PortSwigger: JWT authentication bypass via jwk header injection",
        BEARER_PLACES,
        "verifies with the key a token brings in its own jwk header, if it brings one",
        (
            "Some endpoint may let a token choose the key it is checked with.",
            "A token's header can carry a public key (jwk, RFC 7515 section 4.1.3): sign with "
            "your own key and put its public half in the header.",
            "Make an EC key, sign admin claims ES256 with it, headers={'jwk': "
            "ECAlgorithm.to_jwk(key.public_key(), as_dict=True), 'kid': 'mine'}.",
        ),
    ),
    Flaw(
        "jku",
        "key from the jku URL",
        "PortSwigger: JWT authentication bypass via jku header injection",
        BEARER_PLACES,
        "fetches the key set from the token's jku URL (URLs of this server only) and verifies "
        "with the key named by kid",
        (
            "Some endpoint may let a token say where to find its key.",
            "A header's jku names a key-set URL (RFC 7515 section 4.1.2). This server lets any "
            "user host a JSON file (POST /api/files).",
            "Host {'keys': [your EC public JWK with kid 'mine']} via POST /api/files, then sign "
            "admin claims ES256 with headers={'jku': that URL, 'kid': 'mine'}.",
        ),
    ),
    Flaw(
        "kid-path",
        "kid as a file path",
        "PortSwigger: JWT authentication bypass via kid header path traversal",
        BEARER_PLACES,
        "reads an HS256 key from the file keys/<kid> of its folder, without checking the path",
        (
            "A kid is a name. Some endpoint may take it for more than a name.",
            "The HS256 keys live in files named by kid in a keys/ folder next to the pages/ "
            "folder this server serves: a file whose bytes you know is a key you know.",
            "kid '../pages/help.txt', and HS256 with the bytes of GET /pages/help.txt as the "
            "key (hs256_with_key_bytes).",
        ),
    ),
    Flaw(
        "alg-confusion",
        "algorithm confusion",
        "PortSwigger: JWT authentication bypass via algorithm confusion",
        BEARER_PLACES,
        "verifies an HS256 token whose kid names the RSA key with that key's public PEM as the "
        "HMAC secret",
        (
            "Some endpoint may use one key in more than one way.",
            "The RSA public key is public (the JWKS). HMAC needs a secret: what if the public "
            "key's PEM were taken as one?",
            "PEM of the JWKS's RS256 key (SubjectPublicKeyInfo), then hs256_with_key_bytes("
            "{'kid': 'rs256-1'}, admin claims, pem).",
        ),
    ),
    Flaw(
        "kid-sql",
        "kid SQL injection",
        "WebGoat: JWT kid header (the final challenge: SQL injection)",
        BEARER_PLACES,
        "finds an HS256 token's secret with SQL built by pasting in its kid "
        "(SELECT secret FROM keys WHERE kid = '<kid>')",
        (
            "A kid is a name to look up. Some endpoint may look it up carelessly.",
            "This server keeps its HMAC secrets in an SQL key table (labserver.key_table). If "
            "the kid is pasted into the query's text, the token writes the end of the query.",
            "kid \"x' UNION SELECT 'known-secret' --\", and HS256 with b'known-secret' as the "
            "key (hs256_with_key_bytes).",
        ),
    ),
    Flaw(
        "x5c",
        "x5c chain never anchored",
        "PortSwigger: JWT attacks topic, x5c header injection",
        BEARER_PLACES,
        "verifies with the key of the token's own x5c certificate once the chain hangs "
        "together, never asking whether its root is one it trusts",
        (
            "Some endpoint may trust a certificate because it looks like one.",
            "A header's x5c carries the signing key's certificate and its chain (RFC 7515 "
            "section 4.1.6). Is the chain's root checked against a trust anchor?",
            "self_made_chain(now) from labserver.x5c gives your own root CA, a leaf and its "
            "key: sign admin claims ES256 with the leaf's key, headers={'x5c': chain}.",
        ),
    ),
    Flaw(
        "unbound-refresh",
        "refresh token not bound to its user",
        "WebGoat: Refreshing a token (the refresh token is not bound to its user)",
        ("/token/refresh",),
        "issues the new access token for the subject of the old access token sent along, not "
        "for the refresh token's owner",
        (
            "A token that has expired may still be worth something somewhere.",
            "The refresh endpoint takes the expired access token a refresh replaces. Whose "
            "token does it issue: the refresh token's owner's, or that access token's subject's? "
            "An expired token of carol's is in one of the shop's pages.",
            "Request('POST', '/token/refresh', json={'refresh_token': your own (POST /token), "
            "'access_token': carol's expired token from GET /pages/incident.txt}) gives a token "
            "of carol's (use a second refresh token for the finding: each is used once).",
        ),
        exploit="refresh",
    ),
    Flaw(
        "token-in-url",
        "token accepted in a URL",
        "PortSwigger: JWT attacks topic, tokens leaking through URLs",
        ("/api/orders",),
        "also takes the access token from the URL's query (?access_token=), which the access "
        "log keeps whole; carol's dashboard sends hers that way every minute",
        (
            "Where does a server write down the URLs it was sent?",
            "Read the access log (GET /logs/access). A client that puts its token in the URL "
            "leaves it there, if the endpoint takes it that way (RFC 6750 section 2.3).",
            "Find carol's line GET /api/orders?access_token=... 200 in GET /logs/access and "
            "replay that token (parse_qs of the URL's query): your exploit is the token.",
        ),
        exploit="stolen",
    ),
    Flaw(
        "predictable-session",
        "predictable session IDs",
        "OWASP WSTG-SESS-01 (session management schema); WebGoat: hijack a session",
        ("/login",),
        "numbers sessions with a counter; carol (an admin, always logged in) has one of them",
        (
            "Log in a few times. Do the session IDs look random?",
            "Consecutive IDs: someone logged in just before you did. The victim is carol, who "
            "logged in when the server started.",
            "Count down from your own sid and send each as the sid cookie to GET /account until "
            "it says carol.",
        ),
        exploit="session",
    ),
    Flaw(
        "session-fixation",
        "session fixation",
        "OWASP WSTG-SESS-03 (session fixation); WebGoat: session fixation",
        ("/login",),
        "keeps the session ID the browser came with at login instead of issuing a new one",
        (
            "Which session ID does a browser have after it logs in?",
            "GET /cart gives an anonymous session before any login. Does the login replace it?",
            "Plant an anonymous sid from /cart: after carol logs in with it in her browser, the "
            "same sid opens her account. Your exploit: Request('GET', '/account', "
            "cookies={'sid': planted}).",
        ),
        exploit="fixation",
    ),
)

FLAWS = {f.id: f for f in CATALOGUE}


def flaw(flaw_id: str) -> Flaw:
    """The catalogue's flaw ``flaw_id``, or ``KeyError`` naming the known ones."""
    try:
        return FLAWS[flaw_id]
    except KeyError:
        raise KeyError(f"no flaw {flaw_id!r}; the catalogue has {', '.join(FLAWS)}") from None
