"""Turn raw bytes into a validated model, or an InvalidRecord naming why not."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from domain.errors import InvalidRecord

M = TypeVar("M", bound=BaseModel)

_JSON_ERRORS = {"json_invalid", "json_type"}


def parse_json_model(model: type[M], raw: bytes | None) -> M:
    if raw is None:
        raise InvalidRecord("not_json", "record has no value (tombstone)")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if any(e["type"] in _JSON_ERRORS for e in errors):
            raise InvalidRecord("not_json", errors[0]["msg"]) from None
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:5]
        )
        raise InvalidRecord("schema", detail) from None
