"""Portal tokens, the pure part: signed claims, checked with the secret its kid names."""

import pytest

from meterstream.api.errors import Unauthorized
from meterstream.api.tokens import PortalGrant, mint, verify

GRANT = PortalGrant(tenant_id="acme", session_id="s1", user_id=None, key_id="k1", expires_at=1_000)


def test_a_minted_token_verifies_to_its_grant_until_it_expires():
    token = mint(b"secret", "kid1", GRANT)
    assert verify(token, {"kid1": b"secret"}, now=999) == GRANT
    with pytest.raises(Unauthorized, match="expired"):
        verify(token, {"kid1": b"secret"}, now=1_000)


def test_another_secret_or_an_unknown_kid_is_refused():
    token = mint(b"secret", "kid1", GRANT)
    with pytest.raises(Unauthorized, match="does not match"):
        verify(token, {"kid1": b"other"}, now=0)
    with pytest.raises(Unauthorized, match="unknown secret"):
        verify(token, {"kid2": b"secret"}, now=0)


def test_a_user_grant_allows_that_users_sessions_only():
    grant = PortalGrant(tenant_id="acme", session_id=None, user_id="amira", key_id="k1", expires_at=1)
    assert grant.allows("any", "amira") and not grant.allows("any", "omar") and not grant.allows("any", None)
    assert GRANT.allows("s1", None) and not GRANT.allows("s2", None)
