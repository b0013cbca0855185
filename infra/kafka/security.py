"""A secured cluster: SASL_SSL with SCRAM-SHA-512, TLS from a throwaway CA, ACLs on.

``KafkaCluster(..., security="sasl_ssl")`` (CLI: ``start --security sasl_ssl``)
writes, under the cluster's ``security/`` directory, a CA and a broker
certificate (``cryptography``, valid for 127.0.0.1 and localhost), and three
SCRAM users with random passwords:

- ``admin``: the brokers' own user and a super user (the launcher's probes, ACLs);
- ``streams``: the app's, granted only what the app needs (``grant_app``);
- ``nobody``: no grants at all, so a test can show the authorizer is on.

The controller listener stays PLAINTEXT on the loopback host: KRaft controllers
cannot use SCRAM (its credentials live in the metadata they serve), so the
brokers reach them as ANONYMOUS, which is therefore a super user too.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from .jars import KafkaError

SASL_SSL = "sasl_ssl"
MECHANISM = "SCRAM-SHA-512"
ADMIN, APP, NOBODY = "admin", "streams", "nobody"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@dataclass(frozen=True)
class Security:
    """The files and users of one secured cluster (``dir`` is ``<data dir>/security``)."""

    dir: Path

    @property
    def ca_file(self) -> Path:
        """What clients trust (KAFKA_SSL_CAFILE)."""
        return self.dir / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.dir / "broker.pem"

    @property
    def users_file(self) -> Path:
        return self.dir / "users.json"

    def password(self, user: str) -> str:
        return str(json.loads(self.users_file.read_text())[user])

    def prepare(self, host: str) -> Security:
        """Certificates and users, made once per data dir (a restart keeps them)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.keystore.is_file():
            _write_certificates(self.ca_file, self.keystore, host)
        if not self.users_file.is_file():
            users = {u: secrets.token_urlsafe(18) for u in (ADMIN, APP, NOBODY)}
            self.users_file.touch(mode=0o600)
            self.users_file.write_text(json.dumps(users, indent=1) + "\n")
        return self

    def server_properties(self, host: str, port: int, controller_port: int) -> dict[str, object]:
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN}" password="{self.password(ADMIN)}";'
        )
        return {
            "listeners": f"SASL_SSL://{host}:{port},CONTROLLER://{host}:{controller_port}",
            "advertised.listeners": f"SASL_SSL://{host}:{port}",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": self.keystore,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": self.ca_file,
            "authorizer.class.name": AUTHORIZER,
            "super.users": f"User:{ADMIN};User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
        }

    def scram_format_args(self) -> list[str]:
        """``kafka-storage format`` arguments that create every user with the cluster."""
        users = json.loads(self.users_file.read_text())
        args = []
        for user, password in users.items():
            args += ["--add-scram", f"{MECHANISM}=[name={user},password={password}]"]
        return args

    def client_kwargs(self, user: str = ADMIN) -> dict[str, object]:
        """aiokafka connection arguments for ``user``."""
        from aiokafka.helpers import create_ssl_context

        return {
            "security_protocol": "SASL_SSL",
            "ssl_context": create_ssl_context(cafile=str(self.ca_file)),
            "sasl_mechanism": MECHANISM,
            "sasl_plain_username": user,
            "sasl_plain_password": self.password(user),
        }

    def client_env(self, user: str = APP) -> dict[str, str]:
        """The app's settings (config/settings.py) that connect as ``user``."""
        return {
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": MECHANISM,
            "KAFKA_SASL_USERNAME": user,
            "KAFKA_SASL_PASSWORD": self.password(user),
            "KAFKA_SSL_CAFILE": str(self.ca_file),
        }

    def write_env_file(self, user: str = APP) -> Path:
        """``<security dir>/<user>.env``: the app's settings as shell exports, for ``source``."""
        path = self.dir / f"{user}.env"
        path.touch(mode=0o600)
        path.write_text("".join(f"export {k}='{v}'\n" for k, v in self.client_env(user).items()))
        return path

    def tool_config(self, user: str = ADMIN) -> Path:
        """A client .properties file for Kafka's CLI tools (``--command-config``)."""
        path = self.dir / f"{user}-client.properties"
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{user}" password="{self.password(user)}";'
        )
        props = {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": MECHANISM,
            "sasl.jaas.config": jaas,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": self.ca_file,
        }
        path.touch(mode=0o600)
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return path


# What the app does with each kind of resource, and why it needs it.
APP_GRANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # read inputs, write outputs, create what is missing at start, check layouts
    ("--topic", ("Read", "Write", "Create", "Describe", "DescribeConfigs")),
    ("--group", ("Read", "Describe")),  # its consumer group (= APP_ID)
    ("--transactional-id", ("Write", "Describe")),  # exactly-once producers (APP_ID-...)
)


def app_acl_commands(user: str, app_id: str, topics: list[str]) -> list[list[str]]:
    """``kafka-acls`` argument lists granting ``user`` what the app ``app_id`` needs:
    every resource named with the APP_ID prefix (its changelogs, group, transactional
    ids and, when named so, its topics), and its configured topics by name."""
    if not app_id:
        raise KafkaError("an app id is needed to grant its resources")
    commands = []
    for resource, operations in APP_GRANTS:
        ops = [a for op in operations for a in ("--operation", op)]
        grant = ["--add", "--allow-principal", f"User:{user}", *ops]
        commands.append([*grant, resource, app_id, "--resource-pattern-type", "prefixed"])
        named = sorted({t for t in topics if not t.startswith(app_id)}) if resource == "--topic" else []
        if named:  # one run for them all: each JVM start costs a second or two
            commands.append(
                [*grant, *(a for t in named for a in (resource, t)), "--resource-pattern-type", "literal"]
            )
    return commands


def _write_certificates(ca_file: Path, keystore: Path, host: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("commerce-streams test CA"))
        .issuer_name(name("commerce-streams test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    try:
        alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt_names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("kafka-broker"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(alt_names))), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file.write_bytes(ca.public_bytes(pem))
    keystore.touch(mode=0o600)
    keystore.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(pem)
        + ca.public_bytes(pem)
    )
