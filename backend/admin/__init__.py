"""The install's own settings, kept in the database and edited by an admin."""
