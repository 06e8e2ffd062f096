"""In-memory fake of the Hugging Face Hub HTTP API, for tests (loopback only, stdlib only).

The *real* ``huggingface_hub`` client (checked against 2.4.0) talks to it through its endpoint
setting. Supported, for model repos only (dataset/space/kernel routes answer 404 RepoNotFound):

* ``POST /api/repos/create``, ``DELETE /api/repos/delete``, ``GET /api/whoami-v2``,
  ``POST /api/validate-yaml`` (always valid), ``GET /api/agent-harnesses`` (empty registry)
* ``GET  /api/models/{repo}[/revision/{rev}]``     model_info / repo_info / repo_exists
* ``POST /api/models/{repo}/preupload/{rev}``      every file is "regular": no LFS, no Xet
* ``POST /api/models/{repo}/commit/{branch}``      NDJSON, base64 files + deletedFile/deletedFolder
* ``POST /api/models/{repo}/branch/{name}``, ``GET /api/models/{repo}/refs``
* ``GET  /api/models/{repo}/tree/{rev}[/{path}]``, ``POST /api/models/{repo}/paths-info/{rev}``
* ``HEAD|GET /{repo}/resolve/{rev}/{path}``        hf_hub_download / snapshot_download

Each commit is an immutable snapshot ``{path: bytes}`` under a fresh 40-hex sha; branches point at
commits. Like the real Hub, a new repo starts with an "initial commit" holding ``.gitattributes``.
Errors carry the ``X-Error-Code`` header (RepoNotFound / RevisionNotFound / EntryNotFound) that
``hf_raise_for_status`` maps to the matching ``huggingface_hub`` exception. Auth is not checked.

Use the ``fake_hub`` fixture (bottom of this file); ``server.requests`` lists ``(method, path)``.
Faults: ``server.fault = lambda method, path: ...`` returning None (answer normally), an HTTP status
(answer that, e.g. 500) or ``("stall", seconds)`` (wait that long, then answer normally).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

DEFAULT_USER = "fake-user"  # namespace used by create_repo("name") without an organization
GITATTRIBUTES = b"*.bin filter=lfs diff=lfs merge=lfs -text\n*.pt filter=lfs diff=lfs merge=lfs -text\n" \
    b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"


def git_blob_sha(data: bytes) -> str:
    """Git blob id: what the Hub serves as ETag of a regular file (and preupload's "oid")."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Request(NamedTuple):
    method: str
    path: str  # raw URL path, query string dropped


@dataclass
class Commit:
    files: dict[str, bytes]
    parent: str | None
    message: str
    created: float = field(default_factory=time.time)


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, rev: str) -> str | None:
        """Branch name, full sha or unique sha prefix (>= 7 chars) -> commit sha."""
        if rev in self.branches:
            return self.branches[rev]
        if rev in self.commits:
            return rev
        matches = [sha for sha in self.commits if len(rev) >= 7 and sha.startswith(rev)]
        return matches[0] if len(matches) == 1 else None


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers or {}


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


