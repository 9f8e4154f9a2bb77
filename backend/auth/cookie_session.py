"""Flask's signed-cookie session, its signing serializer built once per secret key.

Flask builds an ``URLSafeTimedSerializer`` for every request that opens or saves a session
(every request: Flask-Login reads the session even for a bearer token), and building one
serialises a test document to learn the serializer's kind: a tenth of a millisecond of
the API's hot path, for an object that depends only on the keys. It is kept per app and
built again when ``SECRET_KEY`` or ``SECRET_KEY_FALLBACKS`` change.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CookieSessionInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = app.extensions.get("leadrelay.session_serializer")
        if kept is None or kept[0] != keys:
            kept = app.extensions["leadrelay.session_serializer"] = (
                keys,
                super().get_signing_serializer(app),
            )
        return kept[1]
