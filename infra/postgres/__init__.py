"""A local PostgreSQL cluster from Debian's ``postgresql`` package, for the order service and its tests."""
