"""A perceptual study, "real or generated?", as a Gradio app with durable SQLite storage.

An organiser picks a noise-to-image model and a folder of real images; each participant judges a
shuffled, balanced sequence of images (half real, half generated), each shown for a few seconds,
without feedback. Every answer is committed to SQLite at once, so a restart loses nothing and a
participant who comes back with the same id continues where they stopped::

    from zoo.web.study import StudyConfig, serve_study
    serve_study("study.db", StudyConfig("sngan-lesions", "data/isic/images", images_per_participant=20))

The store and the metrics need no gradio; only :func:`build_study_app` and :func:`serve_study` import it.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import numbers
import os
import random
import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zoo.errors import ZooError

__all__ = ["StudyConfig", "StudyItem", "StudyStore", "ANSWERS", "IMAGE_SUFFIXES", "find_images", "f1_score",
           "accuracy", "participant_scores", "results_figure", "build_study_app", "serve_study"]

ANSWERS = ("real", "generated")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
CSV_COLUMNS = ("participant", "trial", "item", "truth", "answer", "response_ms", "answered_at", "source")
_PARTICIPANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (item INTEGER PRIMARY KEY, truth TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (participant TEXT NOT NULL, trial INTEGER NOT NULL, item INTEGER NOT NULL,
    PRIMARY KEY (participant, trial));
CREATE TABLE IF NOT EXISTS served (participant TEXT NOT NULL, trial INTEGER NOT NULL, served_at REAL NOT NULL,
    PRIMARY KEY (participant, trial));
CREATE TABLE IF NOT EXISTS answers (participant TEXT NOT NULL, trial INTEGER NOT NULL, item INTEGER NOT NULL,
    truth TEXT NOT NULL, answer TEXT NOT NULL, response_ms INTEGER NOT NULL, answered_at TEXT NOT NULL,
    PRIMARY KEY (participant, trial));
"""


