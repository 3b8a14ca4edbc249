"""Exercise 15 · Find the bugs: patch a verifier until every attack of chapter 9 is refused.

This verifier checks signatures with PyJWT and genuine tokens pass. But it was written to be
"flexible", and the attack battery gets through it. Run it against the battery in notebook 07
(``verifier_battery(lab, your_verify)``) and watch the rows: each must end up "refused", none
"ACCEPTED" and none "CRASHED" (an exception other than ``jwt.InvalidTokenError`` is a 500 in a
server). There are four bugs; the fixed function is shorter than this one.

Check your work in the notebook with ``check("ex15")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex15_patch_the_verifier.py --impl exercises``.
"""

import jwt


def verify(token, jwks, *, audience, fetch):
    """Return the claims of ``token`` if it is signed by one of the keys in ``jwks`` (a JWK Set,
    ``{"keys": [...]}``, the server's own published keys, found by ``kid``), with the algorithm
    that key is for, and meant for ``audience``. Otherwise raise ``jwt.InvalidTokenError``.

    ``fetch(url)`` returns the JSON at a URL: this verifier was given it for "convenience".
    """
    header = jwt.get_unverified_header(token)
    if header.get("alg") == "none":
        # "Unsigned tokens only come from our own internal services."
        return jwt.decode(token, options={"verify_signature": False})
    if "jwk" in header:
        # "The issuer sends its key along, which saves a lookup."
        key = jwt.PyJWK(header["jwk"])
    elif "jku" in header:
        # "The issuer says where its keys are."
        key = jwt.PyJWK(next(k for k in fetch(header["jku"])["keys"] if k["kid"] == header["kid"]))
    else:
        key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"]))
    return jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience=audience)
