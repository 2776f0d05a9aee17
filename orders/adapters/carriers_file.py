"""Loading the carriers file (YAML) that operations edit."""

from __future__ import annotations

from pathlib import Path

import yaml

from orders.domain.carriers import Carriers


def load_carriers(path: Path) -> Carriers:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the carriers file {path}: {exc}") from None
    return Carriers.from_mapping(data)
