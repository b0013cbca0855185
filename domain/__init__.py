"""Pure domain logic: validation and money arithmetic. Imports no Faust, no Kafka."""
