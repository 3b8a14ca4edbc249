"""Exercise 23 · Find the flaws in a black box.

``lab.capstone`` is a small shop app (its index, ``GET /``, lists every endpoint and what it is
for). A few of its endpoints carry flaws of chapter 09's catalogue, drawn from the class's seed;
the others are correct. Nobody tells you which. Probe it with chapter 09's tools (``Attacker``,
``tamper``, ``encode_unsigned``, ``hs256_with_key_bytes``, ``crack_hs256``, ``words`` and
``self_made_chain``), and write down what you could exploit, as findings:

    Finding(endpoint="/api/...", flaw="<a catalogue id>", exploit=...)

* ``flaw`` is an id of ``labserver.capstone.CATALOGUE``: ``no-verify``, ``alg-none``,
  ``weak-secret``, ``jwk-header``, ``jku``, ``kid-path``, ``alg-confusion``, ``kid-sql``,
  ``x5c``, ``unbound-refresh``, ``token-in-url``, ``predictable-session``,
  ``session-fixation``.
* For a token flaw, ``exploit`` is a forged token that the endpoint accepts with the role
  ``admin`` (a token flaw of ``/token`` itself is shown on ``/api/admin/report``).
* For a session flaw, ``exploit`` is a ``Request`` (``from labserver.capstone import Request``)
  whose ``sid`` cookie opens the session of carol, the shop's admin: ``Request("GET",
  "/account", cookies={"sid": ...})``. For fixation, the scorer plays carol: her browser gets
  your request's cookie, she logs in, then your request is sent.
* For ``unbound-refresh``, ``exploit`` is the ``Request("POST", "/token/refresh", json=...)``
  that gives a token of carol's (its refresh token unused: the scorer sends it). For
  ``token-in-url``, ``exploit`` is the token of carol's you read where it leaked.

The scorer replays every exploit: a flaw found with a working exploit scores 1, a false claim
(no such flaw there, or an exploit that does not work) costs 1. Build the exploits in
``findings`` itself, against the ``target`` it is given: the check starts a new target with the
class's seed, so tokens and session IDs from your notebook would not work there.

Check your work in the notebook with ``check("ex23")`` or ``lab.capstone.score(findings)``, or
from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex23_find_the_flaws_in_a_black_box.py
--impl exercises`` (``LAB_CAPSTONE_SEED`` chooses the seed, as an instructor does).
"""

from labserver.capstone import Finding, Request  # noqa: F401 - what findings() returns
from labserver.experiments.attacks import Attacker, crack_hs256, words  # noqa: F401
from labserver.forge import encode_unsigned, hs256_with_key_bytes, tamper  # noqa: F401
from labserver.x5c import self_made_chain  # noqa: F401


def findings(target):
    """Return your findings (a list of ``Finding``) for ``target``, a running capstone
    (``lab.capstone``: ``target.url``, ``target.client()``; ``Attacker(target)`` works on it).
    Claim only what your exploit showed: a false claim costs a point."""
    raise NotImplementedError(
        "probe each endpoint of the index from outside: a flaw shows where the target accepts "
        "what its hardened build refuses; claim only what your own exploit showed to work"
    )
