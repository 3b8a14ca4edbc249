"""Chapter 04's identity provider and the APIs that trust it, on Authlib and PyJWT.

Where things live:

====================  ===========================================================================
module                what it decides
====================  ===========================================================================
``clients``           the registered clients (a mobile app, two services, the BFF), their
                      secrets and keys, and which scopes belong to which API (audience)
``records``           what the provider keeps in the lab's store: authorization codes, grants
                      (refresh-token families), issued access tokens, revoked ``jti``\\ s
``tokens``            the RFC 9068 access tokens and OIDC ID tokens it signs, on the lab clock
``grants``            Authlib's grants, configured strictly: code + PKCE S256 only, client
                      credentials, refresh with rotation and reuse detection, private_key_jwt
``token_exchange``    RFC 8693 token exchange, which Authlib does not ship: a grant of our own
``endpoints``         RFC 7009 revocation and RFC 7662 introspection
``provider``          the Authlib ``AuthorizationServer`` put together, and its metadata
``dpop``              RFC 9449 proofs (Authlib has no DPoP): made by a client, checked by servers
``resource``          what a resource server checks: signature by JWKS, ``aud``, scope, DPoP
``native_app``        the public client's side: PKCE, ``state``, nonce, a loopback redirect
====================  ===========================================================================

The HTTP endpoints are blueprints in :mod:`labserver.chapters` (``identity_provider``,
``orders``, ``billing``); :mod:`labserver.federation` starts them, each on its own port.
"""
