"""Reading ERP CSV exports: streamed, with the encoding (UTF-8, UTF-8 with BOM, GBK/GB18030) detected."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SNIFF_BYTES = 64 * 1024


class UnreadableFile(ValueError):
    """The file cannot be read as a CSV export; the message says why."""


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        raise UnreadableFile("the file is neither UTF-8 nor GBK/GB18030 text") from None


class CountingReader(io.RawIOBase):
    """Reports how many bytes were read, so a progress bar can follow a streamed file."""

    def __init__(self, raw: io.BufferedReader, on_bytes: Callable[[int], object]) -> None:
        self._raw = raw
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self._on_bytes(n)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


@dataclass
class CsvExport:
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (line number in the file, cells)
    encoding: str


@contextmanager
def open_csv(path: Path, on_bytes: Callable[[int], object] | None = None) -> Iterator[CsvExport]:
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(f"{path} does not exist or is not a file")
    with path.open("rb") as probe:
        sample = probe.read(SNIFF_BYTES)
    if not sample.strip():
        raise UnreadableFile(f"{path.name} is empty")
    encoding = detect_encoding(sample)
    raw = path.open("rb", buffering=0)
    stream: io.RawIOBase = CountingReader(raw, on_bytes) if on_bytes else raw
    text = io.TextIOWrapper(io.BufferedReader(stream, 1 << 20), encoding=encoding, newline="")
    try:
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            raise UnreadableFile(f"{path.name} has no header row") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UnreadableFile(f"{path.name}: cannot read the header row: {exc}") from None

        def rows() -> Iterator[tuple[int, list[str]]]:
            try:
                for cells in reader:
                    if cells and (cells[0] or any(cells)):  # skip blank lines, cheaply
                        yield reader.line_num, cells
            except UnicodeDecodeError:
                raise UnreadableFile(
                    f"{path.name}: not valid {encoding} text after line {reader.line_num}"
                ) from None
            except csv.Error as exc:
                raise UnreadableFile(f"{path.name}: line {reader.line_num}: {exc}") from None

        yield CsvExport(header=header, rows=rows(), encoding=encoding)
    finally:
        text.close()