class FakeHub:
    """The fake Hub: state + a ThreadingHTTPServer on 127.0.0.1 in a daemon thread."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()  # requests are handled one at a time
        self._counter = itertools.count()
        self._httpd: ThreadingHTTPServer | None = None
        self._monkeypatch: pytest.MonkeyPatch | None = None  # set by the fixture, for go_offline()
        self.endpoint = ""
        self.cache_dir: Path | None = None  # HF_HUB_CACHE when started by the fixture
        self.fault = None  # (method, path) -> None | status | ("stall", seconds); see the module docstring

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "FakeHub":
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.hub = self  # type: ignore[attr-defined]
        self.endpoint = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, name="fake-hub", daemon=True).start()
        return self

    def stop(self) -> None:
        """Shut the server down (idempotent). Later requests fail with a connection error."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def go_offline(self, monkeypatch: pytest.MonkeyPatch | None = None) -> None:
        """Turn HF_HUB_OFFLINE on (env var + the constant the client reads at call time)."""
        self._set_offline(True, monkeypatch)

    def go_online(self, monkeypatch: pytest.MonkeyPatch | None = None) -> None:
        self._set_offline(False, monkeypatch)

    def _set_offline(self, offline: bool, monkeypatch: pytest.MonkeyPatch | None) -> None:
        from huggingface_hub import constants

        mp = monkeypatch or self._monkeypatch
        assert mp is not None, "pass a monkeypatch (or use the fake_hub fixture)"
        if offline:
            mp.setenv("HF_HUB_OFFLINE", "1")
        else:
            mp.delenv("HF_HUB_OFFLINE", raising=False)
        mp.setattr(constants, "HF_HUB_OFFLINE", offline)

    # -- state helpers -----------------------------------------------------------------------
    def _commit(self, repo: Repo, files: dict[str, bytes], parent: str | None, message: str) -> str:
        listing = "\n".join(f"{p}:{git_blob_sha(d)}" for p, d in sorted(files.items()))
        seed = f"{repo.repo_id}\n{parent}\n{next(self._counter)}\n{message}\n{listing}"
        sha = hashlib.sha1(seed.encode()).hexdigest()
        repo.commits[sha] = Commit(files=files, parent=parent, message=message)
        return sha

    def _repo(self, repo_id: str) -> Repo:
        if repo_id not in self.repos:
            raise HubError(404, "Repository not found", "RepoNotFound")
        return self.repos[repo_id]

    def _rev(self, repo: Repo, rev: str) -> str:
        sha = repo.resolve(rev)
        if sha is None:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return sha

    # -- route handlers: each returns (status, body, extra headers) or raises HubError ----------
    def create_repo(self, payload: dict):
        if payload.get("type") not in (None, "model"):
            raise HubError(400, "The fake hub only supports model repos")
        repo_id = f"{payload.get('organization') or DEFAULT_USER}/{payload['name']}"
        url = f"{self.endpoint}/{repo_id}"
        if repo_id in self.repos:
            return 409, {"error": "You already created this model repo", "url": url}, {}
        repo = self.repos[repo_id] = Repo(repo_id, private=payload.get("visibility") == "private")
        repo.branches["main"] = self._commit(repo, {".gitattributes": GITATTRIBUTES}, None, "initial commit")
        return 200, {"url": url, "name": repo_id}, {}

    def delete_repo(self, payload: dict):
        repo_id = f"{payload.get('organization') or DEFAULT_USER}/{payload['name']}"
        self._repo(repo_id)
        del self.repos[repo_id]
        return 200, {}, {}

    def repo_info(self, repo: Repo, rev: str):
        sha = self._rev(repo, rev)
        commit = repo.commits[sha]
        siblings = [{"rfilename": p, "size": len(d), "blobId": git_blob_sha(d)}
                    for p, d in sorted(commit.files.items())]
        created = repo.commits[next(iter(repo.commits))].created
        return 200, {
            "id": repo.repo_id, "modelId": repo.repo_id, "author": repo.repo_id.split("/")[0], "sha": sha,
            "private": repo.private, "gated": False, "disabled": False, "downloads": 0, "likes": 0, "tags": [],
            "lastModified": _iso(commit.created), "createdAt": _iso(created), "siblings": siblings,
        }, {}

    def preupload(self, repo: Repo, rev: str, payload: dict):
        # Like the Hub, an unknown branch is only rejected at commit time.
        sha = repo.resolve(rev)
        files = repo.commits[sha].files if sha else {}
        out = []
        for f in payload["files"]:
            entry = {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
            if f["path"] in files:  # lets the client skip unchanged files, as with the real Hub
                entry["oid"] = git_blob_sha(files[f["path"]])
            out.append(entry)
        return 200, {"files": out}, {}

    def commit(self, repo: Repo, branch: str, lines: list[dict], create_pr: bool):
        if create_pr:
            raise HubError(400, "Pull requests are not supported by the fake hub")
        if branch not in repo.branches:
            raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        head = repo.branches[branch]
        header = next((item["value"] for item in lines if item["key"] == "header"), {})
        parent = header.get("parentCommit")
        if parent and not head.startswith(parent):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(repo.commits[head].files)
        for item in lines:
            key, value = item["key"], item["value"]
            if key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                if files.pop(value["path"], None) is None:
                    raise HubError(404, "A file with this name doesn't exist", "EntryNotFound")
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {p: d for p, d in files.items() if not p.startswith(prefix)}
            elif key != "header":  # "lfsFile" never happens: preupload never answers "lfs"
                raise HubError(400, f"Unsupported commit operation {key!r}")
        sha = repo.branches[branch] = self._commit(repo, files, head, header.get("summary", ""))
        url = f"{self.endpoint}/{repo.repo_id}/commit/{sha}"
        return 200, {"success": True, "commitOid": sha, "commitUrl": url, "hookOutput": "", "pullRequestUrl": None}, {}

    def create_branch(self, repo: Repo, branch: str, payload: dict):
        if branch in repo.branches:
            return 409, {"error": "Reference already exists"}, {}
        repo.branches[branch] = self._rev(repo, payload.get("startingPoint") or "main")
        return 200, {}, {}

    def refs(self, repo: Repo):
        branches = [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": s} for n, s in repo.branches.items()]
        return 200, {"branches": branches, "tags": [], "converts": []}, {}

    @staticmethod
    def _entries(files: dict[str, bytes], prefix: str, recursive: bool) -> dict[str, dict]:
        """Tree entries (files and directories) under `prefix`, as the Hub's tree API lists them."""
        base = prefix.strip("/") + "/" if prefix.strip("/") else ""
        out: dict[str, dict] = {}
        for path in sorted(files):
            if not path.startswith(base):
                continue
            parts = path[len(base):].split("/")
            for depth in range(1, len(parts) if recursive else min(len(parts), 2)):
                folder = base + "/".join(parts[:depth])
                oid = hashlib.sha1(folder.encode()).hexdigest()
                out.setdefault(folder, {"type": "directory", "oid": oid, "path": folder})
            if recursive or len(parts) == 1:
                out[path] = {"type": "file", "oid": git_blob_sha(files[path]), "size": len(files[path]), "path": path}
        return out

    def tree(self, repo: Repo, rev: str, path: str, recursive: bool):
        entries = self._entries(repo.commits[self._rev(repo, rev)].files, path, recursive)
        if path.strip("/") and not entries:
            raise HubError(404, f"{path} does not exist on {rev!r}", "EntryNotFound")
        return 200, list(entries.values()), {}

    def paths_info(self, repo: Repo, rev: str, paths: list[str]):
        files = repo.commits[self._rev(repo, rev)].files
        everything = self._entries(files, "", recursive=True)
        return 200, [everything[p.strip("/")] for p in paths if p.strip("/") in everything], {}

    def resolve_file(self, repo: Repo, rev: str, path: str):
        sha = self._rev(repo, rev)
        files = repo.commits[sha].files
        if path not in files:
            raise HubError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": sha})
        data = files[path]
        headers = {"X-Repo-Commit": sha, "ETag": f'"{git_blob_sha(data)}"', "Content-Type": "application/octet-stream"}
        return 200, data, headers


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so `stop()` really cuts the client off (no keep-alive).
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):  # noqa: A002 - keep pytest output clean
        pass

    def do_GET(self):
        self._handle()

    do_HEAD = do_POST = do_DELETE = do_PUT = do_GET

    def _handle(self) -> None:
        hub: FakeHub = self.server.hub  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = hub.fault(self.command, url.path) if hub.fault else None
        if isinstance(fault, tuple) and fault[0] == "stall":
            time.sleep(fault[1])
        elif isinstance(fault, int):
            hub.requests.append(Request(self.command, url.path))
            data = json.dumps({"error": f"injected HTTP {fault}"}).encode()
            self.send_response(fault)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return
        with hub.lock:
            hub.requests.append(Request(self.command, url.path))
            try:
                status, payload, headers = self._route(hub, url.path, parse_qs(url.query), body)
            except HubError as e:
                status, payload, headers = e.status, {"error": str(e)}, dict(e.headers)
                headers["X-Error-Message"] = str(e)
                if e.code:
                    headers["X-Error-Code"] = e.code
            except Exception as e:  # a fake-hub bug or a malformed request: fail fast (5xx are retried)
                status, payload, headers = 400, {"error": f"fake hub error: {e!r}"}, {}
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        headers.setdefault("Content-Type", "application/json")
        for key, value in {**headers, "Content-Length": str(len(data))}.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _route(self, hub: FakeHub, path: str, query: dict, body: bytes):
        # Split before unquoting: revisions are sent with "/" encoded as %2F.
        segs = [unquote(s) for s in path.strip("/").split("/")]
        method = self.command
        jbody = lambda: json.loads(body or b"{}")  # noqa: E731
        if segs[0] != "api":  # /{ns}/{name}/resolve/{rev}/{path...}
            if len(segs) >= 5 and segs[2] == "resolve" and method in ("GET", "HEAD"):
                return hub.resolve_file(hub._repo(f"{segs[0]}/{segs[1]}"), segs[3], "/".join(segs[4:]))
            raise HubError(404, "Repository not found", "RepoNotFound")
        api = (method, *segs[1:3])
        if api == ("GET", "whoami-v2"):
            return 200, {"type": "user", "name": DEFAULT_USER, "orgs": []}, {}
        if api == ("POST", "validate-yaml"):
            return 200, {"errors": [], "warnings": []}, {}
        if api == ("GET", "agent-harnesses"):
            return 200, {"harnesses": {}, "standardEnvVars": []}, {}
        if api == ("POST", "repos", "create"):
            return hub.create_repo(jbody())
        if api == ("DELETE", "repos", "delete"):
            return hub.delete_repo(jbody())
        if len(segs) < 4 or segs[1] != "models":
            raise HubError(404, "Repository not found", "RepoNotFound")
        repo = hub._repo(f"{segs[2]}/{segs[3]}")
        action, rest = (segs[4] if len(segs) > 4 else ""), segs[5:]
        if (method, action) == ("GET", "") or (method, action) == ("GET", "revision") and rest:
            return hub.repo_info(repo, rest[0] if rest else "main")
        if (method, action) == ("POST", "preupload") and rest:
            return hub.preupload(repo, rest[0], jbody())
        if (method, action) == ("POST", "commit") and rest:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            return hub.commit(repo, rest[0], lines, create_pr=bool(query.get("create_pr")))
        if (method, action) == ("POST", "branch") and rest:
            return hub.create_branch(repo, rest[0], jbody())
        if (method, action) == ("GET", "refs"):
            return hub.refs(repo)
        if (method, action) == ("GET", "tree") and rest:
            recursive = query.get("recursive", ["False"])[0].lower() in ("1", "true")
            return hub.tree(repo, rest[0], "/".join(rest[1:]), recursive)
        if (method, action) == ("POST", "paths-info") and rest:
            return hub.paths_info(repo, rest[0], parse_qs(body.decode()).get("paths", []))
        raise HubError(404, f"Fake hub has no route for {method} {path}")


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    """Start a FakeHub and point huggingface_hub at it, with a private HF cache under tmp_path.

    Online for the duration of the test (HF_HUB_OFFLINE off); flip with `fake_hub.go_offline()`.
    `fake_hub.stop()` kills the server. Everything patched here is restored by monkeypatch.
    Note: with the server stopped but still online, asking for a file that is NOT cached makes the
    client retry the connection with backoff (~20 s); go offline first to get the error at once.
    """
    from huggingface_hub import constants, hf_api
    from huggingface_hub.utils import _cache_manager, close_session

    hub = FakeHub().start()
    hub._monkeypatch = monkeypatch
    hf_home = tmp_path / "hf_home"
    hub.cache_dir = hf_home / "hub"
    hub.cache_dir.mkdir(parents=True)
    # A cached (empty) agent-harness registry: otherwise the first header build of the process
    # fetches `{ENDPOINT}/api/agent-harnesses` (and caches it under the real HF_HOME).
    harnesses = hf_home / ".agent_harnesses.json"
    harnesses.write_text(json.dumps({"harnesses": {}, "standardEnvVars": []}))

    env = {"HF_ENDPOINT": hub.endpoint, "HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hub.cache_dir),
           "HF_TOKEN": "hf_fake_token", "HF_HUB_DISABLE_TELEMETRY": "1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_OIDC_RESOURCE", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(key, raising=False)

    # huggingface_hub reads env vars into `constants` at import time: patch what it reads at call time.
    for name, value in {
        "ENDPOINT": hub.endpoint,
        "HUGGINGFACE_CO_URL_TEMPLATE": hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HUB_OFFLINE": False,
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(hub.cache_dir),
        "HUGGINGFACE_HUB_CACHE": str(hub.cache_dir),
        "HF_ASSETS_CACHE": str(hf_home / "assets"),
        "HF_XET_CACHE": str(hf_home / "xet"),
        "HF_TOKEN_PATH": str(hf_home / "token"),
        "HF_STORED_TOKENS_PATH": str(hf_home / "stored_tokens"),
        "AGENT_HARNESSES_PATH": str(harnesses),
    }.items():
        monkeypatch.setattr(constants, name, value)
    # Copies taken at import time: the module-level HfApi behind `huggingface_hub.create_repo`,
    # `upload_folder`, `model_info`... and `scan_cache_dir`'s default cache dir.
    monkeypatch.setattr(hf_api.api, "endpoint", hub.endpoint)
    monkeypatch.setattr(_cache_manager, "HF_HUB_CACHE", str(hub.cache_dir))

    yield hub
    hub.stop()
    close_session()  # drop pooled connections to this server's port
