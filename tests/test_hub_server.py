"""Tests of the fake Hub (tests/hub_server.py) with the real huggingface_hub client only."""

import json
import os

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    constants,
    create_repo,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

REPO = "medgan/toy-gan"
WEIGHTS_V1 = bytes(range(256)) * 4  # small binary file
WEIGHTS_V2 = WEIGHTS_V1[::-1]


def _write_folder(path, weights, config):
    path.mkdir(parents=True, exist_ok=True)
    (path / "weights.bin").write_bytes(weights)
    (path / "config.json").write_text(json.dumps(config))
    return path


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def test_fixture_points_client_at_fake_hub(fake_hub, tmp_path):
    assert constants.ENDPOINT == fake_hub.endpoint == os.environ["HF_ENDPOINT"]
    assert fake_hub.endpoint.startswith("http://127.0.0.1:")
    assert constants.HF_HUB_OFFLINE is False and "HF_HUB_OFFLINE" not in os.environ
    assert str(tmp_path) in constants.HF_HUB_CACHE
    assert HfApi().endpoint == fake_hub.endpoint


def test_round_trip_branches_and_errors(fake_hub, tmp_path):
    api = HfApi()
    url = api.create_repo(REPO, private=True, exist_ok=True)
    assert url.repo_id == REPO
    assert create_repo(REPO, exist_ok=True).repo_id == REPO  # module-level helper, idempotent
    assert fake_hub.repos[REPO].private is True
    assert api.repo_exists(REPO) and not api.repo_exists("medgan/nope")

    # First commit: a folder with a binary file and a json.
    folder = _write_folder(tmp_path / "v1", WEIGHTS_V1, {"version": 1})
    c1 = api.upload_folder(repo_id=REPO, folder_path=folder, commit_message="v1")
    assert len(c1.oid) == 40
    info = api.model_info(REPO)
    assert info.sha == c1.oid and info.private is True
    assert {s.rfilename for s in info.siblings} == {".gitattributes", "weights.bin", "config.json"}

    # Second commit changes the binary file (upload_file goes through create_commit).
    c2 = api.upload_file(path_or_fileobj=WEIGHTS_V2, path_in_repo="weights.bin", repo_id=REPO)
    assert c2.oid != c1.oid and api.model_info(REPO).sha == c2.oid
    assert api.model_info(REPO, revision=c1.oid).sha == c1.oid

    # Downloads by branch and by the first commit's sha land in the cache with the right bytes.
    latest = hf_hub_download(REPO, "weights.bin")
    pinned = hf_hub_download(REPO, "weights.bin", revision=c1.oid)
    assert _read(latest) == WEIGHTS_V2 and _read(pinned) == WEIGHTS_V1
    assert latest.startswith(str(fake_hub.cache_dir)) and c2.oid in latest and c1.oid in pinned
    assert json.loads(_read(hf_hub_download(REPO, "config.json", revision=c1.oid))) == {"version": 1}

    # Committing to a missing branch fails like the Hub; after create_branch it works.
    with pytest.raises(RevisionNotFoundError, match="Invalid rev id: dev"):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="notes.txt", repo_id=REPO, revision="dev")
    api.create_branch(REPO, branch="dev", exist_ok=True)
    api.create_branch(REPO, branch="dev", exist_ok=True)  # already exists: fine
    c3 = api.upload_file(path_or_fileobj=b"dev notes", path_in_repo="docs/notes.txt", repo_id=REPO, revision="dev")
    assert _read(hf_hub_download(REPO, "docs/notes.txt", revision="dev")) == b"dev notes"
    assert api.model_info(REPO).sha == c2.oid  # main untouched
    assert sorted(api.list_repo_files(REPO, revision="dev")) == [
        ".gitattributes", "config.json", "docs/notes.txt", "weights.bin"]
    assert [b.name for b in api.list_repo_refs(REPO).branches] == ["main", "dev"]

    # Deletions (create_commit and upload_folder's delete_patterns) create new snapshots too.
    api.create_commit(REPO, [CommitOperationDelete("docs/")], commit_message="rm docs", revision="dev")
    assert "docs/notes.txt" not in api.list_repo_files(REPO, revision="dev")
    folder3 = _write_folder(tmp_path / "v3", WEIGHTS_V1, {"version": 3})
    api.upload_folder(repo_id=REPO, folder_path=folder3, revision="dev", delete_patterns="*.json",
                      allow_patterns="*.bin")
    assert sorted(api.list_repo_files(REPO, revision="dev")) == [".gitattributes", "weights.bin"]
    assert sorted(api.list_repo_files(REPO, revision=c3.oid))[-1] == "weights.bin"  # old snapshot intact

    # snapshot_download (tree listing + resolve) of the pinned first commit.
    snap = snapshot_download(REPO, revision=c1.oid)
    assert sorted(os.listdir(snap)) == [".gitattributes", "config.json", "weights.bin"]

    # Error mapping: missing file / repo / revision.
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(REPO, "missing.bin")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("medgan/nope", "weights.bin")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(REPO, "weights.bin", revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(REPO, revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        api.create_commit("medgan/nope", [CommitOperationAdd("a.txt", b"a")], commit_message="x")

    # Stop the server and go offline: cached files still load, without any request.
    fake_hub.stop()
    fake_hub.go_offline()
    assert constants.HF_HUB_OFFLINE is True and os.environ["HF_HUB_OFFLINE"] == "1"
    n_requests = len(fake_hub.requests)
    assert _read(hf_hub_download(REPO, "weights.bin")) == WEIGHTS_V2
    assert _read(hf_hub_download(REPO, "weights.bin", revision=c1.oid)) == WEIGHTS_V1
    assert snapshot_download(REPO, revision=c1.oid) == snap
    with pytest.raises(LocalEntryNotFoundError):
        hf_hub_download(REPO, "never-downloaded.bin")
    with pytest.raises(LocalEntryNotFoundError):
        hf_hub_download(REPO, "config.json", revision="dev")
    assert len(fake_hub.requests) == n_requests


def test_server_down_falls_back_to_cache(fake_hub):
    api = HfApi()
    api.create_repo(REPO)
    api.upload_file(path_or_fileobj=b"abc", path_in_repo="a.txt", repo_id=REPO)
    path = hf_hub_download(REPO, "a.txt")
    assert ("HEAD", f"/{REPO}/resolve/main/a.txt") in fake_hub.requests
    fake_hub.stop()  # still "online": the HEAD call fails to connect, the cached file is used
    assert hf_hub_download(REPO, "a.txt") == path


def test_unchanged_upload_makes_no_commit(fake_hub):
    api = HfApi()
    api.create_repo(REPO)
    first = api.upload_file(path_or_fileobj=b"same", path_in_repo="a.txt", repo_id=REPO)
    again = api.upload_file(path_or_fileobj=b"same", path_in_repo="a.txt", repo_id=REPO)
    assert again.oid == first.oid
    assert len(fake_hub.repos[REPO].commits) == 2  # initial commit + one upload


def test_fixture_restores_environment(tmp_path):
    # Drive the fixture by hand: inside it the client points at loopback; afterwards nothing is left.
    from hub_server import fake_hub as fixture

    before = (constants.ENDPOINT, constants.HF_HUB_OFFLINE, os.environ.get("HF_HUB_OFFLINE"))
    with pytest.MonkeyPatch.context() as mp:
        gen = fixture.__wrapped__(tmp_path, mp)
        hub = next(gen)
        assert constants.ENDPOINT == hub.endpoint and not constants.HF_HUB_OFFLINE
        gen.close()
    assert (constants.ENDPOINT, constants.HF_HUB_OFFLINE, os.environ.get("HF_HUB_OFFLINE")) == before
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
