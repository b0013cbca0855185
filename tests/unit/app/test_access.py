"""app.access: a denial by the broker's authorizer names the ACL that would allow it."""

from __future__ import annotations

import pytest
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    IllegalOperation,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)

from app.access import BrokerAccessError, denial, explain
from config.settings import load_settings

SETTINGS = load_settings(app_id="shop", kafka_sasl_username="streams", kafka_sasl_password="s3cret-pw")


@pytest.mark.parametrize(
    ("exc", "acl"),
    [
        (
            TopicAuthorizationFailedError({"shop.totals", "shop.ledger"}),
            "--operation Write --operation Describe --topic shop.ledger --topic shop.totals",
        ),
        (
            TopicAuthorizationFailedError("shop.totals"),
            "--operation Write --operation Describe --topic shop.totals",
        ),
        (
            TransactionalIdAuthorizationFailed("shop-6x-1"),
            "--transactional-id shop --resource-pattern-type prefixed",
        ),
        (GroupAuthorizationFailedError(), "--operation Read --operation Describe --group shop"),
        (
            ClusterAuthorizationFailedError(),
            "--operation Write --topic shop --resource-pattern-type prefixed",
        ),
    ],
)
def test_each_denial_names_the_acl_to_grant(exc: Exception, acl: str) -> None:
    message = denial(exc, SETTINGS)
    assert message is not None
    assert "kafka-acls --add --allow-principal User:streams" in message and acl in message
    assert "s3cret-pw" not in message
    explained = explain(exc, SETTINGS)
    assert isinstance(explained, BrokerAccessError) and explained.__cause__ is exc
    assert str(explained) == message


def test_anything_else_is_left_as_it_is() -> None:
    exc = IllegalOperation("Can't send messages while not in transaction")
    assert denial(exc, SETTINGS) is None
    assert explain(exc, SETTINGS) is exc
