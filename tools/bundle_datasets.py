"""Write the small datasets that ship inside numpynn (src/numpynn/data/bundled/).

    pip install scikit-learn && python tools/bundle_datasets.py

The sources are the copies of the UCI Iris and Optical Recognition of Handwritten Digits
data that scikit-learn ships; this script rewrites them in numpynn's own formats (a CSV
with a header, an .npz of uint8 arrays). Run it only to regenerate the files.
"""

from __future__ import annotations

import csv
import gzip
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "src" / "numpynn" / "data" / "bundled"


def main() -> None:
    import sklearn

    source = pathlib.Path(sklearn.__file__).parent / "datasets" / "data"
    with open(source / "iris.csv") as f:
        rows = list(csv.reader(f))
    species = rows[0][2:]
    with open(OUT / "iris.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
        for row in rows[1:]:
            writer.writerow([*row[:4], species[int(row[4])]])
    with gzip.open(source / "digits.csv.gz", "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    images = table[:, :64].astype(np.uint8).reshape(-1, 8, 8)
    np.savez_compressed(OUT / "digits.npz", images=images, labels=table[:, 64].astype(np.uint8))
    print(f"wrote {OUT / 'iris.csv'} and {OUT / 'digits.npz'}")


if __name__ == "__main__":
    main()
