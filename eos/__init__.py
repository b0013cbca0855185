"""Fixes to faust-streaming's exactly-once processing, through its extension points.

Each fix names the defect it answers (see ``docs/exactly-once.md``)
and has a regression test that fails against stock Faust.
"""

from eos.transport import EosTransport

__all__ = ["EosTransport"]
