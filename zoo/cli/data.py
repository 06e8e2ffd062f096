"""``zoo data``: list the public data sets the zoo's models were trained on, show where each comes
from (licence, citation), and convert an original release into the layout ``zoo train`` reads.

Wired into ``zoo`` by :func:`add_data_parser` (``zoo.cli.verbs.build_parser``); every sub-verb
runs through :func:`run_data`. Nothing is downloaded unless ``--download`` is given.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from zoo.cli.types import positive_int

__all__ = ["EXAMPLE", "add_data_parser", "run_data"]

EXAMPLE = "zoo data prepare ham10000 --source ~/Downloads/dataverse_files.zip --out data/ham10000"
EXAMPLES = {
    "list": "zoo data list",
    "info": "zoo data info ph2",
    "prepare": "zoo data prepare ph2 --source ~/Downloads/PH2Dataset --out data/ph2 --size 256\n"
               "  zoo data prepare ham10000 --source downloads/ham10000 --download   # fetches 3 public files first",
}
DESCRIPTION = ("Prepare the public data sets the zoo's models were trained on: where each comes from, its licence "
               "and citation, and a converter from the original release (a .zip or an extracted folder) into the "
               "folder layout zoo train reads. Nothing is downloaded unless you pass --download. These are "
               "medical images under research licences, not for diagnosis and mostly non-commercial: read each "
               "set's terms.")


def _wrap(text: str, indent: str = "    ") -> str:
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent)


def _sets_epilog() -> str:
    """Every set and how to get it, for ``zoo data --help``."""
    from zoo.data.public import DATASETS

    lines = ["data sets, and how to get each:"]
    for spec in DATASETS.values():
        lines.append(textwrap.fill(f"{spec.name}: {spec.title} ({spec.count}); licence: {spec.licence}", width=100,
                                   initial_indent="  ", subsequent_indent="    "))
        lines.append(_wrap(f"get it: {spec.obtain}"))
        lines.append(_wrap(f"source: {spec.homepage}"))
    lines += ["", "examples:", f"  {EXAMPLES['list']}", f"  {EXAMPLES['info']}", f"  {EXAMPLE}"]
    return "\n".join(lines)


def add_data_parser(subparsers) -> argparse.ArgumentParser:
    """Add the verb ``data`` (sub-verbs list, info, prepare) to ``zoo``'s sub-parsers; returns its parser."""
    parser = subparsers.add_parser(
        "data", help="Prepare the public data sets the models were trained on (list, info, prepare).",
        description=DESCRIPTION, epilog=_sets_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=run_data)
    sub = parser.add_subparsers(dest="data_command", help="list, info or prepare", required=True,
                                metavar="SUBCOMMAND")

    def verb(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, epilog=f"example:\n  {EXAMPLES[name]}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    verb("list", "List the public data sets: name, what they hold, how many images, licence.")

    p = verb("info", "Show a data set's source, licence, citation, how to obtain it, its original layout and the "
                     "prepare command.")
    p.add_argument("name", help="a data set name (zoo data list), e.g. ham10000")

    p = verb("prepare", "Convert an already-downloaded original release into the zoo's layout (images/, labels.csv, "
                        "masks); prints the licence and citation. Downloads only with --download.")
    p.add_argument("name", help="a data set name (zoo data list), e.g. ham10000")
    p.add_argument("--source", type=Path, required=True,
                   help="the original release: its .zip or the folder it was extracted to (zips inside are read "
                        "too); with --download, the folder the files are saved in (required, no default)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default data/NAME)")
    p.add_argument("--size", type=positive_int, default=None,
                   help="image size in pixels (default: the set's own: ham10000 128, ph2 256 (square), dental 512 "
                        "wide x 256 high, faces 512 longest side)")
    p.add_argument("--limit", type=positive_int, default=None, metavar="N",
                   help="prepare only the first N images in name order (default: all)")
    p.add_argument("--force", action="store_true",
                   help="replace a data set already prepared in --out (default: refuse)")
    p.add_argument("--download", action="store_true",
                   help="first download the set's public files into --source (default: off; only sets with a public "
                        "download, see zoo data info NAME)")
    p.add_argument("--url", default=None,
                   help="with --download: fetch this archive instead of the set's own files, e.g. a mirror you may "
                        "use (default: none)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="hide the progress bars (default: shown)")
    return parser


def run_data(args: argparse.Namespace) -> int:
    """Run ``zoo data SUBCOMMAND``; errors are raised (ZooError), for ``zoo``'s main to print."""
    commands = {"list": _cmd_list, "info": _cmd_info, "prepare": _cmd_prepare}
    return commands[args.data_command](args)


def _cmd_list(args) -> int:
    from zoo.data.public import DATASETS

    rows = [["name", "what", "count", "licence"]]
    rows += [[s.name, s.title, s.count, s.licence] for s in DATASETS.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    print("\nzoo data info NAME: source, citation and how to get it; zoo data prepare NAME --source PATH: convert it")
    return 0


def _cmd_info(args) -> int:
    from zoo.data.public import get

    spec = get(args.name)
    downloads = "; ".join(f"{d.file} <{d.url}>" for d in spec.downloads) or "none (get it by hand, see 'obtain')"
    facts = [
        ("name", spec.name + (f" (also: {', '.join(spec.aliases)})" if spec.aliases else "")),
        ("title", spec.title), ("what", spec.what), ("count", spec.count), ("source", spec.homepage),
        ("licence", f"{spec.licence}. {spec.terms}"), ("citation", spec.citation), ("obtain", spec.obtain),
        ("downloads", downloads + ("; no checksum is published, so none is verified"
                                   if spec.downloads and not any(d.sha256 for d in spec.downloads) else "")),
        ("original layout", spec.original_layout), ("prepared layout", spec.layout),
        ("size", f"{spec.default_size}: {spec.size_meaning}"),
        ("prepare", f"zoo data prepare {spec.name} --source PATH --out data/{spec.name}"
                    + ("   (or --source DIR --download)" if spec.downloads else "")),
        ("then", spec.train_hint.format(out=f"data/{spec.name}")),
    ]
    for key, value in facts:
        print(textwrap.fill(value, width=110, initial_indent=f"{key + ':':<17}", subsequent_indent=" " * 17))
    return 0


def _cmd_prepare(args) -> int:
    from zoo.data.public import fetch, get, prepare

    spec = get(args.name)
    if args.url and not args.download:
        raise ValueError("--url needs --download (it names what to download)")
    print(f"{spec.title}\n  licence: {spec.licence}. {spec.terms}.\n  cite:    {spec.citation}\n"
          f"  source:  {spec.homepage}", flush=True)
    if args.download:
        files = fetch(spec.name, args.source, args.url, progress=args.progress)
        print(f"downloaded to {args.source}: {', '.join(f.name for f in files)}", flush=True)
    summary = prepare(spec.name, args.source, args.out, args.size, force=args.force, progress=args.progress,
                      limit=args.limit)
    print(summary.describe())
    print(f"licence and citation written to {summary.out / 'SOURCE.md'}; keep them with the data")
    if spec.train_hint:
        print(f"next: {spec.train_hint.format(out=summary.out)}")
    sys.stdout.flush()
    return 0
