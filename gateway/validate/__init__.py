"""Named rules, their registry, and the functions that apply them to parsed units."""
