"""Chapter 9's three later attacks, each against its one vulnerable endpoint and the hardened lab:
kid SQL injection, a certificate chain in x5c that is never anchored, and a refresh grant not
bound to the refresh token's owner."""

import base64
import json
import sqlite3

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from labserver.access_tokens import TokenRejected, verify_access_token
from labserver.experiments.attacks import KID_SQL_INJECTION, Attacker, hs256_with_key_bytes
from labserver.users import PASSWORDS
from labserver.x5c import self_made_chain
from tests.fuzzing import lab_claims

REFRESH = "/vulnerable/unbound-refresh/token"
SHA256 = hashes.SHA256()


@pytest.fixture
def attacker(vlab):
    return Attacker(vlab)


def _row(vlab, name):
    from labserver.experiments.attacks import ATTACKS

    attack = next(a for a in ATTACKS if getattr(a, "name", getattr(a, "__name__", "")) == name)
    return attack(Attacker(vlab))


# ---- kid SQL injection ------------------------------------------------------------------------


def _kid_sql_token(attacker, kid, secret=b"known-secret", **changes):
    claims = attacker.claims(roles=["admin"], **changes)
    return hs256_with_key_bytes({"typ": "at+jwt", "kid": kid}, claims, secret)


def test_the_injected_kid_makes_the_endpoint_verify_with_the_attacker_s_secret(attacker):
    path = "/vulnerable/kid-sql/me"
    assert attacker.try_token(path, _kid_sql_token(attacker, KID_SQL_INJECTION)) == (
        "accepted: sub 'bob', roles ['admin']"
    )
    # The secret is whatever the query says: another one works as well, if the kid names it.
    other = "x' UNION SELECT 'other-secret' --"
    assert attacker.call(path, _kid_sql_token(attacker, other, b"other-secret"))[0] == 200
    status, body = attacker.call(path, _kid_sql_token(attacker, other, b"known-secret"))
    assert status == 401 and "Signature verification failed" in body["error_description"]


def test_the_hardened_lab_names_the_injected_kid_as_unknown(attacker):
    line = attacker.try_token("/api/me", _kid_sql_token(attacker, KID_SQL_INJECTION))
    assert line.startswith("401 unknown key: kid \"x' UNION SELECT 'known-secret' --\" is not")


def test_a_genuine_kid_sql_token_verifies_there_and_nowhere_else(vlab, attacker):
    token = attacker.token("bob", path="/vulnerable/kid-sql/token")
    assert jwt.get_unverified_header(token)["kid"] == "kid-sql-1"
    assert attacker.try_token("/vulnerable/kid-sql/me", token).startswith("accepted: sub 'bob'")
    assert attacker.try_token("/api/me", token).startswith("401 unknown key")


@pytest.mark.parametrize(
    ("kid", "reason"),
    [
        ("x'", "the key lookup failed: OperationalError: unrecognized token"),
        ("x'; DROP TABLE keys; --", "the key lookup failed: ProgrammingError: You can only"),
        ("x' UNION SELECT randomblob(1000000000) --", "DataError: string or blob too big"),
        (
            "x' UNION SELECT * FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
            "FROM c) SELECT n FROM c) --",
            "OperationalError: interrupted",
        ),
        ("x' UNION SELECT load_extension('x') --", "OperationalError: not authorized"),
        ("x' UNION SELECT NULL --", 'no key "x\' UNION SELECT NULL --" in the key table'),
        ("x' UNION SELECT 1 --", "the key lookup gave a int, not a secret"),
        ("x' UNION SELECT '' --", "HMAC key must not be empty"),
        ("x" * 5000, "the key lookup failed: DataError: query string is too large"),
    ],
)
def test_a_kid_that_breaks_the_sql_is_a_401_naming_the_sql_error(attacker, kid, reason):
    status, body = attacker.call("/vulnerable/kid-sql/me", _kid_sql_token(attacker, kid))
    assert status == 401, body
    assert reason in body["error_description"]


def test_the_key_table_stays_read_only_whatever_the_kid(vlab, attacker):
    from labserver.chapters.vulnerable import key_table

    table = key_table(vlab.app)
    before = table.hardened_lookup("kid-sql-1")
    for kid in ("x'; DELETE FROM keys; --", "x'; UPDATE keys SET secret = 'a'; --"):
        assert attacker.call("/vulnerable/kid-sql/me", _kid_sql_token(attacker, kid))[0] == 401
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        table._db.execute("UPDATE keys SET secret = 'a'")
    assert table.hardened_lookup("kid-sql-1") == before and len(before) == 32
    token = attacker.token("bob", path="/vulnerable/kid-sql/token")
    assert attacker.call("/vulnerable/kid-sql/me", token)[0] == 200


