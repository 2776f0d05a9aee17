"""Reading ERP CSV exports: streamed, with the encoding (UTF-8, UTF-8 with BOM, GBK/GB18030) detected."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from orders.domain.erp_record import UnreadableRow

SNIFF_BYTES = 64 * 1024
_UNDECODED = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a byte it cannot decode


class UnreadableFile(ValueError):
    """The file cannot be read as a CSV export; the message says why."""


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    text = codecs.getincrementaldecoder("utf-8")("surrogateescape").decode(sample, final=False)
    undecodable = len(_UNDECODED.findall(text))
    if undecodable == 0:
        return "utf-8"
    # A few damaged bytes among plenty of UTF-8 characters (a cell cut in the ERP) are UTF-8 with those
    # lines quarantined; GB18030 would read them as other characters, wrongly and silently. GBK text
    # read as UTF-8 is nearly all damage.
    characters = sum(1 for c in text if c > "\x7f") - undecodable
    if undecodable * 10 <= characters:
        return "utf-8"
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


class _PhysicalLines:
    """The file's physical lines, numbered from 1, for the CSV reader; lines ``give_back`` returns are
    read again first (after a row that opened a quote and never closed it, the lines it swallowed are
    read as rows of their own)."""

    def __init__(self, text: io.TextIOBase) -> None:
        self.taken: list[tuple[int, str]] = []  # the lines of the row being read
        self._again: deque[tuple[int, str]] = deque()
        self._text = text
        self.read = 0  # physical lines read from the file so far

    def __iter__(self) -> Iterator[str]:
        taken, again = self.taken, self._again
        for line in self._text:
            while again:
                item = again.popleft()
                taken.append(item)
                yield item[1]
            self.read += 1
            taken.append((self.read, line))
            yield line
        while again:
            item = again.popleft()
            taken.append(item)
            yield item[1]

    def give_back(self, lines: list[tuple[int, str]]) -> None:
        self._again.extendleft(reversed(lines))


def _unbalanced(lines: list[tuple[int, str]], cells: list[str], width: int) -> bool:
    """Whether a row read over several lines is a quote left open rather than a quoted line break: its
    cells do not fit the header, or its quotes do not pair up (the reader went on to the end)."""
    return len(cells) != width or sum(line.count('"') for _, line in lines) % 2 == 1


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
    # Bytes that are not text in the encoding become lone surrogates (surrogateescape): that line is
    # quarantined with the reason, and the lines after it are read as usual.
    text = io.TextIOWrapper(
        io.BufferedReader(stream, 1 << 20), encoding=encoding, errors="surrogateescape", newline=""
    )
    try:
        lines = _PhysicalLines(text)
        reader = csv.reader(lines)
        try:
            header = next(reader)
        except StopIteration:
            raise UnreadableFile(f"{path.name} has no header row") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UnreadableFile(f"{path.name}: cannot read the header row: {exc}") from None
        width = len(header)

        def rows() -> Iterator[tuple[int, list[str]]]:
            nonlocal reader
            taken = lines.taken
            while True:
                taken.clear()
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # a field over the size limit: a quote left open, or a huge cell
                    reader = csv.reader(lines)  # a fresh reader: the old one stopped inside the row
                    if len(taken) < 2:
                        yield taken[0][0], UnreadableRow([], f"line {taken[0][0]} cannot be read: {exc}")
                        continue
                    cells = []
                first = taken[0][0]
                if len(taken) > 1 and (not cells or _unbalanced(taken, cells, width)):
                    # Only the line where the open quote began is lost; the lines it swallowed are rows.
                    lines.give_back(taken[1:])
                    reader = csv.reader(lines)  # the old one may have read to the end of the file
                    yield (
                        first,
                        UnreadableRow(
                            next(csv.reader([taken[0][1]]), []),
                            f"a quoted field begins on line {first} and is never closed (unbalanced quotes)",
                        ),
                    )
                elif cells and (cells[0] or any(cells)):  # skip blank lines, cheaply
                    if _UNDECODED.search(taken[0][1]) or (
                        len(taken) > 1 and _UNDECODED.search("".join(cells))
                    ):
                        yield first, UnreadableRow(cells, f"line {first} is not valid {encoding} text")
                    else:
                        yield first, cells

        yield CsvExport(header=header, rows=rows(), encoding=encoding)
    finally:
        text.close()
