"""Checks for exercise 15: the battery's forgeries against your verifier, and genuine tokens."""

import functools

import jwt
import pytest

from labserver.users import PASSWORDS


@pytest.fixture(scope="module")
def lab():
    from labserver import start_lab

    lab = start_lab(vulnerable=True, replace=False, redis_url="")
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def forgeries(lab):
    """Each token attack's forgery, as the battery builds it."""
    from labserver.experiments.attacks import ATTACKS, Attacker, JwtAttack

    attacker = Attacker(lab)
    return {a.name: a.forge(attacker)[0] for a in ATTACKS if isinstance(a, JwtAttack)}


@pytest.fixture
def verify(impl, lab):
    """The learner's verify, bound to the lab's JWKS, audience and a fetch limited to the lab."""
    http = lab.client()
    jwks = http.get("/.well-known/jwks.json").json()

    def fetch(url):
        assert url.startswith(lab.url + "/"), "only the lab is fetched in these checks"
        return http.get(url).json()

    return functools.partial(
        impl.verify, jwks=jwks, audience=lab.app.config["TOKEN_AUDIENCE"], fetch=fetch
    )


def refuses(verify, token, hint):
    """``verify`` must raise an InvalidTokenError; otherwise fail with ``hint``, showing what came
    back ("accepted", or the exception that escaped: a 500 in a server)."""
    try:
        verify(token)
        came_back = "accepted"
    except jwt.InvalidTokenError:
        return
    except Exception as exc:  # noqa: BLE001
        came_back = type(exc).__name__
    assert came_back == "InvalidTokenError", hint


def test_genuine_tokens_pass(verify, lab):
    """Genuine lab tokens (ES256, RS256, EdDSA) pass and their claims come back."""
    for alg in ("ES256", "RS256", "EdDSA"):
        token = (
            lab.client()
            .post(
                "/oauth/token", json={"username": "bob", "password": PASSWORDS["bob"], "alg": alg}
            )
            .json()["access_token"]
        )
        assert verify(token)["sub"] == "bob", f"a genuine {alg} token must still pass"


def test_another_audience_is_refused(verify, lab):
    """A genuine token for another audience is refused."""
    key = lab.keys.current("ES256")
    token = jwt.encode(
        {"sub": "bob", "aud": "other-api", "exp": lab.clock.now() + 60},
        key.signing_key,
        algorithm="ES256",
        headers={"kid": key.kid},
    )
    refuses(verify, token, "a token meant for another API must stay out: keep checking aud")


def test_a_tampered_token_is_refused(verify, forgeries):
    """The 'signature not verified' forgery (payload edited) is refused."""
    refuses(verify, forgeries["signature not verified"], "always verify the signature")


def test_alg_none_is_refused(verify, forgeries):
    """An unsigned token (alg: none) is refused."""
    refuses(
        verify,
        forgeries["alg: none"],
        "no token is trusted unsigned, whoever it claims to come from",
    )


def test_a_key_in_the_jwk_header_is_not_used(verify, forgeries):
    """A token that brings its own key in a jwk header is refused."""
    refuses(
        verify,
        forgeries["key in the jwk header"],
        "a token must not bring its own key: keys come from jwks only",
    )


def test_the_jku_url_is_never_followed(verify, forgeries):
    """A token that names a key-set URL (jku) is refused."""
    refuses(
        verify,
        forgeries["key from the jku URL"],
        "a token must not choose where keys come from: only jwks is trusted",
    )


def test_an_unknown_kid_is_refused_cleanly(verify, forgeries):
    """A kid that is not in the key set (here a file path) raises InvalidTokenError."""
    refuses(
        verify,
        forgeries["kid as a file path"],
        "a kid that is not in jwks is a bad token, not a crash: raise jwt.InvalidTokenError",
    )


def test_a_token_without_kid_is_refused_cleanly(verify, forgeries):
    """A token without a kid (the weak-secret forgery) raises InvalidTokenError."""
    refuses(
        verify,
        forgeries["weak HMAC secret"],
        "a token without a kid is a bad token, not a crash: raise jwt.InvalidTokenError",
    )


def test_algorithm_confusion_is_refused(verify, forgeries):
    """HS256 signed with the RSA public key is refused."""
    refuses(verify, forgeries["algorithm confusion"], "allow only the key's own algorithm")


def test_every_battery_row_flips_to_refused(verify, lab):
    """verifier_battery(lab, verify): no row accepted, none crashed."""
    from labserver.experiments.attacks import summary, verifier_battery

    rows = verifier_battery(lab, verify)
    bad = [r for r in rows if r.vulnerable_accepted or r.vulnerable.startswith("crashed")]
    assert not bad, "these rows still fall:\n" + summary(bad, against="your verifier")
