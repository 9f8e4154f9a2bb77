"""Background work on RQ: follow-up mails, webhooks and the periodic sweeps."""
