"""The carriers orderbot knows: their names, tracking-number formats and freight rates (rule 6).

Freight is a base fee plus a percentage of the order amount, never below the carrier's minimum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

from orders.domain.errors import DomainError

CENT = Decimal("0.01")


class UnknownCarrier(DomainError):
    code = "unknown_carrier"


class InvalidTrackingNumber(DomainError):
    code = "invalid_tracking_number"


@dataclass(frozen=True)
class Carrier:
    name: str
    base: Decimal
    percent: Decimal
    minimum: Decimal
    tracking_pattern: re.Pattern[str] | None
    tracking_example: str | None
    tracking_url: str | None = None  # the carrier's tracking page, "{number}" standing for the number


@dataclass(frozen=True)
class Carriers:
    by_name: dict[str, Carrier]
    aliases: dict[str, str]  # lower-case alias -> carrier name

    def get(self, carrier: str) -> Carrier:
        name = self.aliases.get((carrier or "").strip().lower())
        if name is None:
            known = ", ".join(sorted(self.by_name))
            raise UnknownCarrier(f"Unknown carrier {carrier!r}; known carriers: {known}.")
        return self.by_name[name]

    def check_tracking_number(self, carrier: str, tracking_number: str) -> tuple[str, str]:
        """The carrier's canonical name and the tracking number, normalised; raise if it does not fit."""
        known = self.get(carrier)
        number = re.sub(r"[\s-]", "", tracking_number or "").upper()
        if not number or (known.tracking_pattern and not known.tracking_pattern.fullmatch(number)):
            example = f" (like {known.tracking_example})" if known.tracking_example else ""
            raise InvalidTrackingNumber(
                f"{tracking_number!r} is not a {known.name} tracking number{example}."
            )
        return known.name, number

    def tracking_page(self, carrier: str | None, tracking_number: str | None) -> str | None:
        """The carrier's page for this parcel, where carriers.yml names one."""
        name = self.aliases.get((carrier or "").strip().lower())
        template = self.by_name[name].tracking_url if name else None
        if not (template and tracking_number):
            return None
        return template.replace("{number}", quote(tracking_number, safe=""))

    def freight(self, carrier: str, amount: Decimal) -> Decimal:
        rate = self.get(carrier)
        value = rate.base + amount * rate.percent / Decimal(100)
        return max(value, rate.minimum).quantize(CENT, rounding=ROUND_HALF_UP)

    @classmethod
    def from_mapping(cls, data: dict) -> Carriers:
        """Build from the carriers file: {carriers: {name: {base, percent, minimum?, aliases?, tracking?}}}"""
        by_name: dict[str, Carrier] = {}
        aliases: dict[str, str] = {}
        for name, entry in ((data or {}).get("carriers") or {}).items():
            try:
                tracking = entry.get("tracking") or {}
                by_name[name] = Carrier(
                    name=name,
                    base=Decimal(str(entry["base"])),
                    percent=Decimal(str(entry.get("percent", 0))),
                    minimum=Decimal(str(entry.get("minimum", 0))),
                    tracking_pattern=re.compile(tracking["pattern"]) if tracking.get("pattern") else None,
                    tracking_example=tracking.get("example"),
                    tracking_url=tracking.get("url"),
                )
            except (KeyError, ArithmeticError, TypeError, AttributeError, re.error) as exc:
                raise ValueError(f"carrier {name!r} is invalid in the carriers file: {exc!r}") from None
            for alias in [name, *entry.get("aliases", [])]:
                aliases[str(alias).strip().lower()] = name
        if not by_name:
            raise ValueError("the carriers file lists no carrier")
        return cls(by_name=by_name, aliases=aliases)