def test_the_hardened_lookup_takes_only_kids_of_the_key_ring():
    from labserver.key_table import KeyTable

    table = KeyTable({"k1": b"s" * 32})
    assert table.vulnerable_lookup(KID_SQL_INJECTION) == "known-secret"
    assert table.hardened_lookup(KID_SQL_INJECTION) is None
    assert table.hardened_lookup("k1") == table.vulnerable_lookup("k1") == b"s" * 32
    assert (
        table.hardened_lookup("k1' --") is None and table.vulnerable_lookup("k1' --") == b"s" * 32
    )
    for odd in (None, 1, ["k1"], "x'", "\ud800", "a\x00b"):
        assert table.hardened_lookup(odd) is None


def test_the_side_by_side_shows_both_lookups_without_the_secret():
    from labserver.key_table import KeyTable

    table = KeyTable({"kid-sql-1": b"\x01" * 32})
    injected = str(table.side_by_side(KID_SQL_INJECTION))
    assert "kid = 'x' UNION SELECT 'known-secret' --'" in injected
    assert "-> 'known-secret' (a str the query made up)" in injected
    assert "-> None: no such row; and the key ring has no such kid" in injected
    genuine = table.side_by_side("kid-sql-1")
    assert genuine.vulnerable == genuine.hardened == "the secret of 'kid-sql-1' (32 random bytes)"
    assert "\\x01" not in str(genuine)
    assert table.side_by_side("x'").vulnerable.startswith("SQL error: OperationalError")


def test_the_kid_sql_endpoint_is_what_the_concatenation_makes_it(vlab, monkeypatch):
    """Mutation: with the hardened lookup in its place, the same attack fails."""
    from labserver.key_table import KeyTable

    monkeypatch.setattr(KeyTable, "vulnerable_lookup", KeyTable.hardened_lookup)
    row = _row(vlab, "kid SQL injection")
    assert not row.vulnerable_accepted
    assert row.vulnerable == "401 no key \"x' UNION SELECT 'known-secret' --\" in the key table"


# ---- x5c --------------------------------------------------------------------------------------


def _x5c_token(attacker, chain, key, alg="ES256", **changes):
    headers = {"typ": "at+jwt", "kid": "es256-1", "x5c": chain}
    return jwt.encode(
        attacker.claims(roles=["admin"], **changes), key, algorithm=alg, headers=headers
    )


def _certificate(subject, key, issuer, signer, now, ca, days=1, hash_=SHA256):
    import datetime

    when = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    name = lambda cn: x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)])  # noqa: E731
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(when - datetime.timedelta(days=days))
        .not_valid_after(when + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer, hash_)
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def test_a_self_made_chain_in_x5c_gets_admin_and_the_hardened_lab_says_why_not(attacker, vlab):
    key, chain = self_made_chain(vlab.clock.now())
    forged = _x5c_token(attacker, chain, key)
    assert (
        attacker.try_token("/vulnerable/x5c/me", forged) == "accepted: sub 'bob', roles ['admin']"
    )
    hardened = attacker.try_token("/api/me", forged)
    assert hardened.startswith("401 bad signature: the signature does not match key es256-1")
    assert hardened.endswith(
        "the key the token brings in its x5c header is never used, only this server's own"
    )


def test_the_x5c_endpoint_checks_everything_but_the_anchor(attacker, vlab):
    now = vlab.clock.now()
    root_key, leaf_key, other_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _certificate("Root", root_key, "Root", root_key, now, ca=True)
    leaf = _certificate("leaf", leaf_key, "Root", root_key, now, ca=False)
    not_a_ca = _certificate("Root", root_key, "Root", root_key, now, ca=False)
    other_root = _certificate("Root", other_key, "Root", other_key, now, ca=True)
    old_leaf = _certificate("leaf", leaf_key, "Root", root_key, now - 10 * 86400, ca=False)
    cases = {
        "links": ([leaf, other_root], leaf_key, "certificate 0 is not issued by certificate 1"),
        "CA flag": ([leaf, not_a_ca], leaf_key, "certificate 1 is not a CA"),
        "validity": ([old_leaf, root], leaf_key, "not at lab time 2027-01-15T08:00:00Z"),
        "rootless": ([leaf], leaf_key, "the last certificate is not self-signed"),
        "signature": ([leaf, root], other_key, "Signature verification failed"),
    }
    path = "/vulnerable/x5c/me"
    assert attacker.call(path, _x5c_token(attacker, [leaf, root], leaf_key))[0] == 200
    for name, (chain, key, reason) in cases.items():
        status, body = attacker.call(path, _x5c_token(attacker, chain, key))
        assert status == 401 and reason in body["error_description"], (name, body)
    # One self-signed certificate is a whole chain, anchored nowhere: accepted too.
    alone = _certificate("me", leaf_key, "me", leaf_key, now, ca=True)
    assert attacker.call(path, _x5c_token(attacker, [alone], leaf_key))[0] == 200


