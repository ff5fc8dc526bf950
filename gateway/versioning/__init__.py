"""The bitemporal register: every version of a month's resources, with when the gateway learned it."""
