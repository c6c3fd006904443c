"""`make data`: put the four official MNIST files, verified, into data/mnist/ before a workshop.

    .venv/bin/python tools/fetch_data.py [--from DIR | --from-if-present DIR] [--cache DIR] [--timeout SECONDS]

Each file is taken from the cache if it is already there and intact, else copied from
DIR (a USB stick, a shared folder), else downloaded from the mirrors in $NN_MNIST_MIRRORS
(separated by spaces or commas), else those in nn/data.py. A DIR given with --from must
exist (`make data MNIST_DIR=...`); one given with --from-if-present (the Makefile's default
MNIST_DIR) is skipped when it does not. Every file is checked against the SHA-256 of its
uncompressed bytes. Prints what it did for each file; exits with an error message, and the
ways to get the files, when a file could not be had.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":  # run as a script: use the reference nn (imported as a module: the caller's)
    sys.path.insert(0, str(ROOT / "solutions"))
from nn.data import (CACHE_DIR, SHA256, TIMEOUT, CacheUnwritable, ChecksumError, MnistUnavailable,  # noqa: E402
                     fetch_mnist, ways_to_the_full_set)


def _missing_folder(folder: Path) -> str:
    return (f"make data: no folder {folder} (MNIST_DIR): name the folder that holds the four official files "
            f"({', '.join(SHA256)}; .gz or uncompressed), e.g. `make data MNIST_DIR=/media/usb/mnist`, "
            "or leave MNIST_DIR out to download them")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sources = parser.add_mutually_exclusive_group()
    sources.add_argument("--from", dest="source", type=Path, default=None,
                         help="folder that holds the official files (.gz or uncompressed); must exist")
    sources.add_argument("--from-if-present", dest="default_source", type=Path, default=None,
                         help="like --from, but skipped when the folder does not exist")
    parser.add_argument("--cache", type=Path, default=CACHE_DIR, help=f"where to put them (default {CACHE_DIR})")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds to wait for a mirror to connect or send")
    args = parser.parse_args(argv)
    if args.source is not None and not args.source.is_dir():
        print(_missing_folder(args.source), file=sys.stderr)
        return 1
    source = args.source or args.default_source
    if source is not None and not source.is_dir():
        print(f"no folder {source} (the default MNIST_DIR): downloading from the mirrors instead")
        source = None
    try:
        files = fetch_mnist(args.cache, source, timeout=args.timeout)
    except CacheUnwritable as error:
        print(f"make data failed: cannot write to the MNIST cache folder {error.folder}: {error.reason} (make it "
              "writable, free some space, or choose another with `.venv/bin/python tools/fetch_data.py --cache DIR`)",
              file=sys.stderr)
        return 1
    except (MnistUnavailable, ChecksumError) as error:
        print(f"make data failed: {error}\n{ways_to_the_full_set()}", file=sys.stderr)
        return 1
    for name, (path, how, _) in files.items():
        print(f"{name}: {how}, SHA-256 verified ({path.stat().st_size / 1e6:.1f} MB at {path})")
    print(f"The full MNIST set is ready in {args.cache}; load_mnist() now uses it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