def test_x5c_validity_is_judged_on_the_lab_clock(attacker, vlab):
    # The lab clock stands at 2027 in the tests, ahead of the wall clock: a chain made for lab
    # time passes, and two days of lab time later it has expired.
    key, chain = self_made_chain(vlab.clock.now())
    forged = _x5c_token(attacker, chain, key)
    assert attacker.call("/vulnerable/x5c/me", forged)[0] == 200
    vlab.clock.advance(2 * 86400)
    status, body = attacker.call("/vulnerable/x5c/me", forged)
    assert status == 401 and "not at lab time" in body["error_description"]


@pytest.mark.parametrize(
    "x5c",
    [
        None,
        "x",
        1,
        {},
        [],
        [1],
        [None],
        ["!!!"],
        ["AAAA"],
        ["-_-_"],
        ["\ud800"],
        ["A" * 20000],
        ["AAAA"] * 6,
        [base64.b64encode(b"\x30\x03\x02\x01\x01").decode()],
    ],
)
def test_garbage_x5c_is_a_401(attacker, x5c):
    header = json.dumps({"alg": "ES256", "typ": "at+jwt", "x5c": x5c}).encode()
    token = base64.urlsafe_b64encode(header).rstrip(b"=").decode() + ".e30.c2ln"
    status, body = attacker.call("/vulnerable/x5c/me", token)
    assert status == 401 and body["error"] == "invalid_token", body
    assert body["error_description"].startswith("no usable x5c chain: "), body


def test_a_chain_with_a_key_no_jws_algorithm_takes_is_refused(attacker, vlab):
    from cryptography.hazmat.primitives.asymmetric import ed448

    key = ed448.Ed448PrivateKey.generate()
    cert = _certificate("odd", key, "odd", key, vlab.clock.now(), ca=True, hash_=None)
    signer = ec.generate_private_key(ec.SECP256R1())
    status, body = attacker.call("/vulnerable/x5c/me", _x5c_token(attacker, [cert], signer))
    assert status == 401 and "no JWS algorithm" in body["error_description"]


# ---- the hardened verifier names the keys a token brings ---------------------------------------


@pytest.fixture
def verify(vlab):
    from labserver.chapters.tokens import policy

    def check(token):
        with vlab.app.app_context():
            return verify_access_token(token, vlab.keys, policy(), vlab.clock.now())

    return check


@pytest.mark.parametrize("brought", ["jwk", "jku", "x5u", "x5c"])
def test_the_reason_says_a_key_the_token_brings_is_never_used(attacker, verify, brought):
    value = {"jwk": {"kty": "EC"}, "jku": "http://x", "x5u": "http://x", "x5c": ["AAAA"]}[brought]
    other = ec.generate_private_key(ec.SECP256R1())
    claims = attacker.claims()
    for kid, rule in (("es256-1", "bad_signature"), ("nope", "unknown_key"), (None, "unknown_key")):
        headers = {"typ": "at+jwt", brought: value, **({"kid": kid} if kid else {})}
        with pytest.raises(TokenRejected) as caught:
            verify(jwt.encode(claims, other, algorithm="ES256", headers=headers))
        assert caught.value.rule == rule
        assert caught.value.description.endswith(
            f"; the key the token brings in its {brought} header is never used, only this "
            "server's own"
        )


def test_a_token_without_key_headers_gets_the_reason_it_always_had(attacker, verify):
    other = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(
        attacker.claims(), other, algorithm="ES256", headers={"kid": "es256-1", "typ": "at+jwt"}
    )
    with pytest.raises(TokenRejected) as caught:
        verify(token)
    assert caught.value.description == (
        "the signature does not match key es256-1: the token was changed after signing, or "
        "signed with another key"
    )


def test_a_genuine_token_carrying_an_x5c_header_is_judged_by_the_lab_s_key_alone(
    vlab, attacker, verify
):
    key, chain = self_made_chain(vlab.clock.now())
    signing = vlab.keys.current("ES256")
    headers = {"typ": "at+jwt", "kid": signing.kid, "x5c": chain}
    token = jwt.encode(attacker.claims(), signing.signing_key, algorithm="ES256", headers=headers)
    assert verify(token).key.kid == signing.kid


