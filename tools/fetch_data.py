"""`make data`: put the four official MNIST files, verified, into data/mnist/ before a workshop.

    .venv/bin/python tools/fetch_data.py [--from DIR] [--cache DIR] [--timeout SECONDS]

Each file is taken from the cache if it is already there and intact, else copied from
DIR (a USB stick, a shared folder; skipped when it does not exist), else downloaded from
the mirrors in $NN_MNIST_MIRRORS (separated by spaces or commas), else those in nn/data.py.
Every file is checked against the SHA-256 of its uncompressed
bytes. Prints what it did for each file; exits with an error message when a file could not
be had.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":  # run as a script: use the reference nn (imported as a module: the caller's)
    sys.path.insert(0, str(ROOT / "solutions"))
from nn.data import CACHE_DIR, TIMEOUT, ChecksumError, MnistUnavailable, fetch_mnist  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, default=None,
                        help="folder that may already hold the official files (.gz or uncompressed)")
    parser.add_argument("--cache", type=Path, default=CACHE_DIR, help=f"where to put them (default {CACHE_DIR})")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds to wait for a mirror to connect or send")
    args = parser.parse_args(argv)
    source = args.source if args.source is not None and args.source.is_dir() else None
    if args.source is not None and source is None:
        print(f"no folder {args.source}: downloading from the mirrors instead")
    try:
        files = fetch_mnist(args.cache, source, timeout=args.timeout)
    except (MnistUnavailable, ChecksumError) as error:
        print(f"make data failed: {error}", file=sys.stderr)
        return 1
    for name, (path, how, _) in files.items():
        print(f"{name}: {how}, SHA-256 verified ({path.stat().st_size / 1e6:.1f} MB at {path})")
    print(f"The full MNIST set is ready in {args.cache}; load_mnist() now uses it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
