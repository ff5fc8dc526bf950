"""bytes -> records: the only code that splits DSN/PASRAU lines."""
