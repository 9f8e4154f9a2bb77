"""Where attachment bytes live: a folder today (``ATTACHMENTS_DIR``), behind a small interface.

Web and workers must see the same folder (a shared volume in docker-compose). Another
backend (S3, say) needs only ``put``, ``read``, ``path`` and ``delete``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import current_app


class FolderStorage:
    """Files under one root folder, addressed by relative keys such as ``12/<uuid>.jpg``."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"key escapes the storage folder: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` under ``key`` atomically (a reader never sees half a file)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes:
        """The stored bytes; raises FileNotFoundError when the file is gone."""
        return self._path(key).read_bytes()

    def path(self, key: str) -> Path:
        """The file's path on disk (for ``send_file``)."""
        return self._path(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file; a missing file is not an error."""
        self._path(key).unlink(missing_ok=True)


def get_storage() -> FolderStorage:
    return FolderStorage(current_app.config["ATTACHMENTS_DIR"])
