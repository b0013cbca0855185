"""Notifications to slow external services: key-ordered parallel delivery beyond the partition count.

Pure parts (``offsets``, ``encoding``, ``scheduler``, ``delivery``'s classification) need no broker;
``runner`` is the thin aiokafka loop around them (docs/notifications.md).
"""
