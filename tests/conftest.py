# Session-wide Kafka fixtures (kafka_bootstrap, kafka_cluster) and the `integration` marker.
pytest_plugins = ["infra.kafka.pytest_plugin"]
