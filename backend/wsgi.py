"""The WSGI entry point for gunicorn: ``gunicorn backend.wsgi:app``.

The gazetteer index is loaded here, before gunicorn forks its workers (with
``--preload``) or at least before the first request, so no visitor waits for it.

Then everything made so far (the app, its modules, the gazetteer: some 160,000
objects that live as long as the process) is moved out of the cyclic garbage
collector's sight with ``gc.freeze()``. Otherwise each collection of the oldest
generation walks them all again: a batch sync of 500 leads makes enough objects to
set one off every time, a quarter of its Python time. Frozen before the fork, the
workers also keep sharing those pages with the master instead of copying them. (The RQ
worker does the same before it forks its work horses: ``workers.jobs.warm_up``.)
"""

import gc

from backend import create_app
from backend.routing.gazetteer import get_gazetteer

app = create_app()
get_gazetteer()
gc.collect()
gc.freeze()
