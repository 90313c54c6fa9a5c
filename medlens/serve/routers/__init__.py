"""One router per resource: analyze, kg, health, page, and the optional ones (diagnose, deid)."""
