"""Our exactly-once processing on faust-streaming, through its extension points.

Each fix names the defect it answers (see ``docs/exactly-once.md``)
and has a regression test that fails against stock Faust. The package's
modules import nothing at package import (``eos.compat`` is imported from
``streaming`` too): the transport is ``eos.transport.EosTransport``.
"""