def find_images(folder: str | Path) -> list[Path]:
    """Every image file under ``folder`` (recursively), sorted, so the item list is the same on every run."""
    return sorted(
        p for p in Path(folder).rglob("*")
        # "._x.png" and other dot files are macOS / editor leftovers, not images
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


@dataclass
class StudyConfig:
    """What one study shows: ``model`` (a noise-to-image model id or folder) makes the fakes,
    ``real_folder`` holds the real images; each participant sees ``images_per_participant`` images
    (half real, half generated), each for ``seconds``; ``seed`` fixes the items and every sequence."""

    model: str
    real_folder: str
    images_per_participant: int = 20
    seconds: float = 3.0
    seed: int = 0

    def __post_init__(self) -> None:
        n = self.images_per_participant
        if isinstance(n, bool) or not isinstance(n, int) or n < 2 or n % 2:
            raise ZooError(f"images_per_participant must be an even whole number >= 2 (half real, half generated), "
                           f"got {n!r}; use e.g. 20.")
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, (int, float)) \
                or not math.isfinite(self.seconds) or self.seconds <= 0:
            raise ZooError(f"seconds (display time per image) must be a number > 0, got {self.seconds!r}; use e.g. 3.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ZooError(f"seed must be a whole number, got {self.seed!r}.")
        if not isinstance(self.model, str) or not self.model.strip():
            raise ZooError("model is empty; name a noise-to-image model id (e.g. sngan-lesions) or a model folder.")
        folder = Path(self.real_folder)
        if not folder.is_dir():
            raise ZooError(f"real_folder {folder} is not a folder; pass the folder that holds the real images.")
        found = len(find_images(folder))
        if found < n // 2:
            raise ZooError(f"real_folder {folder} holds {found} image(s) ({', '.join(IMAGE_SUFFIXES)}, searched "
                           f"recursively) but each participant sees {n // 2} real ones; add images or lower "
                           "images_per_participant.")


@dataclass(frozen=True)
class StudyItem:
    """One image of the study: ``truth`` is "real" (``source``: its file) or "generated" (``source``: its seed)."""

    item: int
    truth: str
    source: str


def _stored_config(values: dict) -> StudyConfig:
    # A stored config was checked when it was stored; re-checking would rescan the folder on every start
    # and make the answers unreadable once the real images moved.
    config = object.__new__(StudyConfig)
    for f in fields(StudyConfig):
        setattr(config, f.name, values[f.name])
    return config


def _normalised(config: StudyConfig) -> StudyConfig:
    # Absolute paths: a restart from another working directory is the same study.
    values = asdict(config)
    values["real_folder"] = str(Path(config.real_folder).resolve())
    if Path(config.model).is_dir():
        values["model"] = str(Path(config.model).resolve())
    values["seconds"] = float(config.seconds)
    return _stored_config(values)


def _participant(participant: Any) -> str:
    text = str(participant).strip() if participant is not None else ""
    if not _PARTICIPANT.fullmatch(text):
        raise ZooError(f"participant id {text!r} is not valid: use 1 to 64 letters, digits or . _ - @ "
                       "(starting with a letter or digit), e.g. P017; leave it empty to receive a new one.")
    return text


class StudyStore:
    """The study in one SQLite file: config, items, each participant's sequence, and every answer.

    A fresh connection per operation and ``BEGIN IMMEDIATE`` for writes make it safe for concurrent
    participants (threads or processes); each answer is committed before the call returns.
    Display images (real ones resized, generated ones rendered) are cached in ``<db>.images/``.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if str(path) == ":memory:" or not str(path):
            raise ZooError("a study needs a database file (e.g. study.db), not an in-memory database: answers must "
                           "survive a restart.")
        if self.path.is_dir():
            raise ZooError(f"{self.path} is a folder; pass a database file path such as {self.path / 'study.db'}.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.image_dir = self.path.with_name(self.path.name + ".images")
        self._config: StudyConfig | None = None
        self._pipe: Any = None
        self._pipe_lock = threading.Lock()  # one model load, one generation at a time
        try:
            with self._connect() as con:
                # WAL: readers (the results page) never block a participant's write; the mode is stored in the file.
                con.execute("PRAGMA journal_mode=WAL")
                con.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ZooError(f"{self.path} is not a study database ({exc}); pass a new file name.") from None

    def __repr__(self) -> str:
        return f"StudyStore({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: no implicit transactions; writes open their own (see _write).
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front: a deferred transaction that upgrades from read to write
        # fails at once with "database is locked" instead of waiting for the busy timeout.
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # -- the study ----------------------------------------------------------------------------------

    def configure(self, config: StudyConfig) -> StudyConfig:
        """Store ``config`` and its item list the first time; later, accept only the same config."""
        if not isinstance(config, StudyConfig):
            raise ZooError(f"configure() takes a StudyConfig, got {type(config).__name__}.")
        wanted = _normalised(config)
        with self._write() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
            if row is None:
                real = find_images(wanted.real_folder)
                # One generated item per real one (at least a participant's half): every item is about equally
                # likely to be drawn, and its seed is stored so the same image can be re-made after a restart.
                rng = random.Random(f"medgan-zoo-study/{wanted.seed}")
                seeds = rng.sample(range(2**31), max(len(real), wanted.images_per_participant // 2))
                rows = [("real", str(p.resolve())) for p in real] + [("generated", str(s)) for s in seeds]
                con.executemany("INSERT INTO items (item, truth, source) VALUES (?, ?, ?)",
                                [(i, truth, source) for i, (truth, source) in enumerate(rows)])
                con.execute("INSERT INTO meta (key, value) VALUES ('config', ?)", (json.dumps(asdict(wanted)),))
                stored = wanted
                # Cached images of an earlier study whose database was deleted would be shown under the new
                # study's item ids (a real image as "generated"): a new study starts with an empty cache.
                shutil.rmtree(self.image_dir, ignore_errors=True)
            else:
                stored = _stored_config(json.loads(row[0]))
                if stored != wanted:
                    raise ZooError(f"{self.path} already holds another study ({stored}); to run {wanted}, use "
                                   "another --db, or run the stored study without a config.")
        self._config = stored
        return stored

    def config(self) -> StudyConfig | None:
        """The stored config, or None while the database holds no study yet."""
        if self._config is None:
            with self._connect() as con:
                row = con.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
            if row is not None:
                self._config = _stored_config(json.loads(row[0]))
        return self._config

    def _required_config(self) -> StudyConfig:
        config = self.config()
        if config is None:
            raise ZooError(f"{self.path} holds no study yet; configure it first with a StudyConfig (a model and "
                           "a folder of real images), e.g. serve_study(db, StudyConfig(...)).")
        return config

    def items(self) -> list[StudyItem]:
        """Every item of the study, real ones first."""
        with self._connect() as con:
            return [StudyItem(*row) for row in con.execute("SELECT item, truth, source FROM items ORDER BY item")]

    def sequence(self, participant: str) -> list[StudyItem]:
        """The participant's items in order: balanced, shuffled, and the same on every call and restart.

        The order comes from the study seed and the id alone, and is stored the first time it is asked for.
        """
        participant = _participant(participant)
        config = self._required_config()
        with self._connect() as con:
            rows = self._sequence_rows(con, participant)
        if not rows:
            items = self.items()
            real = [it.item for it in items if it.truth == "real"]
            generated = [it.item for it in items if it.truth == "generated"]
            half = config.images_per_participant // 2
            # A string seed is hashed with SHA-512: the same on every platform and Python run.
            rng = random.Random(f"medgan-zoo-study/{config.seed}/{participant}")
            chosen = rng.sample(real, half) + rng.sample(generated, half)
            rng.shuffle(chosen)
            with self._write() as con:
                # OR IGNORE: two first requests of one participant at once insert the same rows.
                con.executemany("INSERT OR IGNORE INTO sequences (participant, trial, item) VALUES (?, ?, ?)",
                                [(participant, t, item) for t, item in enumerate(chosen)])
                rows = self._sequence_rows(con, participant)
        return [StudyItem(*row) for row in rows]

    @staticmethod
    def _sequence_rows(con: sqlite3.Connection, participant: str) -> list[tuple]:
        return con.execute(
            "SELECT items.item, items.truth, items.source FROM sequences JOIN items ON items.item = sequences.item "
            "WHERE participant = ? ORDER BY trial", (participant,)).fetchall()

    def participants(self) -> list[str]:
        """Every participant who has started, sorted."""
        with self._connect() as con:
            return [r[0] for r in con.execute("SELECT DISTINCT participant FROM sequences ORDER BY participant")]

    def new_participant(self) -> str:
        """A fresh participant id (P- and 8 hex digits) that no one has used yet."""
        taken = set(self.participants())
        while True:
            participant = f"P-{uuid.uuid4().hex[:8]}"
            if participant not in taken:
                return participant

    # -- answers ------------------------------------------------------------------------------------

    def record(self, participant: str, trial: int, answer: str, response_ms: float) -> bool:
        """Store one answer, committed at once; True if stored, False if that trial was already answered
        (the first answer counts: a double click or a resent request cannot change it)."""
        if answer not in ANSWERS:
            raise ZooError(f"answer must be one of {ANSWERS}, got {answer!r}.")
        sequence = self.sequence(participant)
        participant = _participant(participant)
        if isinstance(trial, bool) or not isinstance(trial, numbers.Integral) or not 0 <= trial < len(sequence):
            raise ZooError(f"trial {trial!r} is out of range: {participant} has trials 0 to {len(sequence) - 1}.")
        if isinstance(response_ms, bool) or not isinstance(response_ms, (int, float)) \
                or not math.isfinite(response_ms) or response_ms < 0:
            raise ZooError(f"response_ms must be a number >= 0, got {response_ms!r}.")
        item = sequence[int(trial)]
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        with self._write() as con:
            cursor = con.execute(
                "INSERT OR IGNORE INTO answers (participant, trial, item, truth, answer, response_ms, answered_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (participant, int(trial), item.item, item.truth, answer, round(response_ms), stamp))
            return cursor.rowcount == 1

    def next_trial(self, participant: str) -> int | None:
        """The first trial the participant has not answered, or None when they are done."""
        n = len(self.sequence(participant))
        with self._connect() as con:
            done = {r[0] for r in con.execute("SELECT trial FROM answers WHERE participant = ?",
                                              (_participant(participant),))}
        return next((t for t in range(n) if t not in done), None)

    def answers(self) -> list[dict]:
        """Every answer, by participant and trial: the CSV_COLUMNS of each row."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT a.participant, a.trial, a.item, a.truth, a.answer, a.response_ms, a.answered_at, items.source "
                "FROM answers a JOIN items ON items.item = a.item ORDER BY a.participant, a.trial").fetchall()
        return [dict(zip(CSV_COLUMNS, row)) for row in rows]

    def export_csv(self, path: str | Path) -> Path:
        """Write every answer to a CSV file (one row per answer, CSV_COLUMNS); return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(self.answers())
        return path

    # -- serving images -----------------------------------------------------------------------------

    def mark_served(self, participant: str, trial: int) -> float:
        """Note that the trial's image was sent now (server time); a reload sends it, and times it, again."""
        now = time.time()  # wall clock, not monotonic: the time must mean the same after a restart
        with self._write() as con:
            con.execute("INSERT OR REPLACE INTO served (participant, trial, served_at) VALUES (?, ?, ?)",
                        (_participant(participant), int(trial), now))
        return now

    def elapsed_ms(self, participant: str, trial: int) -> float | None:
        """Milliseconds since the trial's image was served, or None if it never was."""
        with self._connect() as con:
            row = con.execute("SELECT served_at FROM served WHERE participant = ? AND trial = ?",
                              (_participant(participant), int(trial))).fetchone()
        return None if row is None else max(0.0, (time.time() - row[0]) * 1000)

    def pipeline(self) -> Any:
        """The study's generation pipeline, loaded once."""
        with self._pipe_lock:
            if self._pipe is None:
                import zoo
                from zoo.pipelines.generation import GenerationPipeline

                model = self._required_config().model
                pipe = zoo.load(model)
                if not isinstance(pipe, GenerationPipeline):
                    raise ZooError(f"{model} is a {pipe.task} model; a real-or-generated study needs a noise-to-image "
                                   "model (task unconditional or class-conditional), e.g. sngan-lesions.")
                self._pipe = pipe
            return self._pipe

    def image(self, item: StudyItem):
        """The item's display image (PIL, 8-bit, the model's size and channels), from the cache or made now."""
        from PIL import Image

        path = self.image_dir / f"item-{item.item}.png"
        if not path.is_file():
            picture = self._render(item)
            self.image_dir.mkdir(parents=True, exist_ok=True)
            # Write then rename: two participants rendering the same item never leave a half-written file.
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
            picture.save(tmp, format="PNG")
            os.replace(tmp, path)
        with Image.open(path) as img:
            # A fresh image without the file's metadata: nothing but pixels reaches the participant.
            return Image.frombytes(img.mode, img.size, img.tobytes())

    def _render(self, item: StudyItem):
        pipe = self.pipeline()
        if item.truth == "generated":
            seed = int(item.source)
            options: dict = {"progress": False}
            if hasattr(pipe, "class_names"):  # class-conditional: a class per item, all classes in turn
                options["labels"] = seed % len(pipe.class_names)
            with self._pipe_lock:
                return pipe(num_images=1, seed=seed, **options).images[0]
        return _real_display(Path(item.source), pipe.image_size, pipe.channels)

    def prepare(self, participant: str) -> None:
        """Render the participant's images ahead, so that no trial waits for the model."""
        for item in self.sequence(participant):
            self.image(item)


