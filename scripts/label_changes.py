"""How many training and evaluation labels a labelling change moved.

Loads ``labelled_records()`` + ``multilingual_records()`` of ``classifiers.training_data``
and compares them, by record key, with the same lists of another tree or git revision:

    python scripts/label_changes.py --dump new.json                 # this tree
    python scripts/label_changes.py --dump old.json --repo /tmp/old # another checkout
    python scripts/label_changes.py --compare old.json new.json
    python scripts/label_changes.py --rev 10d594f                   # both, via a temporary git worktree

The data directory is the one this tree reads (``--data-dir`` to override), so both
sides label the same recorded files.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def dump(out: Path, repo: Path, data_dir: Path | None) -> None:
    sys.path.insert(0, str(repo))
    training_data = importlib.import_module("classifiers.training_data")
    if not Path(str(training_data.__file__)).resolve().is_relative_to(repo.resolve()):
        raise SystemExit(f"imported {training_data.__file__}, not the tree at {repo}")
    data_dir = data_dir or training_data.default_data_dir()
    records = training_data.labelled_records(data_dir) + training_data.multilingual_records(data_dir)
    table: dict[str, dict[str, object]] = {}
    seen: Counter[str] = Counter()
    for rec in records:
        seen[rec.key] += 1
        key = rec.key if seen[rec.key] == 1 else f"{rec.key}#{seen[rec.key]}"
        table[key] = {"source": rec.source, "split": rec.split, "labels": sorted(rec.labels)}
    out.write_text(json.dumps(table, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    print(f"{len(table)} records from {repo} written to {out}")


def compare(old_path: Path, new_path: Path) -> dict[str, object]:
    old = json.loads(old_path.read_text(encoding="utf-8"))
    new = json.loads(new_path.read_text(encoding="utf-8"))
    common = sorted(set(old) & set(new))
    gone = sorted(set(old) - set(new))
    appeared = sorted(set(new) - set(old))
    changed = [k for k in common if old[k]["labels"] != new[k]["labels"]]
    split_moved = [k for k in common if old[k]["split"] != new[k]["split"]]
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    by_split: Counter[str] = Counter()
    by_source_split: Counter[tuple[str, str]] = Counter()
    compared_source: Counter[str] = Counter(new[k]["source"] for k in common)
    compared_split: Counter[str] = Counter(new[k]["split"] for k in common)
    for k in changed:
        before, after = set(old[k]["labels"]), set(new[k]["labels"])
        added.update(after - before)
        removed.update(before - after)
        by_source[new[k]["source"]] += 1
        by_split[new[k]["split"]] += 1
        by_source_split[(new[k]["source"], new[k]["split"])] += 1
    print(f"records compared: {len(common)} (old {len(old)}, new {len(new)})")
    print(f"records whose label set changed: {len(changed)}")
    print(f"records that disappeared: {len(gone)}; appeared: {len(appeared)}; changed split: {len(split_moved)}")
    for k in (gone + appeared)[:20]:
        print(f"  {'-' if k in old else '+'} {k}")
    print("\nchanged per source (of compared):")
    for source in sorted(compared_source):
        splits = ", ".join(f"{s} {by_source_split[(source, s)]}" for s in ("train", "val", "test"))
        print(f"  {source:16} {by_source[source]:5} / {compared_source[source]:6}  ({splits})")
    print("\nchanged per split (of compared):")
    for split in ("train", "val", "test"):
        print(f"  {split:6} {by_split[split]:5} / {compared_split[split]:6}")
    print("\nlabels per sector: added / removed")
    for sector in sorted(set(added) | set(removed)):
        print(f"  {sector:22} +{added[sector]:<5} -{removed[sector]}")
    return {"compared": len(common), "changed": len(changed), "gone": gone, "appeared": appeared}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dump", type=Path, metavar="OUT.json", help="write {key: labels, source, split} of a tree")
    mode.add_argument("--compare", nargs=2, type=Path, metavar=("OLD.json", "NEW.json"))
    mode.add_argument("--rev", help="compare this tree with a git revision (checked out in a temporary worktree)")
    parser.add_argument("--repo", type=Path, default=ROOT, help="tree whose classifiers package is loaded (--dump)")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    if args.dump:
        dump(args.dump, args.repo, args.data_dir)
    elif args.compare:
        compare(*args.compare)
    else:
        data_dir = args.data_dir or ROOT.parent / "shared" / "data"
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp) / "base"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.rev], check=True)
            try:
                for repo, out in ((base, Path(tmp) / "old.json"), (ROOT, Path(tmp) / "new.json")):
                    cmd = [
                        sys.executable,
                        __file__,
                        "--dump",
                        str(out),
                        "--repo",
                        str(repo),
                        "--data-dir",
                        str(data_dir),
                    ]
                    subprocess.run(cmd, check=True, cwd=repo)
                compare(Path(tmp) / "old.json", Path(tmp) / "new.json")
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=True)


if __name__ == "__main__":
    main()
