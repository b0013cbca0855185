"""infra.kafka.security without a broker: certificates, broker settings, the app's ACLs."""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography import x509

from infra.kafka.nodes import Node, server_properties
from infra.kafka.security import ADMIN, APP, NOBODY, Security, app_acl_commands


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_a_throwaway_ca_signs_a_broker_certificate_for_the_loopback_host(tmp_path: Path) -> None:
    sec = Security(tmp_path / "security").prepare("127.0.0.1")
    pem = sec.keystore.read_text()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----") and pem.count("BEGIN CERTIFICATE") == 2
    cert = x509.load_pem_x509_certificates(sec.keystore.read_bytes())[0]
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    ssl.create_default_context(cafile=str(sec.ca_file))  # a CA file Python's ssl accepts
    assert (sec.keystore.stat().st_mode & 0o077) == 0 and (sec.users_file.stat().st_mode & 0o077) == 0
    passwords = {sec.password(u) for u in (ADMIN, APP, NOBODY)}
    assert len(passwords) == 3 and all(len(p) >= 20 for p in passwords)
    before = sec.keystore.read_bytes(), sec.password(APP)
    sec.prepare("127.0.0.1")  # a restart keeps them
    assert (sec.keystore.read_bytes(), sec.password(APP)) == before


def test_the_broker_listens_with_sasl_ssl_and_the_authorizer_on(tmp_path: Path) -> None:
    sec = Security(tmp_path / "security").prepare("127.0.0.1")
    node = Node(1, 30001, 31001, tmp_path / "node-1")
    props = _props(server_properties(node, [node], "127.0.0.1", sec))
    assert props["listeners"] == "SASL_SSL://127.0.0.1:30001,CONTROLLER://127.0.0.1:31001"
    assert props["advertised.listeners"] == "SASL_SSL://127.0.0.1:30001"
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["super.users"] == "User:admin;User:ANONYMOUS"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert f'username="{ADMIN}"' in props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    scram = sec.scram_format_args()
    assert scram.count("--add-scram") == 3
    assert f"SCRAM-SHA-512=[name={APP},password={sec.password(APP)}]" in scram
    plain = _props(server_properties(node, [node], "127.0.0.1"))
    assert plain["listeners"].startswith("PLAINTEXT://") and "authorizer.class.name" not in plain


def test_the_app_is_granted_its_prefix_and_its_configured_topics_only() -> None:
    commands = app_acl_commands("streams", "shop", ["orders", "shop.totals", "orders", "ledger"])
    joined = [" ".join(c) for c in commands]
    assert all(c.startswith("--add --allow-principal User:streams ") for c in joined)
    prefixed = [c for c in joined if c.endswith("--resource-pattern-type prefixed")]
    assert len(prefixed) == 3
    assert any("--topic shop " in c and "--operation Write" in c for c in prefixed)
    assert any("--group shop " in c and "--operation Read" in c and "Write" not in c for c in prefixed)
    assert any("--transactional-id shop " in c and "--operation Write" in c for c in prefixed)
    (literal,) = [c for c in joined if c.endswith("literal")]
    assert "--topic ledger --topic orders --resource" in literal  # once each; shop.* is the prefix's
