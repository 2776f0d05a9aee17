"""Add up the JUnit XML reports of the pytest runs of both environments into one closing line.

Fails when a report is missing or when no test ran at all, so an empty run can never pass.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def count(paths: list[Path]) -> dict[str, int]:
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for path in paths:
        root = ET.parse(path).getroot()
        for suite in root.iter("testsuite"):
            for key in totals:
                totals[key] += int(suite.get(key, 0))
    return totals


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv if Path(p).is_file()]
    if len(paths) != 2:
        print(f"test summary: expected the reports of both environments, found {len(paths)}")
        return 1
    t = count(paths)
    failed = t["failures"] + t["errors"]
    passed = t["tests"] - failed - t["skipped"]
    print(f"total: {passed} passed, {failed} failed, {t['skipped']} skipped")
    if t["tests"] == 0:
        print("test summary: no test ran")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
