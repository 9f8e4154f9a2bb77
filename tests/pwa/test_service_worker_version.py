"""The service worker's cache is named after the contents of the files it caches: the app
serves ``sw.js`` with ``VERSION`` replaced by a hash of them, so changing any shell file
makes phones fetch the new shell, and nobody bumps a version by hand."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from backend import create_app
from backend.pwa_views import served_service_worker

PWA = Path(__file__).resolve().parents[2] / "pwa"
WASM = "/app/vendor/zxing-wasm/reader/zxing_reader.wasm"
VERSION = re.compile(r"^const VERSION = '([^']*)';$", re.M)


def cached_urls(source: str) -> list[str]:
    """Every ``/app/...`` URL in the worker's ``const NAME = [...]`` lists (SHELL,
    ATTACHMENTS, SCANNER): what its install handler caches."""
    lists = re.findall(r"^const \w+ = \[(.*?)\];", source, re.M | re.S)
    return sorted({url for body in lists for url in re.findall(r"'(/app/[^']*)'", body)})


def expected_version(folder: Path) -> str:
    digest = hashlib.sha256()
    for url in cached_urls((folder / "sw.js").read_text()):
        data = (folder / (url.removeprefix("/app/") or "index.html")).read_bytes()
        digest.update(f"{url}\n{len(data)}\n".encode())
        digest.update(data)
    return f"v{digest.hexdigest()[:16]}"


def served(config: dict, folder: Path | None = None):
    app = create_app({**config, "PWA_DIR": str(folder)} if folder else config)
    return app.test_client().get("/app/sw.js")


@pytest.fixture
def copy(tmp_path):
    """A fresh copy of ``pwa/`` per call (the version is computed once per directory)."""
    count = iter(range(100))

    def make() -> Path:
        folder = tmp_path / f"pwa{next(count)}"
        shutil.copytree(PWA, folder)
        return folder

    return make


def test_the_served_worker_names_its_cache_after_a_hash_of_the_files_it_caches(app, client):
    response = client.get("/app/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/app/"
    assert response.headers["Cache-Control"] == "no-cache"
    text = response.get_data(as_text=True)
    assert VERSION.findall(text) == [expected_version(PWA)]
    assert len(cached_urls(text)) > 20  # the shell, the attachments' modules, the decoder
    # Only the version line differs from the file in the repository.
    source = (PWA / "sw.js").read_text()
    assert VERSION.sub("", text) == VERSION.sub("", source)
    # The worker is revalidated cheaply: the same text answers 304 to its ETag.
    again = client.get("/app/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_changing_a_shell_file_changes_the_version_served(config, copy):
    before = copy()
    after = copy()
    with (after / "css" / "app.css").open("a") as css:
        css.write("\n.new-rule { color: red; }\n")
    old = VERSION.findall(served(config, before).get_data(as_text=True))
    new = VERSION.findall(served(config, after).get_data(as_text=True))
    assert old == [expected_version(before)] == [expected_version(PWA)]
    assert new == [expected_version(after)]
    assert old != new


def test_every_cached_file_counts_and_files_it_does_not_cache_do_not(copy):
    folder = copy()
    original = served_service_worker(folder)[0]
    assert WASM in cached_urls((folder / "sw.js").read_text())
    # A file of each list: the shell's page and a catalogue, an attachment module, the
    # decoder's WebAssembly.
    for url in ("/app/", "/app/i18n/ru.json", "/app/js/media.js", WASM):
        changed = copy()
        with (changed / (url.removeprefix("/app/") or "index.html")).open("ab") as file:
            file.write(b"\n")
        assert served_service_worker(changed)[0] != original, url
    untouched = copy()
    (untouched / "visitor.html").write_text("<!doctype html>changed")
    (untouched / "README.md").write_text("changed")
    assert served_service_worker(untouched)[0] == original


def test_a_new_file_in_the_shell_list_changes_the_version(copy):
    folder = copy()
    original = served_service_worker(folder)[0]
    changed = copy()
    (changed / "js" / "extra.js").write_text("export const extra = 1;\n")
    sw = changed / "sw.js"
    sw.write_text(
        sw.read_text().replace(
            "  '/app/js/app.js',\n", "  '/app/js/app.js',\n  '/app/js/extra.js',\n"
        )
    )
    assert "/app/js/extra.js" in cached_urls(sw.read_text())
    assert served_service_worker(changed)[0] == expected_version(changed) != original
