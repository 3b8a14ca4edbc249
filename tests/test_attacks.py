"""Chapter 9: the vulnerable endpoints fall to their attack, the hardened lab holds, and the
vulnerable blueprint exists only when asked for."""

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from labserver.users import PASSWORDS

# Each attack and the rule the hardened lab names when it refuses the same forgery.
EXPECTED_REFUSAL = {
    "signature not verified": "401 bad signature",
    "alg: none": "401 algorithm not allowed",
    "weak HMAC secret": "401 bad signature",
    "key in the jwk header": "401 bad signature",
    "key from the jku URL": "401 unknown key",
    "kid as a file path": "401 unknown key",
    "algorithm confusion": "401 algorithm not allowed",
    "algorithm confusion, no exposed key": "401 algorithm not allowed",
    "kid SQL injection": "401 unknown key",
    "certificate chain in x5c": "401 bad signature",
    # The lab's refresh grant rightly answers; it holds by issuing for the refresh token's owner.
    "refresh token not bound": "200 a token: sub 'bob'",
    "token in a URL": "400 ",
    "predictable session ID": "401 no such session",
    "session fixation": "401 no such session",
}

TOKEN_ENDPOINTS = [
    "no-verify",
    "alg-none",
    "weak-secret",
    "jwk-header",
    "jku",
    "kid-path",
    "alg-confusion",
    "kid-sql",
    "x5c",
]


@pytest.fixture
def results(vlab):
    from labserver.experiments.attacks import run_battery

    return {r.attack: r for r in run_battery(vlab)}


def test_the_battery_runs_every_attack_of_the_chapter(results):
    assert list(results) == list(EXPECTED_REFUSAL)


@pytest.mark.parametrize("attack", list(EXPECTED_REFUSAL))
def test_each_attack_breaks_its_vulnerable_endpoint(results, attack):
    row = results[attack]
    assert row.vulnerable_accepted, row.vulnerable
    assert row.vulnerable.startswith("accepted:")


@pytest.mark.parametrize("attack", list(EXPECTED_REFUSAL))
def test_the_hardened_lab_refuses_each_attack_with_a_specific_reason(results, attack):
    row = results[attack]
    assert row.hardened_refused, row.hardened
    assert row.hardened.startswith(EXPECTED_REFUSAL[attack]), row.hardened
    assert row.rule


def test_token_forgeries_claim_admin_and_the_vulnerable_endpoints_believe_it(results):
    from labserver.experiments.attacks import ATTACKS, JwtAttack

    forgeries = [a.name for a in ATTACKS if isinstance(a, JwtAttack)]
    assert len(forgeries) == 10
    for attack in forgeries:
        assert "roles ['admin']" in results[attack].vulnerable, attack


def test_the_battery_also_takes_a_base_url(vlab):
    from labserver.experiments.attacks import run_battery

    rows = run_battery(vlab.url)
    assert all(r.vulnerable_accepted and r.hardened_refused for r in rows)


@pytest.mark.parametrize(
    "url", ["http://example.com", "https://10.0.0.1:8443", "http://lab.internal/"]
)
def test_the_battery_refuses_to_attack_anything_but_loopback(url):
    from labserver.experiments.attacks import run_battery

    with pytest.raises(ValueError, match="this machine only"):
        run_battery(url)


def test_the_default_lab_has_no_vulnerable_endpoint(lab, vlab):
    paths = sorted(
        {rule.rule for rule in vlab.app.url_map.iter_rules() if rule.rule.startswith("/vulnerable")}
    )
    assert len(paths) >= 12
    http = lab.client()
    for path in paths:
        concrete = path.replace("<name>", "x")
        for method in ("GET", "POST"):
            answer = http.request(method, concrete, json={})
            assert answer.status_code == 404, (method, concrete)
            assert "X-Lab-Warning" not in answer.headers


def test_every_vulnerable_answer_carries_the_warning(vlab):
    http = vlab.client()
    answers = [http.get(f"/vulnerable/{name}/me") for name in TOKEN_ENDPOINTS]
    answers.append(http.get("/vulnerable/session/start"))
    answers.append(http.get("/vulnerable/uploads/none"))
    for answer in answers:
        assert "DELIBERATELY VULNERABLE" in answer.headers["X-Lab-Warning"]
    assert (
        http.get("/vulnerable/session/start")
        .json()["warning"]
        .startswith("DELIBERATELY VULNERABLE")
    )


