"""Telegram for reps: linking an account, per-kind choices of channel, and the bot's API.

A rep links their Telegram account from their profile with a one-time deep link
(``https://t.me/<bot>?start=<code>``); the bot learns the chat when the rep presses
Start (``getUpdates`` long polling by the cron job, or a webhook). Notices for reps go
through the outbox like mails, as rows of channel ``telegram``.
"""
