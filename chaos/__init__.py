"""Kill workers (and brokers) at random while they process, then check exactly-once."""