# ---- refresh not bound ------------------------------------------------------------------------


def _login(attacker, user="bob"):
    answer = attacker.client().post(REFRESH, json={"username": user, "password": PASSWORDS[user]})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_bob_redeems_alice_s_expired_token_with_his_own_refresh_token(vlab, attacker):
    leaked = attacker.token("alice", lifetime=1)
    bob = _login(attacker)
    vlab.clock.advance(31)  # the test's own clock: alice's token is now really expired
    assert attacker.try_token("/api/me", leaked).startswith("401 expired")
    answer = attacker.client().post(
        REFRESH,
        json={
            "grant_type": "refresh_token",
            "refresh_token": bob["refresh_token"],
            "access_token": leaked,
        },
    )
    assert answer.status_code == 200, answer.text
    fresh = answer.json()["access_token"]
    assert attacker.try_token("/api/me", fresh) == "accepted: sub 'alice', roles ['user']"
    # The same request at the lab's own token endpoint gives bob his own token, nothing more.
    hardened = attacker.client().post(
        "/oauth/token",
        json={
            "grant_type": "refresh_token",
            "refresh_token": _login(attacker)["refresh_token"],
            "access_token": leaked,
        },
    )
    assert hardened.status_code == 200
    assert attacker.claims(hardened.json()["access_token"])["sub"] == "bob"


def test_the_battery_row_and_its_verdicts(vlab):
    from labserver.experiments.attacks import summary

    row = _row(vlab, "_unbound_refresh")
    assert row.attack == "refresh token not bound"
    assert row.vulnerable == "accepted: sub 'alice', roles ['user']"
    assert row.hardened == (
        "200 a token: sub 'bob', roles ['user', 'editor'] (the refresh token's owner, not the "
        "access token's subject)"
    )
    assert row.vulnerable_accepted and row.hardened_refused and row.held_as == "own token only"
    assert "own token only (holds)" in summary([row])
    assert vlab.clock.offset == 0  # the battery leaves the shared clock alone


def test_the_battery_sees_a_lab_refresh_that_follows_the_access_token(vlab, monkeypatch):
    """Mutation: if the lab's own refresh grant issued for the access token's subject, the
    hardened column must say so."""
    import labserver.chapters.tokens as tokens
    from labserver.experiments.attacks import summary

    real = tokens.use_refresh_token

    def follows_the_access_token(store, clock, token, *args):
        _owner, new = real(store, clock, token, *args)
        return "alice", new

    monkeypatch.setattr(tokens, "use_refresh_token", follows_the_access_token)
    row = _row(vlab, "_unbound_refresh")
    assert not row.hardened_refused and row.hardened.startswith("200 a token: sub 'alice'")
    assert "ACCEPTED" in summary([row]).splitlines()[1]


