"""zoo.web.study: the real-or-generated perceptual study (SQLite store, metrics, Gradio app)."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from conftest import tiny
from PIL import Image

from zoo.errors import ZooError
from zoo.web.study import StudyConfig, StudyStore, accuracy, f1_score, participant_scores, serve_study

N = 6  # images per participant: 3 real, 3 generated


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    """A tiny untrained noise-to-image model in a folder (16 x 16): a study needs no good fakes."""
    folder = tmp_path_factory.mktemp("study-gen") / "gen"
    tiny("dcgan-lesions", image_size=16).save_pretrained(folder)
    return folder


@pytest.fixture
def config(generator, lesion_folder):
    return StudyConfig(model=str(generator), real_folder=str(lesion_folder / "images"), images_per_participant=N,
                       seconds=0.5)


@pytest.fixture
def store(tmp_path, config):
    store = StudyStore(tmp_path / "study.db")
    store.configure(config)
    return store


def test_sequences_are_balanced_shuffled_and_reproducible(store, config, tmp_path):
    a = store.sequence("A")
    assert len(a) == N and [it.truth for it in a].count("real") == N // 2
    assert len({it.item for it in a}) == N  # no item twice
    assert store.sequence("A") == a  # same participant, same order
    assert StudyStore(store.path).sequence("A") == a  # ... after a restart
    other = StudyStore(tmp_path / "other.db")
    other.configure(config)
    assert other.sequence("A") == a  # ... and from the seed and id alone, in a fresh database
    assert store.sequence("B") != a
    orders = {tuple(it.truth for it in store.sequence(f"P{i}")) for i in range(12)}
    assert len(orders) > 1  # shuffled: real and generated items are interleaved differently
    for p in ("B", "P0", "P1"):
        assert [it.truth for it in store.sequence(p)].count("generated") == N // 2


def test_concurrent_participants_lose_no_answer(store):
    barrier = threading.Barrier(8)
    stored, errors = [], []

    def participant(i: int) -> None:
        try:
            barrier.wait()  # all eight write at the same moment
            for trial in range(N):
                stored.append(store.record(f"T{i}", trial, "real" if trial % 2 else "generated", 100 + trial))
        except Exception as exc:  # reported below: an exception in a thread would pass silently
            errors.append(exc)

    threads = [threading.Thread(target=participant, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert stored == [True] * 48
    rows = store.answers()
    assert len(rows) == 48 and {(r["participant"], r["trial"]) for r in rows} == {
        (f"T{i}", t) for i in range(8) for t in range(N)}
    with sqlite3.connect(store.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_answers_survive_a_restart(store, config):
    for trial, answer in enumerate(("real", "generated", "real")):
        assert store.record("A", trial, answer, 1000 + trial)
    before = store.answers()
    path = store.path
    del store  # the server stops

    reopened = StudyStore(path)
    assert reopened.config() == reopened.configure(config)  # the same study again: accepted
    assert reopened.answers() == before
    assert [(r["trial"], r["answer"], r["response_ms"]) for r in before] == [
        (0, "real", 1000), (1, "generated", 1001), (2, "real", 1002)]
    assert reopened.next_trial("A") == 3  # the participant continues where they stopped
    assert reopened.record("A", 0, "generated", 5) is False  # the first answer counts
    assert reopened.answers()[0]["answer"] == "real"
    with pytest.raises(ZooError, match="already holds another study.*another --db"):
        reopened.configure(StudyConfig(config.model, config.real_folder, N, config.seconds, seed=1))


def test_accuracy_and_f1_against_a_hand_made_key():
    truths = ["generated", "generated", "generated", "generated", "real", "real", "real", "real"]
    answers = ["generated", "generated", "generated", "real", "generated", "real", "real", "real"]
    # TP = 3 (generated called generated), FN = 1, FP = 1, TN = 3.
    # accuracy = (3 + 3) / 8 = 0.75; precision = 3 / 4, recall = 3 / 4, F1 = 2 * 0.75 * 0.75 / 1.5 = 0.75.
    assert accuracy(truths, answers) == 0.75
    assert f1_score(truths, answers) == pytest.approx(0.75)
    # Always "generated": TP = 4, FP = 4, FN = 0: precision 1/2, recall 1, F1 = 2 * 0.5 / 1.5 = 2/3.
    assert f1_score(truths, ["generated"] * 8) == pytest.approx(2 / 3)
    # F1 of the class "real" on the first key: TP = 3, FP = 1, FN = 1 -> 0.75 as well.
    assert f1_score(truths, answers, positive="real") == pytest.approx(0.75)
    # No true positive: always "real" -> precision undefined, recall 0 -> F1 defined as 0.
    assert f1_score(truths, ["real"] * 8) == 0.0
    assert f1_score(["real", "real"], ["real", "real"]) == 0.0  # nothing generated to find
    with pytest.raises(ValueError, match="differ in length"):
        f1_score(truths, answers[:3])
    rows = [{"participant": "B", "truth": t, "answer": a} for t, a in zip(truths, answers)]
    rows += [{"participant": "A", "truth": t, "answer": "generated"} for t in truths]
    assert participant_scores(rows) == [
        {"participant": "A", "n": 8, "accuracy": 0.5, "f1": pytest.approx(2 / 3)},
        {"participant": "B", "n": 8, "accuracy": 0.75, "f1": pytest.approx(0.75)},
    ]


def test_display_images_have_the_models_size(tmp_path, generator):
    real = tmp_path / "real" / "nested"
    real.mkdir(parents=True)
    for i in range(3):  # wide JPEGs: centre-cropped to the model's square, not stretched
        Image.new("RGB", (48, 24), (200, 30 * i, 10)).save(real / f"{i}.JPG")
    (real / "notes.txt").write_text("not an image")
    store = StudyStore(tmp_path / "s.db")
    store.configure(StudyConfig(str(generator), str(tmp_path / "real"), images_per_participant=N, seconds=1))
    for item in store.sequence("A"):
        picture = store.image(item)
        assert picture.size == (16, 16) and picture.mode == "RGB" and not picture.info
    assert len(list(store.image_dir.glob("item-*.png"))) == N  # cached: a restart re-uses them
    for f in tmp_path.glob("s.db*"):  # the organiser deletes the database, not the cache, and starts anew
        if f.is_file():
            f.unlink()
    StudyStore(tmp_path / "s.db").configure(StudyConfig(str(generator), str(tmp_path / "real"), N, seconds=1))
    assert not store.image_dir.exists()  # no image of the old study is shown under the new one's item ids


def test_bad_input_is_refused_with_a_clear_message(tmp_path, config, store):
    with pytest.raises(ZooError, match="even whole number"):
        StudyConfig(config.model, config.real_folder, images_per_participant=5)
    with pytest.raises(ZooError, match="even whole number"):
        StudyConfig(config.model, config.real_folder, images_per_participant=0)
    with pytest.raises(ZooError, match="seconds .* > 0"):
        StudyConfig(config.model, config.real_folder, seconds=0)
    with pytest.raises(ZooError, match="is not a folder"):
        StudyConfig(config.model, str(tmp_path / "missing"))
    few = tmp_path / "few"
    few.mkdir()
    Image.new("RGB", (8, 8)).save(few / "one.png")
    with pytest.raises(ZooError, match="holds 1 image.*add images or lower images_per_participant"):
        StudyConfig(config.model, str(few), images_per_participant=4)
    with pytest.raises(ZooError, match=r"answer must be one of \('real', 'generated'\), got 'fake'"):
        store.record("A", 0, "fake", 10)
    with pytest.raises(ZooError, match="trial 6 is out of range"):
        store.record("A", N, "real", 10)
    with pytest.raises(ZooError, match="participant id"):
        store.sequence("a b/../c")
    with pytest.raises(ZooError, match="holds no study yet"):
        StudyStore(tmp_path / "empty.db").sequence("A")
    assert store.answers() == []  # nothing refused was stored


@pytest.mark.slow
def test_importing_the_study_does_not_import_gradio():
    code = "import sys, zoo.web.study; assert 'gradio' not in sys.modules, 'gradio imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.slow
def test_two_participants_through_the_gradio_server(tmp_path, config):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    db = tmp_path / "study.db"
    app = serve_study(db, config, port=None, prevent_thread_lock=True)
    try:
        client = Client(app.local_url, verbose=False, download_files=str(tmp_path / "downloads"))
        assert {"/start", "/answer", "/results"} <= set(client.view_api(print_info=False, return_format="dict")[
            "named_endpoints"])
        truth = StudyStore(db)  # a second connection to the same file, as an organiser's script would open it

        for participant in ("A", "B"):
            _, progress, image, trial = client.predict(participant, api_name="/start")
            assert "Image 1 / 6" in progress and trial == 0
            while trial != -1:
                assert Image.open(image).size == (16, 16)
                said = "generated" if participant == "A" else truth.sequence(participant)[trial].truth
                _, progress, image, next_trial = client.predict(participant, trial, said, api_name="/answer")
                assert next_trial == -1 or next_trial == trial + 1
                trial = next_trial
            assert "Thank you" in progress and image is None
        with pytest.raises(AppError, match="answer must be one of"):
            client.predict("A", 0, "maybe", api_name="/answer")
        # A participant who comes back gets the thank-you again, not a new sequence.
        assert client.predict("A", api_name="/start")[3] == -1
        # An empty id receives a fresh one.
        fresh = client.predict("", api_name="/start")[0]
        assert fresh["value"].startswith("P-")

        summary, table, plot, export = client.predict(api_name="/results")
        scores = {row[0]: row[1:] for row in table["data"]}
        assert scores == {"A": [N, 0.5, pytest.approx(2 / 3, abs=1e-4)], "B": [N, 1.0, 1.0]}
        assert "2 participant(s), 12 answer(s)" in summary and plot is not None
        with open(export, newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 12 and {r["participant"] for r in rows} == {"A", "B"}
        assert all(r["answer"] == r["truth"] for r in rows if r["participant"] == "B")
        assert all(int(r["response_ms"]) >= 0 for r in rows)
        expected = [(s["participant"], s["accuracy"], s["f1"]) for s in participant_scores(truth.answers())]
        assert expected == [("A", 0.5, pytest.approx(2 / 3)), ("B", 1.0, 1.0)]  # A: precision 1/2, recall 1
    finally:
        app.close()


@pytest.mark.slow
def test_the_image_hides_after_its_display_time(tmp_path, config):
    """In a real browser (skipped without playwright and Chromium): shown, then hidden after `seconds`."""
    from browser import chromium_page

    app = serve_study(tmp_path / "study.db", config, port=None, prevent_thread_lock=True)
    visibility = "() => { const i = document.querySelector('#zoo-study-image img'); " \
                 "return i ? getComputedStyle(i).visibility : 'none'; }"
    try:
        with chromium_page() as page:
            page.goto(app.local_url)
            page.wait_for_selector("text=Start / continue", timeout=20_000)
            assert page.get_by_text("not for diagnosis").count() == 1
            page.fill("input[placeholder='leave empty to receive one']", "W")
            page.click("text=Start / continue")
            for _ in range(2):  # the first image, then the next one after an answer
                page.wait_for_function(f"({visibility})() === 'visible'", timeout=10_000)
                shown = time.monotonic()
                page.wait_for_function(f"({visibility})() === 'hidden'", timeout=10_000)
                assert time.monotonic() - shown > 0.3  # seconds = 0.5, less the polling delay
                page.click("button:has-text('Real')")
            page.wait_for_selector("text=Image 3 / 6", timeout=10_000)  # the second answer is stored
    finally:
        app.close()
    assert [(r["participant"], r["trial"], r["answer"]) for r in StudyStore(tmp_path / "study.db").answers()] == [
        ("W", 0, "real"), ("W", 1, "real")]


@pytest.mark.slow
def test_results_can_require_an_organiser_key(tmp_path, config):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    app = serve_study(tmp_path / "study.db", config, port=None, prevent_thread_lock=True, results_key="s3cret")
    try:
        client = Client(app.local_url, verbose=False, download_files=str(tmp_path / "downloads"))
        with pytest.raises(AppError, match="organiser key"):
            client.predict("guess", api_name="/results")
        summary, table, _, _ = client.predict("s3cret", api_name="/results")
        assert summary.startswith("0 participant(s), 0 answer(s)") and not table["data"]
    finally:
        app.close()
