"""Write data/mnist-sample.npz: a stratified sample of the official MNIST files.

    .venv/bin/python tools/make_sample.py [--from DIR] [--out PATH]

DIR holds the four official IDX files (.gz or uncompressed; default ../shared/data/mnist);
each is checked against its SHA-256 first. The sample keeps every digit's share of its split:
10,000 of the 60,000 training images and 2,000 of the 10,000 test images. Within a digit the
images are evenly spaced over the file's order (no random numbers), so the same files always
give the same arrays and, because the zip entries carry a fixed date, the same bytes.

The .npz holds uint8 ``x_train`` (N, 28, 28), ``y_train``, ``x_test``, ``y_test`` and the
positions of the chosen images in the official files, ``train_index`` and ``test_index``.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":  # run as a script: use the reference nn (imported as a module: the caller's)
    sys.path.insert(0, str(ROOT / "solutions"))
from nn.data import SHA256, parse_idx, verify_file  # noqa: E402

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))
from files import write_atomically  # noqa: E402  (tools/files.py)

SAMPLE_SIZES = {"train": 10_000, "t10k": 2_000}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip file can store


def read_official(folder: Path, name: str, ndim: int) -> np.ndarray:
    """The verified, decoded official file ``name`` from ``folder``."""
    for path in (folder / f"{name}.gz", folder / name):
        if path.is_file():
            return parse_idx(verify_file(path, SHA256[name]), path.name, ndim=ndim)
    raise FileNotFoundError(f"{folder}: no {name}.gz or {name}; pass the folder of the official files with --from")


def stratified_index(labels: np.ndarray, size: int) -> np.ndarray:
    """Sorted positions of ``size`` items with every label's share of ``labels`` kept.

    Shares are rounded by largest remainder so they add up to ``size``; each label's
    items are taken evenly spaced over their order in the file.
    """
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * size / len(labels)
    take = np.floor(exact).astype(int)
    take[np.argsort(-(exact - take), kind="stable")[: size - take.sum()]] += 1
    chosen = []
    for label, k in zip(classes, take):
        positions = np.flatnonzero(labels == label)
        chosen.append(positions[np.linspace(0, len(positions) - 1, k).round().astype(int)])
    return np.sort(np.concatenate(chosen))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz (a zip of .npy files, readable with allow_pickle=False), byte-for-byte reproducible, written atomically."""
    archive_bytes = io.BytesIO()
    with zipfile.ZipFile(archive_bytes, "w") as archive:
        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            entry = zipfile.ZipInfo(f"{key}.npy", date_time=FIXED_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, buffer.getvalue(), compresslevel=9)
    write_atomically(path, archive_bytes.getvalue())


def make_sample(source: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for split, short in (("train", "train"), ("t10k", "test")):
        images = read_official(source, f"{split}-images-idx3-ubyte", ndim=3)
        labels = read_official(source, f"{split}-labels-idx1-ubyte", ndim=1)
        index = stratified_index(labels, SAMPLE_SIZES[split])
        arrays[f"x_{short}"] = images[index]
        arrays[f"y_{short}"] = labels[index]
        arrays[f"{short}_index"] = index.astype(np.int32)
    return arrays


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, default=ROOT.parent / "shared" / "data" / "mnist",
                        help="folder with the four official IDX files")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "mnist-sample.npz")
    args = parser.parse_args(argv)
    arrays = make_sample(args.source)
    write_npz(args.out, arrays)
    print(f"wrote {args.out}: {len(arrays['x_train']):,} train + {len(arrays['x_test']):,} test images, "
          f"{args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