def test_the_unbound_endpoint_still_checks_the_refresh_token(vlab, attacker):
    leaked = attacker.token("alice")
    bob = _login(attacker)
    body = {"grant_type": "refresh_token", "access_token": leaked}
    http = attacker.client()
    unknown = http.post(REFRESH, json={**body, "refresh_token": "not-a-refresh-token"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"
    assert (
        http.post(REFRESH, json={**body, "refresh_token": bob["refresh_token"]}).status_code == 200
    )
    reused = http.post(REFRESH, json={**body, "refresh_token": bob["refresh_token"]})
    assert reused.status_code == 400 and "reuse detected" in reused.json()["error_description"]


def test_the_unbound_endpoint_takes_only_access_tokens_the_lab_signed(vlab, attacker):
    from labserver.forge import tamper

    bob = _login(attacker)
    body = {"grant_type": "refresh_token", "refresh_token": bob["refresh_token"]}
    http = attacker.client()
    for token, reason in (
        (tamper(attacker.token("alice"), sub="admin"), "bad signature"),
        (_kid_sql_token(attacker, KID_SQL_INJECTION), "unknown key"),
        ("a.b.c", "malformed"),
    ):
        answer = http.post(REFRESH, json={**body, "access_token": token})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error_description"].startswith(
            f"the access token is refused: {reason}"
        )
    # None of those consumed bob's refresh token: it still works.
    assert (
        http.post(REFRESH, json={**body, "access_token": attacker.token("alice")}).status_code
        == 200
    )


def test_the_unbound_endpoint_copies_the_client_and_the_lab_does_not(vlab, attacker):
    from labserver.access_tokens import issue_access_token

    config = vlab.app.config
    claims = lab_claims(vlab, lifetime=60, client_id="someone-elses-app")
    leaked = issue_access_token(vlab.keys, claims)
    body = {"grant_type": "refresh_token", "access_token": leaked}
    vulnerable = attacker.client().post(
        REFRESH, json={**body, "refresh_token": _login(attacker)["refresh_token"]}
    )
    hardened = attacker.client().post(
        "/oauth/token", json={**body, "refresh_token": _login(attacker)["refresh_token"]}
    )
    assert attacker.claims(vulnerable.json()["access_token"])["client_id"] == "someone-elses-app"
    assert (
        attacker.claims(hardened.json()["access_token"])["client_id"] == config["TOKEN_CLIENT_ID"]
    )


def test_the_unbound_endpoint_refuses_a_deleted_user_without_spending_the_refresh_token(
    vlab, attacker
):
    from labserver.access_tokens import issue_access_token

    ghost = issue_access_token(vlab.keys, lab_claims(vlab, "ghost", lifetime=60))
    bob = _login(attacker)
    body = {"grant_type": "refresh_token", "refresh_token": bob["refresh_token"]}
    answer = attacker.client().post(REFRESH, json={**body, "access_token": ghost})
    assert answer.status_code == 400 and "no longer exists" in answer.json()["error_description"]
    assert (
        attacker.client()
        .post(REFRESH, json={**body, "access_token": attacker.token("alice")})
        .status_code
        == 200
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"grant_type": "refresh_token"},
        {"grant_type": "refresh_token", "refresh_token": "x"},
        {"grant_type": "refresh_token", "access_token": "x"},
        {"grant_type": "refresh_token", "refresh_token": 1, "access_token": "a.b.c"},
        {"grant_type": "code"},
        {"grant_type": 1},
        {"username": "bob", "password": "wrong"},
        {"grant_type": "refresh_token", "refresh_token": "x", "access_token": "x" * 9000},
    ],
)
def test_the_unbound_endpoint_answers_garbage_with_4xx(attacker, body):
    answer = attacker.client().post(REFRESH, json=body)
    assert 400 <= answer.status_code < 500 and answer.json()["error"], answer.text


# ---- the battery --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["kid SQL injection", "certificate chain in x5c"])
def test_the_battery_sees_a_hardened_api_that_believes_any_token(vlab, monkeypatch, name):
    """Mutation: the hardened column comes from the lab's answer, not from the battery."""
    import labserver.chapters.tokens as tokens
    from labserver.access_tokens import VerifiedToken

    def believes(token, keys, policy, now):
        claims = jwt.decode(token, options={"verify_signature": False})
        return VerifiedToken(header={}, claims=claims, key=keys.current("ES256"))

    monkeypatch.setattr(tokens, "verify_access_token", believes)
    row = _row(vlab, name)
    assert row.vulnerable_accepted and not row.hardened_refused
    assert row.hardened.startswith("accepted: sub 'bob', roles ['admin']")


def test_the_verifier_battery_runs_the_new_forgeries(vlab):
    from labserver.experiments.attacks import verifier_battery

    rows = {
        r.attack: r
        for r in verifier_battery(
            vlab, lambda token: jwt.decode(token, options={"verify_signature": False})
        )
    }
    assert "refresh token not bound" not in rows
    for name in ("kid SQL injection", "certificate chain in x5c"):
        assert rows[name].vulnerable_accepted and rows[name].hardened_refused


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    length = bytes([size]) if size < 0x80 else bytes([0x80 | 2]) + size.to_bytes(2, "big")
    return bytes([tag]) + length + body


def test_a_certificate_whose_name_cannot_be_decoded_is_no_crash(attacker, vlab):
    """cryptography decodes names lazily: a self-signed certificate whose subject is not UTF-8
    loads and verifies, and fails only when the endpoint reads its subject."""
    import datetime

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.fromtimestamp(vlab.clock.now(), datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "MARKER")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    tbs = cert.tbs_certificate_bytes.replace(b"MARKER", b"\xff\xfeRKER")
    ecdsa_with_sha256 = _der(0x30, _der(0x06, bytes.fromhex("2a8648ce3d040302")))
    signature = _der(0x03, b"\x00" + key.sign(tbs, ec.ECDSA(hashes.SHA256())))
    der = _der(0x30, tbs + ecdsa_with_sha256 + signature)
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(der).subject  # noqa: B018
    token = _x5c_token(attacker, [base64.b64encode(der).decode()], key)
    status, body = attacker.call("/vulnerable/x5c/me", token)
    assert status == 200 and body["how"].endswith("(with an unreadable subject)"), body
