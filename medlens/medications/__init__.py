"""Medications: drug attributes (strength, dose, route, frequency, duration, status, indication) and adverse drug events."""
