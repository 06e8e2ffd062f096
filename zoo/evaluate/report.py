"""The augmentation-benefit report: per-seed results, mean and spread, as JSON, Markdown and a plot."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["HEADLINE", "AugmentationReport"]

HEADLINE = (("balanced_accuracy", "balanced acc"), ("macro_f1", "macro F1"))


def _mean_std(values: list[float | None]) -> dict:
    """Mean and sample standard deviation over seeds; std is None with one seed (no spread to show)."""
    kept = [v for v in values if v is not None]
    if not kept:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": statistics.fmean(kept), "std": statistics.stdev(kept) if len(kept) > 1 else None, "n": len(kept)}


@dataclass
class AugmentationReport:
    """What :func:`zoo.evaluate.augmentation_benefit` measured, and how.

    ``results[condition][seed]``: the scores of one trained classifier on the held-out real images
    (see :func:`zoo.evaluate.scores.classification_scores`). ``split``: train/test sizes and class
    counts, where the held-out set came from, and the test files. ``synthetic_per_class``: synthetic
    images added per class in the synthetic conditions. ``settings``: every argument of the run.
    """

    class_names: tuple[str, ...]
    conditions: tuple[str, ...]
    seeds: tuple[int, ...]
    results: dict[str, dict[int, dict]]
    split: dict
    synthetic_per_class: dict[str, int]
    settings: dict
    notes: list[str] = field(default_factory=list)
    command: str | None = None

    @property
    def summary(self) -> dict[str, dict]:
        """Per condition: mean/std over seeds of each headline score and of each class's recall."""
        out = {}
        for condition in self.conditions:
            runs = [self.results[condition][s] for s in self.seeds if s in self.results.get(condition, {})]
            entry = {key: _mean_std([r[key] for r in runs]) for key in ("balanced_accuracy", "macro_f1", "accuracy")}
            entry["recall"] = {c: _mean_std([r["recall"][c] for r in runs]) for c in self.class_names}
            out[condition] = entry
        return out

    def to_dict(self) -> dict:
        return {
            "class_names": list(self.class_names), "conditions": list(self.conditions), "seeds": list(self.seeds),
            "summary": self.summary,
            "results": {c: {str(s): r for s, r in runs.items()} for c, runs in self.results.items()},
            "split": self.split, "synthetic_per_class": self.synthetic_per_class, "settings": self.settings,
            "notes": self.notes, "command": self.command,
        }

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    def table(self) -> str:
        """The Markdown table alone: conditions as rows, "mean ± std" over seeds in each cell."""
        test_count = self.split.get("test_class_counts", {})
        header = [label for _, label in HEADLINE] + [f"{c} (n={test_count.get(c, '?')})" for c in self.class_names]
        rows = ["| condition | " + " | ".join(header) + " |", "|---|" + "---:|" * len(header)]
        for condition, entry in self.summary.items():
            cells = [_cell(entry[key]) for key, _ in HEADLINE] + [_cell(entry["recall"][c]) for c in self.class_names]
            rows.append(f"| {condition} | " + " | ".join(cells) + " |")
        return "\n".join(rows)

    def markdown(self) -> str:
        s = self.settings
        seeds = ", ".join(map(str, self.seeds))
        lines = [
            "## Augmentation benefit", "",
            f"Balanced accuracy, macro F1 and per-class recall on {self.split['test_images']} held-out real images "
            f"({self.split['source']}); mean ± std over seeds {seeds}. Each run trains the same small CNN from "
            f"scratch at {s['image_size'][0]}x{s['image_size'][1]} for {s['epochs']} epochs of the "
            f"{self.split['train_images']} real training images ({s['steps']} steps of {s['batch_size']}), "
            "whatever the condition adds.", "",
            self.table(), "",
        ]
        if self.synthetic_per_class:
            counts = ", ".join(f"{c} {n}" for c, n in self.synthetic_per_class.items() if n) or "none"
            added = []
            if any("synthetic" in c for c in self.conditions):
                added.append(f"synthetic images from `{s['model']}`, new ones each seed")
            if any("oversampled" in c for c in self.conditions):
                added.append("repeats of real training images (oversampled)")
            lines += [f"Rare classes topped up per class: {counts}; with {' or '.join(added)}.", ""]
        train = ", ".join(f"{c} {n}" for c, n in self.split["train_class_counts"].items())
        lines += [f"Real training images per class: {train}.", ""]
        lines += [f"- {note}" for note in self.notes] + ([""] if self.notes else [])
        if self.command:
            lines += [f"Command: `{self.command}`", ""]
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """A PNG: per-class recall and balanced accuracy, one bar per condition, error bars = std."""
        from matplotlib.figure import Figure  # the object API: no pyplot, no global backend switch
        groups = [*self.class_names, "balanced acc"]
        width = 0.8 / max(len(self.conditions), 1)
        fig = Figure(figsize=(max(6.0, 1.1 * len(groups) + 2), 4), layout="constrained")
        ax = fig.add_subplot()
        for k, (condition, entry) in enumerate(self.summary.items()):
            stats = [entry["recall"][c] for c in self.class_names] + [entry["balanced_accuracy"]]
            means = [st["mean"] if st["mean"] is not None else math.nan for st in stats]
            errors = [st["std"] or 0.0 for st in stats]
            xs = [i + (k - (len(self.conditions) - 1) / 2) * width for i in range(len(groups))]
            ax.bar(xs, means, width, yerr=errors, capsize=2, label=condition)
        ax.set_xticks(range(len(groups)), groups)
        ax.axvline(len(groups) - 1.5, color="0.7", linewidth=0.8)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("recall on held-out real images")
        ax.set_title(f"Augmentation benefit: mean ± std over {len(self.seeds)} seed(s), "
                     f"{self.split['test_images']} test images")
        fig.legend(loc="outside lower center", ncols=len(self.conditions), fontsize="small")  # never over a bar
        path = Path(path)
        fig.savefig(path, dpi=120)
        return path


def _cell(stat: dict) -> str:
    if stat["mean"] is None:
        return "n/a"
    return f"{stat['mean']:.3f}" if stat["std"] is None else f"{stat['mean']:.3f} ± {stat['std']:.3f}"
