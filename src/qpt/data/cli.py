"""qpt-cache: list or clear the eigenstate dataset caches.

qpt-cache list [--root data_cache]
qpt-cache clear [--root data_cache] [--match su2-L40] [--yes]

A bad root, a corrupt dataset description or a dataset that cannot be deleted is reported as
one ``error:`` line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import Any

from qpt.data.cache import list_caches

DEFAULT_ROOT = os.environ.get("QPT_CACHE_DIR", "data_cache")


def _fail(message: str) -> int:
    # one line and no traceback: what a user, or a grep over cluster logs, needs
    print(f"error: {message}", file=sys.stderr)
    return 2


def _list(entries: list[dict[str, Any]], root: str) -> int:
    if not entries:
        print(f"no cached datasets under {root}")
    for e in entries:
        if not e["corrupt"]:
            print(
                f"{os.path.basename(e['path']):<52} {e['states']:>7} states  {e['bytes'] / 2**20:8.1f} MiB"
                f"  E={e['energy']}"
            )
    corrupt = [e["corrupt"] for e in entries if e["corrupt"]]
    for message in corrupt:
        print(f"error: {message} (qpt-cache clear --match removes it)", file=sys.stderr)
    return 2 if corrupt else 0


def _clear(entries: list[dict[str, Any]], root: str, yes: bool) -> int:
    if not entries:
        print(f"nothing to clear under {root}")
        return 0
    if not yes:
        if not sys.stdin.isatty():
            print("refusing to clear without --yes (not a terminal)", file=sys.stderr)
            return 1
        if input(f"delete {len(entries)} dataset(s) under {root}? [y/N] ").strip().lower() != "y":
            return 1
    for e in entries:
        try:
            shutil.rmtree(e["path"])
        except OSError as err:  # stop at the first: the rest would likely fail alike
            return _fail(f"cannot remove {e['path']}: {err.strerror or err}")
        print(f"removed {e['path']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qpt-cache", description="List or clear dataset caches.")
    parser.add_argument("command", choices=["list", "clear"])
    parser.add_argument("--root", default=DEFAULT_ROOT, help=f"cache root (default {DEFAULT_ROOT})")
    parser.add_argument("--match", default="", help="only datasets whose name contains this")
    parser.add_argument("--yes", action="store_true", help="clear without asking")
    args = parser.parse_args(argv)
    try:
        found = list_caches(args.root)
    except OSError as err:
        return _fail(str(err))
    entries = [e for e in found if args.match in os.path.basename(e["path"])]
    if args.command == "list":
        return _list(entries, args.root)
    return _clear(entries, args.root, args.yes)


if __name__ == "__main__":
    raise SystemExit(main())
