"""A Kafka Connect worker with the Debezium PostgreSQL connector, from Maven-resolved jars."""
