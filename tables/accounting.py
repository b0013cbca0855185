"""Per source partition: consumed = processed + duplicates + dead_lettered."""

from tables._declare import table

# "topic/partition" -> {consumed, processed, duplicates, dead_lettered}
accounting = table("accounting", "input accounting per source topic partition")
