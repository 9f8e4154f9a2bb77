"""The WSGI entry point for gunicorn: ``gunicorn backend.wsgi:app``.

The gazetteer index is loaded here, before gunicorn forks its workers (with
``--preload``) or at least before the first request, so no visitor waits for it.
"""

from backend import create_app
from backend.routing.gazetteer import get_gazetteer

app = create_app()
get_gazetteer()
