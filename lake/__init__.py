"""The lake: ``ad-ledger`` and ``orders`` as Parquet files, exactly once (docs/lake.md).

``sink`` reads the topics with read_committed as its own consumer group and
publishes files whose names carry topic, partition and offset range;
``report`` rebuilds the daily statistics from the files with DuckDB.
"""
