"""Organiser attendee lists: badge ids with contact details, uploaded per event (CSV)."""
