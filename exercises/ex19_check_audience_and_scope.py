"""Exercise 19 · A resource server's decision: is this token for me, and may it do this?

Once the signature of an access token is verified, a resource server such as "orders" still has
two questions to answer, and each has its own answer when it fails (RFC 6750 §3.1):

* **is the token for me?** Its ``aud`` (a string, or a list of strings) must name this server
  exactly (RFC 9068 §4). A token minted for "billing" is no token at all for "orders": 401
  ``invalid_token``.
* **may it do this?** Its ``scope`` claim is one string of space-separated scopes (RFC 9068 §2.2.3,
  RFC 8693 §4.2); no ``scope`` claim means no scopes. Every scope the request needs must be
  one of them: otherwise 403 ``insufficient_scope``. The token is fine, it is just not enough.

Check your work in the notebook with ``check("ex19")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex19_*.py --impl exercises``.
"""


class AccessDenied(Exception):
    """A refusal: the HTTP ``status``, the RFC 6750 ``error`` code and an ``error_description``
    that says which rule failed."""

    def __init__(self, status, error, description):
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


def check_access(claims, *, audience, required_scopes):
    """Return None if the verified token ``claims`` may make a request that needs every scope
    of ``required_scopes`` at the resource server ``audience``; raise ``AccessDenied`` otherwise:

    * ``aud`` missing, malformed, or not naming ``audience`` (as the string or one element of
      the list): ``AccessDenied(401, "invalid_token", ...)``;
    * a ``scope`` claim that is not a string: ``AccessDenied(401, "invalid_token", ...)``;
    * a required scope missing from the space-separated ``scope``:
      ``AccessDenied(403, "insufficient_scope", ...)``, its description naming the scope.

    The audience is checked first: a token that is not for this server gets 401, whatever its
    scopes.
    """
    raise NotImplementedError(
        "first the audience: aud (a string or a list) must name this server as a whole value, "
        "else 401 invalid_token; then each required scope must be one of the space-separated "
        "words of scope (none when it is absent), else 403 insufficient_scope (RFC 6750 §3.1)"
    )
