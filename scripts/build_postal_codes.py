"""Build chamber_callback/data/postal_codes.json.gz from La Poste's table.

The table (open licence) is published on the npm registry as the package
``codes-postaux``. To refresh it::

    npm pack codes-postaux && tar xzf codes-postaux-*.tgz
    python scripts/build_postal_codes.py package/codes-postaux.json

The output maps each postal code to its communes: ``{"05110": [["04019", "Bayons"], ...]}``.
"""
import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "chamber_callback" / "data" / "postal_codes.json.gz"


def main(source: str) -> None:
    rows = json.loads(Path(source).read_text(encoding="utf-8"))
    table: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in rows:
        table[row["codePostal"]].add((row["codeCommune"], row["nomCommune"]))
    compact = {code: sorted(communes, key=lambda c: (c[1], c[0])) for code, communes in sorted(table.items())}
    data = json.dumps(compact, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    OUT.write_bytes(gzip.compress(data, mtime=0))
    print(f"{len(compact)} postal codes, {len(rows)} rows -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
