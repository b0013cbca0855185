"""LOG_FORMAT=json: one JSON object per line, with the record's topic and partition."""

from __future__ import annotations

import logging

import orjson

from streaming.logs import JsonFormatter, logging_config


def test_a_json_line_has_level_logger_message_and_the_partition() -> None:
    record = logging.LogRecord("eos.gate", logging.ERROR, __file__, 1, "batch of %s failed", ("x",), None)
    record.topic, record.partition = "ad-clicks", 3
    line = orjson.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR" and line["logger"] == "eos.gate"
    assert line["message"] == "batch of x failed"
    assert (line["topic"], line["partition"]) == ("ad-clicks", 3)
    assert "\n" not in JsonFormatter().format(record)


def test_text_stays_fausts_and_json_replaces_only_the_console_format() -> None:
    assert logging_config("text") is None
    config = logging_config("json")
    assert config is not None and config["merge"] is True
    assert config["handlers"]["default"]["formatter"] == "json"
