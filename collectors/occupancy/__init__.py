"""Occupancy from calendars: the Google Calendar adapter, its client plumbing and the rules."""
