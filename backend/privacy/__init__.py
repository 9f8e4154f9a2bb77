"""Privacy: export and erase a person's data, and the retention rule."""
