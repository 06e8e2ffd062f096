"""Talking to the Hub safely: time limits, server errors told apart from lost connections, and
every downloaded weight file checked against the checksum the Hub gave for it.

* Timeouts: huggingface_hub's own client waits forever on an API call (uploads, commits) to a
  server that accepted the connection but stopped answering. :func:`hub_timeouts` gives every
  request of zoo's Hub calls a limit (``MEDGAN_ZOO_HUB_TIMEOUT`` seconds, default 60), then puts
  the user's client settings back.
* Checksums: the Hugging Face cache stores each file under the id the Hub sent as its ETag, the
  SHA-256 of an LFS file or the git blob id (SHA-1) of a regular one. :func:`download` recomputes it,
  so a cached file changed on disk, or bytes damaged in transit, are refused instead of loaded.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from huggingface_hub import hf_hub_download, set_client_factory
from huggingface_hub.errors import HfHubHTTPError

from zoo.checksums import file_digest
from zoo.errors import WeightsError

__all__ = ["hub_timeout", "hub_timeouts", "server_error", "verify_download", "download"]

_HEX = re.compile(r"^[0-9a-f]+$")


def hub_timeout() -> float:
    """Seconds a Hub request may wait for an answer: ``MEDGAN_ZOO_HUB_TIMEOUT``, default 60."""
    try:
        value = float(os.environ.get("MEDGAN_ZOO_HUB_TIMEOUT", "60"))
    except ValueError:
        value = 60.0
    return value if value > 0 else 60.0


@contextlib.contextmanager
def hub_timeouts():
    """huggingface_hub's requests get :func:`hub_timeout` as their time limit inside this block."""
    from huggingface_hub.utils import _http

    users = getattr(_http, "_GLOBAL_CLIENT_FACTORY", _http.default_client_factory)
    seconds = hub_timeout()

    def limited():
        client = users()
        client.timeout = seconds  # connect, read, write and pool waits alike
        return client

    set_client_factory(limited)
    try:
        yield seconds
    finally:
        set_client_factory(users)


def server_error(exc: BaseException) -> str | None:
    """'HTTP 500 Internal Server Error' when ``exc`` (or what caused it) is the Hub answering with a
    server error, else None. huggingface_hub reports a download that failed that way as "cannot find
    the file in the local cache", the same as having no network."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        response = getattr(exc, "response", None) if isinstance(exc, HfHubHTTPError) else None
        status = getattr(response, "status_code", None)
        if isinstance(status, int) and status >= 500:
            return f"HTTP {status} {getattr(response, 'reason_phrase', '') or ''}".strip()
        exc = exc.__cause__ or exc.__context__
    return None


def verify_download(path: str | Path, what: str) -> Path:
    """``path`` (a file in the Hugging Face cache) if its content matches the checksum it is stored
    under; a WeightsError naming the file and the fix otherwise. Files outside the cache layout
    (no checksum in their name) are returned as they are."""
    path = Path(path)
    blob = path.resolve()
    name = blob.name
    if not _HEX.match(name) or len(name) not in (40, 64):
        return path
    if len(name) == 64:
        actual = file_digest(blob, "sha256")
    else:  # a git blob id: SHA-1 of "blob <size>\0" + content
        actual = file_digest(blob, "sha1", prefix=b"blob %d\0" % blob.stat().st_size)
    if actual != name:
        raise WeightsError(f"{what} does not match the checksum the Hub gave for it (the cached copy {blob} is "
                           "damaged or was changed): delete that file, or load with force_download=True")
    return path


def download(source: str, filename: str, **kwargs) -> Path:
    """``hf_hub_download`` with time limits and the downloaded file's checksum verified."""
    with hub_timeouts():
        path = hf_hub_download(source, filename, **kwargs)
    return verify_download(path, f"{filename} of {source}")
