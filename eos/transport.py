"""The aiokafka transport with this package's exactly-once fixes plugged in."""

from __future__ import annotations

from faust.transport.drivers.aiokafka import Transport

from eos.consumer import GatedConsumer
from eos.transactions import CommittingTransactionManager


class EosTransport(Transport):
    Consumer = GatedConsumer
    TransactionManager = CommittingTransactionManager