@pytest.mark.parametrize("endpoint", TOKEN_ENDPOINTS)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer ..",
        "Basic Ym9iOng=",
        "Bearer eyJhbGciOiJub25lIn0.e30.",
    ],
)
def test_vulnerable_endpoints_refuse_garbage_with_4xx(vlab, endpoint, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answer = vlab.client().get(f"/vulnerable/{endpoint}/me", headers=headers)
    assert answer.status_code in (400, 401), answer.text
    assert answer.json()["error"]


def test_even_the_vulnerable_endpoints_check_expiry_on_the_lab_clock(vlab):
    token = (
        vlab.client()
        .post(
            "/vulnerable/weak-secret/token", json={"username": "bob", "password": PASSWORDS["bob"]}
        )
        .json()["access_token"]
    )
    http = vlab.client()
    assert (
        http.get(
            "/vulnerable/weak-secret/me", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    vlab.clock.advance(3600)
    answer = http.get("/vulnerable/weak-secret/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and "expired" in answer.json()["error_description"]


def _signed_with_own_key(vlab, jku: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    claims = jwt.decode(
        vlab.client()
        .post("/oauth/token", json={"username": "bob", "password": PASSWORDS["bob"]})
        .json()["access_token"],
        options={"verify_signature": False},
    )
    return jwt.encode(
        claims,
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": "k", "jku": jku},
    )


@pytest.mark.parametrize(
    "jku",
    [
        "http://example.com/jwks.json",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:9/jwks.json",
        "file:///etc/passwd",
        "",
    ],
)
def test_jku_is_only_ever_fetched_from_the_lab_itself(vlab, jku):
    token = _signed_with_own_key(vlab, jku)
    answer = vlab.client().get("/vulnerable/jku/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert "on itself only" in answer.json()["error_description"]


def test_a_jku_on_the_lab_without_the_key_is_refused(vlab):
    url = vlab.client().post("/vulnerable/uploads", json={"keys": []}).json()["url"]
    assert url.startswith(vlab.url + "/vulnerable/uploads/")
    answer = vlab.client().get(
        "/vulnerable/jku/me", headers={"Authorization": f"Bearer {_signed_with_own_key(vlab, url)}"}
    )
    assert answer.status_code == 401 and "no usable key" in answer.json()["error_description"]


def test_uploads_are_small_json_objects(vlab):
    http = vlab.client()
    assert (
        http.post(
            "/vulnerable/uploads", data="not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert http.post("/vulnerable/uploads", json={"big": "x" * 20000}).status_code == 400


@pytest.mark.parametrize(
    "kid", ["../../../../../../etc/passwd", "/etc/hostname", "../keys", "nope", ""]
)
def test_kid_paths_stay_inside_the_sandbox(vlab, kid):
    from labserver.experiments.attacks import hs256_with_key_bytes

    token = hs256_with_key_bytes({"kid": kid}, {"sub": "bob", "exp": vlab.clock.now() + 60}, b"")
    answer = vlab.client().get(
        "/vulnerable/kid-path/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 401
    assert answer.json()["error_description"] == "no such key file in the sandbox"


def test_the_sandbox_is_a_temporary_folder_of_the_lab(vlab):
    sandbox = vlab.app.extensions["lab.vulnerable"]["sandbox"]
    assert (sandbox / "public" / "empty.txt").read_bytes() == b""
    assert len((sandbox / "keys" / "signing.key").read_bytes()) == 32


def test_a_hardened_lab_token_resists_the_word_list(vlab):
    from labserver.experiments.attacks import crack_hs256, words

    strong = (
        vlab.client()
        .post(
            "/oauth/token", json={"username": "bob", "password": PASSWORDS["bob"], "alg": "HS256"}
        )
        .json()["access_token"]
    )
    weak = (
        vlab.client()
        .post(
            "/vulnerable/weak-secret/token", json={"username": "bob", "password": PASSWORDS["bob"]}
        )
        .json()["access_token"]
    )
    assert crack_hs256(strong, words()) is None
    assert crack_hs256(weak, words()) == vlab.app.config["WEAK_SECRET"]
    assert len(words()) >= 100


def test_vulnerable_session_ids_are_consecutive_and_the_lab_s_are_not(vlab):
    creds = {"username": "bob", "password": PASSWORDS["bob"]}
    ids = [
        int(vlab.client().post("/vulnerable/session/login", json=creds).json()["session"])
        for _ in range(3)
    ]
    assert ids[1] == ids[0] + 1 and ids[2] == ids[1] + 1
    lab_ids = set()
    for _ in range(3):
        http = vlab.client()
        http.post("/session/login", json=creds)
        lab_ids.add(http.cookies["session"])
    assert len(lab_ids) == 3 and all(len(i) >= 22 for i in lab_ids)


def test_vulnerable_session_login_refuses_bad_input(vlab):
    http = vlab.client()
    assert (
        http.post(
            "/vulnerable/session/login", json={"username": "bob", "password": "wrong"}
        ).status_code
        == 401
    )
    assert (
        http.post(
            "/vulnerable/session/login", data="{", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert http.get("/vulnerable/session/me").status_code == 401


@pytest.mark.parametrize("endpoint", ["alg-none", "kid-path", "alg-confusion"])
@pytest.mark.parametrize(
    "change", [{"aud": "someone-else"}, {"iss": "http://evil.test"}, {"exp": 1000}]
)
def test_each_vulnerable_endpoint_has_only_its_one_mistake(vlab, endpoint, change):
    """The forgery that works there stops working when it also breaks another rule."""
    from labserver.experiments.attacks import Attacker, hs256_with_key_bytes
    from labserver.forge import encode_unsigned

    attacker = Attacker(vlab)
    claims = {**attacker.claims(), "roles": ["admin"]}
    forge = {
        "alg-none": lambda c: encode_unsigned({"alg": "none", "typ": "at+jwt"}, c),
        "kid-path": lambda c: hs256_with_key_bytes({"kid": "../public/empty.txt"}, c, b""),
        "alg-confusion": lambda c: hs256_with_key_bytes(
            {"kid": "rs256-1"},
            c,
            vlab.keys.current("RS256").verifying_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        ),
    }[endpoint]
    path = f"/vulnerable/{endpoint}/me"
    assert attacker.call(path, forge(claims))[0] == 200
    status, body = attacker.call(path, forge({**claims, **change}))
    assert status == 401, body


def test_kid_path_keys_are_for_hs256_only(vlab):
    from labserver.experiments.attacks import Attacker, hs256_with_key_bytes

    attacker = Attacker(vlab)
    token = hs256_with_key_bytes({"kid": "../public/empty.txt"}, attacker.claims(), b"")
    _, payload, signature = token.split(".")
    relabelled = (
        base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"../public/empty.txt"}')
        .rstrip(b"=")
        .decode()
    )
    assert attacker.call("/vulnerable/kid-path/me", f"{relabelled}.{payload}.{signature}")[0] == 401


def test_only_the_counter_endpoint_numbers_its_sessions(vlab):
    anonymous = vlab.client().get("/vulnerable/session/start").json()["session"]
    kept = (
        vlab.client()
        .post(
            "/vulnerable/session/login-keep-id",
            json={"username": "bob", "password": PASSWORDS["bob"]},
        )
        .json()["session"]
    )
    for session_id in (anonymous, kept):
        assert not session_id.isdigit() and len(session_id) >= 43


def _unsigned(header: dict, payload: bytes = b'{"sub":"alice"}') -> str:
    part = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    return f"{part(json.dumps(header).encode())}.{part(payload)}.c2ln"


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "HS256", "kid": "a\u0000b"},
        {"alg": "HS256", "kid": "x" * 300},
        {"alg": "HS256", "kid": 7},
        {"alg": "HS256", "kid": "x/" * 150},
    ],
)
def test_kid_path_refuses_unusable_file_names_instead_of_crashing(vlab, header):
    answer = vlab.http.get(
        "/vulnerable/kid-path/me", headers={"Authorization": f"Bearer {_unsigned(header)}"}
    )
    assert answer.status_code == 401, answer.text


def test_kid_path_refuses_a_lone_surrogate_kid(vlab):
    raw = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"\\ud800"}').rstrip(b"=").decode()
    answer = vlab.http.get(
        "/vulnerable/kid-path/me", headers={"Authorization": f"Bearer {raw}.e30.c2ln"}
    )
    assert answer.status_code == 401, answer.text


@pytest.mark.parametrize("jwk", ["x", 1, None, [], {"kty": "oct", "alg": "none"}, {"kty": "RSA"}])
def test_jwk_header_refuses_what_is_not_a_key_instead_of_crashing(vlab, jwk):
    token = _unsigned({"alg": "RS256", "jwk": jwk})
    answer = vlab.http.get(
        "/vulnerable/jwk-header/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 401, answer.text


@pytest.mark.parametrize("endpoint", ["alg-none", "no-verify"])
def test_vulnerable_endpoints_still_refuse_a_token_that_never_expires(vlab, endpoint):
    """Their one mistake is the signature; exp NaN must not become a second one."""
    claims = b'{"iss":"https://issuer.jwt-lab.test","aud":"https://api.jwt-lab.test","sub":"alice","exp":NaN}'
    token = _unsigned({"alg": "none"}, claims)[:-4]
    answer = vlab.http.get(
        f"/vulnerable/{endpoint}/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 401 or endpoint == "no-verify", answer.text
