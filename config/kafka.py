"""How every Kafka client connects: Faust's credentials and aiokafka's keyword arguments,
both from the settings. A leaf: it imports only the settings, so any layer may use it."""

from __future__ import annotations

import ssl
from typing import Any

from faust.auth import Credentials, SASLCredentials, SSLCredentials

from config.settings import Settings


def broker_credentials(settings: Settings) -> Credentials | None:
    """Faust's credentials for the broker, None on PLAINTEXT."""
    protocol = settings.kafka_security_protocol.value
    if protocol == "PLAINTEXT":
        return None
    context = None
    if protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(
            purpose=ssl.Purpose.SERVER_AUTH,
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
        )
    if protocol == "SSL":
        return SSLCredentials(context)
    return SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        mechanism=settings.kafka_sasl_mechanism,
    )


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """aiokafka connection arguments (admin, producer, consumer) from the settings."""
    kwargs: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers}
    creds = broker_credentials(settings)
    if creds is not None:
        kwargs["security_protocol"] = settings.kafka_security_protocol.value
        kwargs["ssl_context"] = getattr(creds, "context", None) or getattr(creds, "ssl_context", None)
        if settings.kafka_security_protocol.value.startswith("SASL"):
            kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism
            kwargs["sasl_plain_username"] = settings.kafka_sasl_username
            kwargs["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return kwargs
