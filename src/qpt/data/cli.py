"""qpt-cache: list or clear the eigenstate dataset caches.

qpt-cache list [--root data_cache]
qpt-cache clear [--root data_cache] [--match su2-L40] [--yes]
"""

from __future__ import annotations

import argparse
import os
import sys

from qpt.data.cache import clear_caches, list_caches

DEFAULT_ROOT = os.environ.get("QPT_CACHE_DIR", "data_cache")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qpt-cache", description="List or clear dataset caches.")
    parser.add_argument("command", choices=["list", "clear"])
    parser.add_argument("--root", default=DEFAULT_ROOT, help=f"cache root (default {DEFAULT_ROOT})")
    parser.add_argument("--match", default="", help="only datasets whose name contains this")
    parser.add_argument("--yes", action="store_true", help="clear without asking")
    args = parser.parse_args(argv)
    entries = [e for e in list_caches(args.root) if args.match in os.path.basename(e["path"])]
    if args.command == "list":
        if not entries:
            print(f"no cached datasets under {args.root}")
        for e in entries:
            print(
                f"{os.path.basename(e['path']):<48} {e['states']:>7} states  {e['bytes'] / 2**20:8.1f} MiB"
                f"  E={e['energy']}"
            )
        return 0
    if not entries:
        print(f"nothing to clear under {args.root}")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print("refusing to clear without --yes (not a terminal)", file=sys.stderr)
            return 1
        if (
            input(f"delete {len(entries)} dataset(s) under {args.root}? [y/N] ").strip().lower()
            != "y"
        ):
            return 1
    for path in clear_caches(args.root, args.match):
        print(f"removed {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
