"""Developer and CI infrastructure (local Kafka cluster, test fixtures); not used by workers."""
