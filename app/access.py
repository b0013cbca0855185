"""Access to a secured cluster: say plainly when the broker refuses us, and which ACL is missing.

Two moments: at start (``check_credentials``), where aiokafka alone would only
say that it is "unable to bootstrap"; and when the broker denies an operation
while the worker runs (``denial``), where the transaction's error would
otherwise surface as "Can't send messages while not in transaction".
Passwords never appear in any message.
"""

from __future__ import annotations

import asyncio
import ssl

from aiokafka.conn import create_conn
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)

from config import Settings
from config.kafka import client_kwargs
from domain.errors import StreamsError


class BrokerAccessError(StreamsError):
    """The broker refused our credentials or an operation this app needs."""


def _who(settings: Settings) -> str:
    user = settings.kafka_sasl_username
    return f"User:{user}" if user else "this worker's principal"


async def check_credentials(settings: Settings, timeout: float = 15) -> None:
    """Log in to one bootstrap server as the app would; a refusal is a clear error.

    An unreachable server is left to the clients' own retries and messages.
    """
    kwargs = {k: v for k, v in client_kwargs(settings).items() if k != "bootstrap_servers"}
    if kwargs.get("security_protocol", "PLAINTEXT") == "PLAINTEXT":
        return
    proto = settings.kafka_security_protocol.value
    for server in settings.kafka_bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            conn = await asyncio.wait_for(create_conn(host, int(port), **kwargs), timeout)
        except SaslAuthenticationFailed:
            raise BrokerAccessError(
                f"Kafka at {server.strip()} refused the login of {_who(settings)} "
                f"({settings.kafka_sasl_mechanism} over {proto}): check KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD (and KAFKA_SASL_MECHANISM)"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise BrokerAccessError(
                f"the TLS certificate of Kafka at {server.strip()} is not trusted ({exc.verify_message}): "
                "set KAFKA_SSL_CAFILE to the CA that signed it"
            ) from None
        except (OSError, TimeoutError):
            continue  # not up yet, or another server is: the clients retry and say so
        conn.close()
        return


def denial(exc: BaseException | None, settings: Settings) -> str | None:
    """What the broker denied and the ACL that would allow it, or None if ``exc`` is no denial."""
    who, app_id = _who(settings), settings.app_id
    grant = f"kafka-acls --add --allow-principal {who}"
    if isinstance(exc, TopicAuthorizationFailedError):
        arg = exc.args[0] if exc.args else ()
        topics = sorted({arg} if isinstance(arg, str) else {str(t) for t in arg})
        names = " ".join(f"--topic {t}" for t in topics) or "--topic <topic>"
        return (
            f"Kafka denied {who} access to topic(s) {', '.join(topics) or '?'} (WRITE, for outputs): "
            f"missing ACL; grant it with: {grant} --operation Write --operation Describe {names}"
        )
    if isinstance(exc, TransactionalIdAuthorizationFailed):
        return (
            f"Kafka denied {who} WRITE on transactional id {exc.args[0] if exc.args else '?'}: missing ACL; "
            f"grant it with: {grant} --operation Write --operation Describe "
            f"--transactional-id {app_id} --resource-pattern-type prefixed"
        )
    if isinstance(exc, GroupAuthorizationFailedError):
        return (
            f"Kafka denied {who} READ on consumer group {app_id}: missing ACL; grant it with: "
            f"{grant} --operation Read --operation Describe --group {app_id}"
        )
    if isinstance(exc, ClusterAuthorizationFailedError):
        return (
            f"Kafka denied {who} an idempotent producer id (IDEMPOTENT_WRITE on the cluster, implied "
            f"by WRITE on any topic): missing ACL; grant WRITE on the app's topics, e.g. "
            f"{grant} --operation Write --topic {app_id} --resource-pattern-type prefixed"
        )
    return None


def explain(exc: BaseException, settings: Settings) -> BaseException:
    """``exc`` or, for a denial, a BrokerAccessError that names the ACL (chained to ``exc``)."""
    message = denial(exc, settings)
    if message is None:
        return exc
    error = BrokerAccessError(message)
    error.__cause__ = exc
    return error
