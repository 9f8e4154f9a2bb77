#!/usr/bin/env bash
# Until the first release, the schema is one migration regenerated from the models.
# Deterministic name and revision id, so two people running it get the same file.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f backend/migrations/versions/*.py
LEADRELAY_INSTANCE="$tmp" .venv/bin/flask --app backend db migrate --rev-id 0001 -m "initial schema" >/dev/null
sed -i 's/^import sqlalchemy as sa$/import sqlalchemy as sa\nimport backend.db_types/' backend/migrations/versions/*.py
rm -rf "$tmp"
ls backend/migrations/versions/
