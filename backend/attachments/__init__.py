"""Files that travel with a lead: business-card photos, other photos and voice notes."""
