"""Kafka's own CLI tools, run from the same jars as the broker (no Kafka install needed)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from domain.errors import StreamsError

from .jars import java_command, kafka_version, uses_log4j2

# Main classes in Kafka 4.4 (checked against kafka-tools-4.4.0.jar / kafka_2.13-4.4.0.jar);
# during 3.x and 4.0 several moved from kafka.* (Scala) to org.apache.kafka.tools.* (Java).
TOOLS: dict[str, str] = {
    "topics": "org.apache.kafka.tools.TopicCommand",
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "configs": "org.apache.kafka.tools.ConfigCommand",
    "acls": "org.apache.kafka.tools.AclCommand",
    "broker-api-versions": "org.apache.kafka.tools.BrokerApiVersionsCommand",
    "storage": "kafka.tools.StorageTool",
}
# Where Kafka 3.x (checked against 3.9.1's jars) still had them.
TOOLS_3X: dict[str, str] = {
    "console-producer": "kafka.tools.ConsoleProducer",
    "configs": "kafka.admin.ConfigCommand",
    "acls": "kafka.admin.AclCommand",
    "broker-api-versions": "kafka.admin.BrokerApiVersionsCommand",
}


def main_class(tool: str, version: str) -> str:
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; known: {', '.join(TOOLS)}")
    if not uses_log4j2(version):  # a 3.x broker: the tools moved along with log4j2, in 4.0
        return TOOLS_3X.get(tool, TOOLS[tool])
    return TOOLS[tool]


class ToolError(StreamsError, subprocess.CalledProcessError):
    """A tool exited non-zero; unlike its base class, the message shows what the tool said."""

    def __str__(self) -> str:
        said = "\n".join(f"{self.stderr or ''}{self.stdout or ''}".strip().splitlines()[-20:])
        return f"{super().__str__()}\n{said}".rstrip()


def tool_command(tool: str, *args: str, bootstrap: str | None, version: str | None = None) -> list[str]:
    """The argv for ``tool``; ``--bootstrap-server`` is added unless given or ``bootstrap`` is None."""
    version = version or kafka_version()
    cls = main_class(tool, version)
    extra: list[str] = []
    if bootstrap is not None and not any(a.startswith("--bootstrap-server") for a in args):
        extra = ["--bootstrap-server", bootstrap]
    return java_command(cls, *extra, *args, version=version)


def run_tool(
    tool: str,
    *args: str,
    bootstrap: str | None,
    check: bool = True,
    timeout: float | None = 120,
    input: str | None = None,
    version: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a tool to completion; stdout/stderr captured as text.

    ``check`` raises ToolError (a CalledProcessError that prints the tool's output).
    """
    proc = subprocess.run(
        tool_command(tool, *args, bootstrap=bootstrap, version=version),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",  # records may hold any bytes (dead letters keep the original)
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise ToolError(proc.returncode, proc.args, output=proc.stdout, stderr=proc.stderr)
    return proc


def popen_tool(tool: str, *args: str, bootstrap: str | None, **kwargs: Any) -> subprocess.Popen[str]:
    """Streaming variant: stdout is a text pipe unless overridden (e.g. a live console consumer)."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen(tool_command(tool, *args, bootstrap=bootstrap), text=True, **kwargs)


def console_consume(
    bootstrap: str,
    topic: str,
    *,
    read_committed: bool = True,
    from_beginning: bool = True,
    timeout_ms: int = 10_000,
    max_messages: int | None = None,
    print_key: bool = False,
    group: str | None = None,
    formatter: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """Records of ``topic`` as printed by the console consumer, one string per record.

    Stops after ``max_messages`` or once no record arrived for ``timeout_ms``;
    both are normal ends here, not errors. ``formatter``: the record formatter's
    properties (e.g. ``print.offset``), passed as each broker version expects.
    """
    args = ["--topic", topic, "--timeout-ms", str(timeout_ms)]
    if read_committed:
        args += ["--isolation-level", "read_committed"]
    if from_beginning:
        args.append("--from-beginning")
    if max_messages is not None:
        args += ["--max-messages", str(max_messages)]
    props = dict(formatter or {})
    if print_key:
        props.update({"print.key": "true", "key.separator": "\t"})
    # 4.x deprecated --property, and says so on stdout, among the records.
    flag = "--formatter-property" if uses_log4j2(kafka_version()) else "--property"
    args += [a for k, v in props.items() for a in (flag, f"{k}={v}")]
    if group is not None:
        args += ["--group", group]
    args += list(extra)
    proc = run_tool(
        "console-consumer",
        *args,
        bootstrap=bootstrap,
        check=False,
        timeout=timeout_ms / 1000 + 60,
    )
    if proc.returncode != 0 and "TimeoutException" not in proc.stderr:
        raise ToolError(proc.returncode, proc.args, output=proc.stdout, stderr=proc.stderr)
    return proc.stdout.splitlines()
