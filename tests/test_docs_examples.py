"""The docs cannot drift from the code: every Python block on the usage pages runs, in page order with
one namespace per page, in a folder that holds the files the examples name (tiny generated stand-ins
for face.jpg, data/ham10000 and so on) and against the loopback Hub; every `zoo` command in their
shell blocks parses with the real command-line parsers, and every script they run exists.
The site itself builds with `mkdocs build --strict` (broken links and references fail)."""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
USAGE = sorted((ROOT / "docs" / "usage").glob("*.md"))
CLASSES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]

pytestmark = pytest.mark.usefixtures("one_thread")


def blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def _image(path: Path, size=(64, 64), seed=0, mode="RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pixels = rng.integers(90, 210, (*size, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(path)


def _face(path: Path) -> None:
    """A face-like picture: skin-coloured oval, darker eyes and mouth (the face finder needs one)."""
    yy, xx = np.mgrid[0:200, 0:160]
    face = np.zeros((200, 160, 3), np.uint8) + np.array([60, 50, 45], np.uint8)
    face[((yy - 100) / 95.0) ** 2 + ((xx - 80) / 75.0) ** 2 < 1] = [224, 172, 150]
    for cy, cx in ((80, 55), (80, 105), (150, 80)):
        face[(yy - cy) ** 2 + (xx - cx) ** 2 < 64] = [70, 40, 40]
    Image.fromarray(face).save(path)


def _mask(path: Path, size=(64, 64)) -> None:
    mask = np.zeros(size, np.uint8)
    mask[size[0] // 4: size[0] // 2, size[1] // 4: size[1] // 2] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask).save(path)


@pytest.fixture
def sandbox(tmp_path, monkeypatch, fake_hub):
    """A working folder with the files the examples read, as a user's would be."""
    for name in ("face_before.jpg", "skin.png", "dermoscopy.png"):
        _image(tmp_path / name, seed=len(name))
    _face(tmp_path / "face.jpg")
    _mask(tmp_path / "mask.png")
    _mask(tmp_path / "lesion_mask.png")
    for i in range(2):
        _image(tmp_path / "faces" / f"face{i}.jpg", seed=10 + i)
    rows = ["file,dx,lesion_id"]
    for i in range(28):  # four lesions of each HAM10000 class
        _image(tmp_path / "data" / "ham10000" / "images" / f"ISIC_{i:07d}.jpg", seed=100 + i)
        rows.append(f"ISIC_{i:07d}.jpg,{CLASSES[i % 7]},HAM_{i // 2:07d}")
    (tmp_path / "data" / "ham10000" / "labels.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("page", USAGE, ids=lambda p: p.stem)
def test_every_python_example_on_the_usage_pages_runs(page, sandbox):
    scope: dict = {"__name__": "__docs__"}
    for code in blocks(page, "python"):
        exec(compile(code, f"{page.name} example", "exec"), scope)


def _commands(block: str) -> list[list[str]]:
    """Each command line of a shell block (continuations joined, comments and placeholders dropped)."""
    text = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#") or " ... " in f" {line} ":
            continue
        for part in re.split(r"\s&&\s|\s\|\|\s", line):
            words = shlex.split(part)
            cut = [i for i, w in enumerate(words) if w in (">", ">>", "<", "|", "2>", "&>")]
            words = words[:cut[0]] if cut else words  # redirections and pipes: the command before them
            if words:
                out.append(words)
    return out


@pytest.mark.parametrize("page", USAGE, ids=lambda p: p.stem)
def test_every_command_on_the_usage_pages_parses(page):
    from zoo.cli.train import build_parser as train_parser
    from zoo.cli.verbs import build_parser

    checked = 0
    for block in blocks(page, "bash"):
        for words in _commands(block):
            while words and "=" in words[0] and not words[0].startswith("-"):
                words = words[1:]  # VAR=value prefixes
            if not words:
                continue
            if words[0] == "zoo" and words[1:2] == ["train"]:
                train_parser().parse_args(words[2:])
            elif words[0] == "zoo":
                build_parser().parse_args(words[1:])
            elif words[:2] == ["accelerate", "launch"]:
                script = next(i for i, w in enumerate(words) if w.endswith("train.py"))
                train_parser().parse_args(words[script + 1:])
            elif words[0] in ("python", "bash") and words[1:2] and not words[1].startswith("-"):
                assert (ROOT / words[1]).is_file(), f"{page.name}: {words[1]} does not exist"
            else:
                continue
            checked += 1
    assert checked or not blocks(page, "bash"), f"{page.name}: no command found in its shell blocks"


@pytest.mark.slow
def test_the_docs_site_builds_strictly(tmp_path):
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    if mkdocs is None:
        pytest.skip('mkdocs is not installed: pip install -e ".[docs]"')
    done = subprocess.run([mkdocs, "build", "--strict", "-d", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "reference" / "index.html").read_text().count("zoo.load") > 0


def test_no_docs_file_is_git_ignored():
    """A page or image that .gitignore swallows builds here but is missing from every clone."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = [str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*") if p.is_file()]
    done = subprocess.run([git, "check-ignore", "--no-index", *files], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.split() == [], "ignored by .gitignore, so never committed: " + done.stdout
