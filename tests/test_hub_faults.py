"""The Hub failing: server errors named as such, failed first pushes cleaned up, a stalled server
timed out, and damaged downloads refused by their checksum (the real client, the loopback fake Hub).

Faults use HTTP 501: a server error huggingface_hub does not retry (500, 502-504 are retried with
back-off for about 23 s, then handled the same way)."""

import time

import pytest
from conftest import tiny

import zoo
from zoo.errors import WeightsError, ZooError


def test_a_server_error_on_download_is_named_not_called_offline(fake_hub):
    tiny("dcgan-lesions").push_to_hub("lab/x")
    fake_hub.fault = lambda method, path: 501 if "/resolve/" in path else None
    with pytest.raises(ZooError) as err:
        zoo.load("lab/x")
    assert "answered HTTP 501" in str(err.value) and "server's side" in str(err.value)
    assert "cannot be reached" not in str(err.value)


def test_a_failed_first_push_removes_the_repo_it_created(fake_hub):
    fake_hub.fault = lambda method, path: 501 if "/commit/" in path else None
    with pytest.raises(ZooError, match="push to Hub repo 'lab/new' failed: .*501.* was removed again"):
        tiny("dcgan-lesions").push_to_hub("lab/new")
    assert "lab/new" not in fake_hub.repos
    fake_hub.fault = None
    tiny("dcgan-lesions").push_to_hub("lab/old")
    fake_hub.fault = lambda method, path: 501 if "/commit/" in path else None
    with pytest.raises(ZooError) as err:  # a repo that existed before the push is left alone
        tiny("sngan-lesions").push_to_hub("lab/old")
    assert "removed" not in str(err.value) and "lab/old" in fake_hub.repos


@pytest.mark.slow
def test_a_stalled_hub_times_out_instead_of_blocking(fake_hub, monkeypatch):
    monkeypatch.setenv("MEDGAN_ZOO_HUB_TIMEOUT", "0.5")
    fake_hub.fault = lambda method, path: ("stall", 5) if "/commit/" in path else None
    start = time.monotonic()
    with pytest.raises(ZooError, match=r"did not answer within 0.5 s \(MEDGAN_ZOO_HUB_TIMEOUT\)"):
        tiny("dcgan-lesions").push_to_hub("lab/slow")
    # huggingface_hub retries a timed-out request 5 times with back-off (1+2+4+8+8 s); never forever
    assert time.monotonic() - start < 60
    assert "lab/slow" not in fake_hub.repos


def test_a_changed_cached_weight_file_is_refused_by_its_checksum(fake_hub):
    tiny("dcgan-lesions").push_to_hub("lab/sum")
    zoo.load("lab/sum")  # downloads into the cache; verified
    blobs = [p for p in fake_hub.cache_dir.rglob("snapshots/*/generator.safetensors")]
    assert len(blobs) == 1
    blob = blobs[0].resolve()
    data = bytearray(blob.read_bytes())
    data[-3] ^= 0x01  # one bit of one weight: safetensors itself would load it silently
    blob.write_bytes(bytes(data))
    fake_hub.go_offline()
    with pytest.raises(WeightsError, match="generator.safetensors of lab/sum does not match the checksum"):
        zoo.load("lab/sum")
