"""``tinyvae data get NAME`` and ``tinyvae data list``: full MNIST and Fashion-MNIST, one command away."""

from __future__ import annotations

import argparse

from ..training import download
from ..training.download import SOURCES

DESCRIPTION = """\
Download the full MNIST (60,000 training and 10,000 test digits) or Fashion-MNIST (the same sizes,
clothing in 10 classes) as the four IDX .gz files of its distribution, from the mirrors that
torchvision uses, and verify each against the MD5 checksum torchvision publishes for it. They are
stored in $XDG_CACHE_HOME/tinyvae/NAME (by default ~/.cache/tinyvae/NAME), where
`tinyvae train --data NAME` (and evaluate, compare, explore) find them, or in --dir DIR (then
--data DIR).

Each file is written as FILE.part first and renamed to its own name only once its checksum is
right, so a file under its own name is always a verified one. An interrupted download keeps its
.part: run the same command again and it continues where it stopped (an HTTP Range request).
Files already there and verified are not downloaded again."""

EPILOG = """\
examples:
  tinyvae data get mnist                        full MNIST into ~/.cache/tinyvae/mnist
  tinyvae train --data mnist --out runs/full    then train on it
  tinyvae data get fashion-mnist                Fashion-MNIST (then --data fashion-mnist)
  tinyvae data get mnist --dir ~/mnist          elsewhere (then --data ~/mnist)
  tinyvae data get mnist --mirror http://localhost:8000/   from your own copy of the four files
  tinyvae data list                             what is there, and where
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("data", help="download full MNIST or Fashion-MNIST (verified) for --data NAME",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    g = actions.add_parser("get", help="download and verify a data set", description=DESCRIPTION, epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("name", metavar="NAME", choices=list(SOURCES), help=f"one of: {', '.join(SOURCES)}")
    g.add_argument("--dir", metavar="DIR", help="where to store the files (default $XDG_CACHE_HOME/tinyvae/NAME, "
                   "or ~/.cache/tinyvae/NAME)")
    g.add_argument("--mirror", metavar="URL", help="an http(s) URL of a folder with the four .gz files, instead "
                   "of the published mirrors (your own copy, or a proxy); the checksums are checked all the same")
    g.add_argument("--progress", choices=["auto", "on", "off"], default="auto",
                   help="a progress bar per file (auto: only on a terminal)")
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors")
    actions.add_parser("list", help="the data sets tinyvae downloads, where they go, and whether they are there",
                       description="The data sets `tinyvae data get` downloads, their cache folders, and which "
                       "are complete.")
    return p


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        for name, source in download.SOURCES.items():
            state = "complete" if download.is_complete(name) else "not downloaded"
            print(f"{name:<14} {state:<15} {download.cache_dir(name)}  ({source.what})")
        return 0
    show = {"auto": None, "on": True, "off": False}[args.progress]
    if args.mirror is None:
        print(f"getting {download.SOURCES[args.name].what}", flush=True)
    folder = download.get(args.name, args.dir, mirror=args.mirror, progress=show,
                          log=lambda line: print(line, flush=True))
    use = args.name if args.dir is None else args.dir
    print(f"done: {args.name} in {folder}; train on it with: tinyvae train --data {use}")
    return 0
