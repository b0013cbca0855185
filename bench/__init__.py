"""``make bench``: Faust vs. an aiokafka exactly-once ceiling vs. Quix Streams, side by side.

Modules: ``__main__`` (entry), ``run`` (the parts, in order), ``config`` (sizes),
``workload`` (clicks with an order-independent oracle), ``preload`` (input topics, the
gated clicks), ``worker`` / ``faust_run`` (a fresh Faust worker, timed to a verified
state), ``ceiling`` / ``quix_peer`` (subprocess entries), ``peers``, ``readback``,
``latency``, ``measure``, ``report``. Apart: ``restore`` (restore and takeover times) and
``handler`` (the budget handler's CPU per event, no broker).
"""