def _real_display(path: Path, size: tuple[int, int], channels: int):
    """A real image as the model would make it: centre-cropped to the model's aspect ratio (stretching
    would give real images away), resized to its size, with its channel count, 8-bit."""
    from zoo.data.images import match_channels, read_image, resize, to_pil

    if not path.is_file():
        raise ZooError(f"the real image {path} is gone; put it back, or start a new study (another --db).")
    pixels = read_image(path, "real image").pixels
    h, w = pixels.shape[-2:]
    target = size[0] / size[1]
    if h / w > target:
        ch = max(1, round(w * target))
        pixels = pixels[..., (h - ch) // 2:(h - ch) // 2 + ch, :]
    else:
        cw = max(1, round(h / target))
        pixels = pixels[..., (w - cw) // 2:(w - cw) // 2 + cw]
    return to_pil(resize(match_channels(pixels, channels), size)[0])


# -- metrics ---------------------------------------------------------------------------------------

def _check_pairs(truths: Sequence[str], answers: Sequence[str]) -> None:
    if len(truths) != len(answers):
        raise ValueError(f"truths and answers differ in length ({len(truths)} vs {len(answers)}); pair them up.")


def accuracy(truths: Sequence[str], answers: Sequence[str]) -> float:
    """The share of answers equal to the truth."""
    _check_pairs(truths, answers)
    if not truths:
        raise ValueError("accuracy of no answers is undefined; pass at least one answer.")
    return sum(t == a for t, a in zip(truths, answers)) / len(truths)


def f1_score(truths: Sequence[str], answers: Sequence[str], positive: str = "generated") -> float:
    """F1 of the class ``positive``: 2 TP / (2 TP + FP + FN), i.e. the harmonic mean of precision and
    recall of answering ``positive``; 0 when there is no true positive (precision or recall is 0 or undefined)."""
    _check_pairs(truths, answers)
    tp = sum(t == positive and a == positive for t, a in zip(truths, answers))
    fp = sum(t != positive and a == positive for t, a in zip(truths, answers))
    fn = sum(t == positive and a != positive for t, a in zip(truths, answers))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def participant_scores(answers: Sequence[dict]) -> list[dict]:
    """Per participant (sorted): ``n`` answers, ``accuracy``, ``f1`` (of "generated"), from answer rows
    with ``participant``, ``truth`` and ``answer`` (as :meth:`StudyStore.answers` gives them)."""
    grouped: dict[str, tuple[list[str], list[str]]] = {}
    for row in answers:
        truths, given = grouped.setdefault(row["participant"], ([], []))
        truths.append(row["truth"])
        given.append(row["answer"])
    return [{"participant": p, "n": len(t), "accuracy": accuracy(t, a), "f1": f1_score(t, a)}
            for p, (t, a) in sorted(grouped.items())]


def results_figure(scores_by_dataset: dict[str, Sequence[dict]]):
    """A matplotlib Figure: box plots of accuracy and F1 over participants, one box per data set
    (model / study), every participant a dot; the dashed line is chance (0.5)."""
    from matplotlib.figure import Figure  # the object API: no pyplot, no global backend switch

    names = list(scores_by_dataset)
    fig = Figure(figsize=(3 + 1.2 * max(1, len(names)), 3.6), layout="constrained")
    for k, (metric, title) in enumerate((("accuracy", "Accuracy"), ("f1", 'F1 ("generated")'))):
        ax = fig.add_subplot(1, 2, k + 1)
        values = [[s[metric] for s in scores_by_dataset[name]] for name in names]
        if any(values):
            ax.boxplot([v if v else [math.nan] for v in values], showfliers=False)
            jitter = random.Random(0)  # fixed jitter: the same figure for the same answers
            for i, v in enumerate(values, start=1):
                ax.scatter([i + jitter.uniform(-0.12, 0.12) for _ in v], v, s=12, alpha=0.6, color="tab:blue")
        else:
            ax.text(0.5, 0.5, "no answers yet", ha="center", va="center", transform=ax.transAxes)
        ax.axhline(0.5, color="grey", linestyle="--", linewidth=1)
        ax.set_xticks(range(1, len(names) + 1), [f"{n}\n(n={len(v)})" for n, v in zip(names, values)],
                      fontsize="small")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(title)
    return fig


# -- the app ---------------------------------------------------------------------------------------

_IMAGE_ID = "zoo-study-image"
# Display time is enforced in the browser: a server timer would add a round trip (and queue waits) to
# every hiding. The image is hidden by a CSS rule keyed on an attribute of <html>, not by styling the
# image's own elements, which Gradio re-renders. A token makes a late callback of an older image harmless.
_HIDE_JS = """(...args) => {
  window.zooStudyToken = (window.zooStudyToken || 0) + 1;
  clearTimeout(window.zooStudyTimer);
  document.documentElement.setAttribute("data-zoo-study-hidden", "");
  return args;
}"""
_SHOW_JS = """async () => {
  if (!document.getElementById("zoo-study-style")) {
    const style = document.createElement("style");
    style.id = "zoo-study-style";
    style.textContent = "html[data-zoo-study-hidden] #%(id)s img { visibility: hidden; }";
    document.head.appendChild(style);
  }
  const token = window.zooStudyToken = (window.zooStudyToken || 0) + 1;
  clearTimeout(window.zooStudyTimer);
  const root = document.documentElement;
  root.setAttribute("data-zoo-study-hidden", "");
  await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));  // the new <img> mounts
  const img = document.querySelector("#%(id)s img");
  if (!img) return;
  if (!img.complete) {
    await new Promise((ok) => { img.addEventListener("load", ok, {once: true}); img.addEventListener("error", ok,
      {once: true}); });
  }
  if (token !== window.zooStudyToken) return;
  root.removeAttribute("data-zoo-study-hidden");
  window.zooStudyTimer = setTimeout(() => root.setAttribute("data-zoo-study-hidden", ""), %(ms)d);
}"""
NOT_FOR_DIAGNOSIS = ("These images are shown for a research study on image generators. They are not for diagnosis "
                     "and say nothing about anyone's health.")


def build_study_app(store: StudyStore, results_key: str | None = None):
    """The study as a gradio.Blocks: a "Participate" tab and a "Results" tab for the organiser.

    API endpoints (for gradio_client): ``/start`` (participant id, "" for a new one), ``/answer``
    (participant id, trial, "real" or "generated") and ``/results``. With ``results_key``, the
    results need that key, so participants cannot look up the truth of the images they saw.
    """
    import gradio as gr

    config = store._required_config()
    n = config.images_per_participant
    label = Path(config.model).name if Path(config.model).is_dir() else config.model

    def guarded(fn):
        # Every handler: a message in the UI for the errors we raise on purpose, never a stack trace.
        @functools.wraps(fn)
        def handler(*args):
            try:
                return fn(*args)
            except (ZooError, ValueError) as exc:
                raise gr.Error(str(exc)) from None
        return handler

    def show(participant: str, note: str = ""):
        trial = store.next_trial(participant)
        if trial is None:
            return (gr.Textbox(value=participant, interactive=False),
                    f"**{n} / {n}: finished. Thank you for taking part!** You may close this page.", None, -1,
                    gr.Button(interactive=False), gr.Button(interactive=False))
        picture = store.image(store.sequence(participant)[trial])
        store.mark_served(participant, trial)  # last: the response time starts when the image leaves the server
        return (gr.Textbox(value=participant, interactive=False), f"{note}**Image {trial + 1} / {n}**", picture,
                trial, gr.Button(interactive=True), gr.Button(interactive=True))

    def start(participant_id: str):
        """Start or continue: the participant's next image (a new id when the id is empty)."""
        participant = _participant(participant_id) if str(participant_id or "").strip() else store.new_participant()
        store.prepare(participant)
        note = f"Your participant id is **{participant}**: note it to continue later.\n\n"
        return show(participant, note)

    def answer(participant_id: str, trial: float, choice: str):
        """Record "real" or "generated" for the trial; the next image."""
        participant = _participant(participant_id)
        if trial is None or float(trial) < 0 or float(trial) != int(trial):
            raise ZooError("there is no image to answer; press Start first.")
        trial = int(trial)
        elapsed = store.elapsed_ms(participant, trial)
        if elapsed is None:
            raise ZooError(f"image {trial + 1} was never shown to {participant}; press Start to continue.")
        store.record(participant, trial, str(choice).strip().lower(), elapsed)
        return show(participant)

    def results(*key: str):
        """Per-participant accuracy and F1, their box plot, and every answer as CSV."""
        if results_key is not None and (not key or key[0] != results_key):
            raise ZooError("wrong or missing organiser key; the results are for the study's organiser.")
        answers = store.answers()
        scores = participant_scores(answers)
        table = [[s["participant"], s["n"], round(s["accuracy"], 4), round(s["f1"], 4)] for s in scores]
        export = _export_dir() / uuid.uuid4().hex / "study-answers.csv"
        store.export_csv(export)
        summary = (f"{len(scores)} participant(s), {len(answers)} answer(s); model {config.model}, "
                   f"{n} images per participant, {config.seconds:g} s each.")
        return summary, table, results_figure({label: scores}), str(export)

    with gr.Blocks(title="Real or generated? A perceptual study") as app:
        with gr.Tab("Participate"):
            gr.Markdown(f"## Real or generated?\nYou will see {n} images, one at a time, each for "
                        f"{config.seconds:g} s. Half are real, half were made by a computer program (a GAN). "
                        "For each, answer **Real** or **Generated**; you can still answer after the image "
                        "disappears. There is no feedback.")
            gr.Markdown(f"*{NOT_FOR_DIAGNOSIS}*")
            with gr.Row():
                participant = gr.Textbox(label="Participant id", placeholder="leave empty to receive one",
                                         max_lines=1, scale=3)
                start_button = gr.Button("Start / continue", variant="primary", scale=1)
            progress = gr.Markdown()
            image = gr.Image(type="pil", format="png", interactive=False, show_label=False, elem_id=_IMAGE_ID,
                             buttons=[], height=360)
            with gr.Row():
                real_button = gr.Button("Real", interactive=False)
                generated_button = gr.Button("Generated", interactive=False)
            trial = gr.Number(value=-1, precision=0, visible=False)
        with gr.Tab("Results"):
            gr.Markdown("For the organiser: per-participant accuracy and F1 (of the class \"generated\"), their "
                        "distribution, and every answer as CSV.")
            key = gr.Textbox(label="Organiser key", type="password", visible=results_key is not None)
            results_button = gr.Button("Show results", variant="primary")
            summary = gr.Markdown()
            table = gr.Dataframe(headers=["participant", "n", "accuracy", "f1"], interactive=False)
            plot = gr.Plot()
            download = gr.DownloadButton("Download answers (CSV)")

        outputs = [participant, progress, image, trial, real_button, generated_button]
        show_js = _SHOW_JS % {"id": _IMAGE_ID, "ms": round(config.seconds * 1000)}
        start_events = [participant.submit, start_button.click]
        gr.on(start_events, guarded(start), [participant], outputs, api_name="start").success(None, js=show_js)
        # A button is an input whose value is its label ("Real" / "Generated"): one handler, one endpoint.
        real_button.click(guarded(answer), [participant, trial, real_button], outputs, api_name="answer",
                          js=_HIDE_JS).success(None, js=show_js)
        generated_button.click(guarded(answer), [participant, trial, generated_button], outputs,
                               api_visibility="private", js=_HIDE_JS).success(None, js=show_js)
        results_button.click(guarded(results), [key] if results_key is not None else [],
                             [summary, table, plot, download], api_name="results")
    return app


def _export_dir() -> Path:
    """Where the results tab writes CSV exports: under the system temp folder, which Gradio may serve.
    Exports older than an hour are removed (Gradio has copied them to its own cache long before)."""
    import tempfile

    root = Path(tempfile.gettempdir()) / "medgan-zoo-study"
    if root.is_dir():
        for old in root.iterdir():
            try:
                if old.is_dir() and time.time() - old.stat().st_mtime > 3600:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:  # another server cleaning up at the same time
                pass
    return root


def serve_study(db: str | Path, config: StudyConfig | None = None, host: str = "127.0.0.1", port: int | None = None,
                share: bool = False, prevent_thread_lock: bool = False, results_key: str | None = None):
    """Open (and with ``config``, configure) the study in ``db``, and serve it; returns the Blocks.

    Without ``config`` the database must already hold a study: a restart continues it.
    """
    store = StudyStore(db)
    if config is not None:
        store.configure(config)
    store._required_config()
    store.pipeline()  # fail now, not at the first participant, when the model cannot be loaded
    app = build_study_app(store, results_key=results_key)
    app.queue(default_concurrency_limit=4)
    app.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=prevent_thread_lock)
    return app
