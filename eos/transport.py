"""The aiokafka transports: the exactly-once one with this package's fixes plugged in,
installed under exactly_once only (``StreamsApp._new_transport``), and the plain one with
the consumer fixes that hold under either guarantee (eos.client)."""

from __future__ import annotations

from faust.transport.drivers.aiokafka import Transport

from eos.client import TunedConsumer
from eos.consumer import GatedConsumer
from eos.transactions import SourceTransactionManager


class EosTransport(Transport):
    Consumer = GatedConsumer
    TransactionManager = SourceTransactionManager


class AtLeastOnceTransport(Transport):
    Consumer = TunedConsumer
