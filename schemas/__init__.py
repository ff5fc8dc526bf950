"""Published record schemas (Avro is the source of truth) and the norm catalogue data."""
