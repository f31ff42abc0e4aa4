"""Which text encoding a file is in, and a stream of its bytes as validated UTF-8.

Detection looks at a sample of the first bytes (1 MiB):

1. a byte-order mark decides: ``utf-8-sig``, or ``utf-16`` (either byte order);
2. NUL bytes in every other position without a BOM mean ``utf-16-le`` / ``utf-16-be``;
3. a sample that decodes as UTF-8 is ``utf-8`` (pure ASCII too), and so is one where valid
   multi-byte UTF-8 characters outnumber undecodable bytes four to one (reading then fails at
   the first bad line, rather than turning every ``å`` into ``Ã¥``);
4. otherwise the bytes 0x80-0xFF are either Western European single-byte text or Chinese
   double-byte text. In GB18030/GBK every Chinese character is two bytes >= 0x81, so the
   high bytes come in runs of even length; in Windows-1252 an accented letter is one high byte
   between ASCII letters (``G\\xf6teborg``). If the sample decodes as GB18030 and at least 70 %
   of its high bytes lie in even-length runs, it is ``gb18030`` (a superset of GBK and GB2312);
   otherwise ``cp1252``, or ``latin-1`` when the sample holds a byte cp1252 leaves undefined.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from insightloop.ingest.readers.model import ReadError

__all__ = ["EncodingGuess", "detect_encoding", "utf8_chunks"]

SAMPLE_BYTES = 1 << 20
CHUNK_BYTES = 8 << 20
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
# Encodings DuckDB reads as they are (after validation); the others are transcoded to UTF-8.
NATIVE_UTF8 = frozenset({"utf-8", "utf-8-sig", "ascii"})


@dataclass(frozen=True)
class EncodingGuess:
    """The detected encoding of a file.

    Parameters
    ----------
    encoding
        A Python codec name.
    confidence
        From 0 to 1: 1 for a byte-order mark or valid non-ASCII UTF-8, lower for heuristics.
    had_bom
        Whether the file starts with a byte-order mark.
    """

    encoding: str
    confidence: float
    had_bom: bool


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def guess_encoding(sample: bytes, complete: bool = True) -> EncodingGuess:
    """Guess the encoding of ``sample``, the first bytes of a file (see the module docstring).

    Examples
    --------
    >>> guess_encoding("Göteborg;Malmö".encode("cp1252")).encoding
    'cp1252'
    >>> guess_encoding("顾客名字,地址".encode("gb18030")).encoding
    'gb18030'
    >>> guess_encoding("Åsa".encode("utf-8-sig"))
    EncodingGuess(encoding='utf-8-sig', confidence=1.0, had_bom=True)
    """
    if sample.startswith(codecs.BOM_UTF8):
        return EncodingGuess("utf-8-sig", 1.0, True)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return EncodingGuess("utf-16", 1.0, True)
    head = sample[:4096]
    if len(head) >= 4 and head.count(0) >= len(head) // 3:
        even_nuls, odd_nuls = head[0::2].count(0), head[1::2].count(0)
        if odd_nuls > 4 * even_nuls:
            return EncodingGuess("utf-16-le", 0.9, False)
        if even_nuls > 4 * odd_nuls:
            return EncodingGuess("utf-16-be", 0.9, False)
    if _decodes(sample, "utf-8", complete):
        return EncodingGuess("utf-8", 1.0 if max(sample, default=0) > 0x7F else 0.9, False)
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for char in text if ord(char) > 0x7F) - bad
    if good >= 4 * bad:
        return EncodingGuess("utf-8", round(good / (good + bad), 2), False)
    runs = [len(match.group()) for match in _HIGH_RUN.finditer(sample)]
    high = sum(runs)
    paired = sum(length for length in runs if length % 2 == 0)
    if high and paired / high >= 0.7 and _decodes(sample, "gb18030", complete):
        return EncodingGuess("gb18030", round(paired / high, 2), False)
    if _CP1252_UNDEFINED.search(sample):
        return EncodingGuess("latin-1", 0.5, False)
    return EncodingGuess(
        "cp1252", round(0.5 + 0.5 * (1 - paired / high), 2) if high else 0.5, False
    )


def detect_encoding(path: str | Path) -> EncodingGuess:
    """Guess the encoding of the file at ``path`` from its first MiB.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "people.csv"
    >>> _ = file.write_bytes("namn\\nÅsa Öberg\\n".encode("cp1252"))
    >>> detect_encoding(file).encoding
    'cp1252'
    """
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
        complete = len(sample) < SAMPLE_BYTES or not handle.read(1)
    return guess_encoding(sample, complete)


def _invalid(path: str, encoding: str, line: int) -> ReadError:
    return ReadError(
        f"{path}: line {line} holds bytes that are not valid {encoding}",
        hint="Set the source's encoding (for example encoding='cp1252', 'gb18030' or 'utf-16'), "
        "or repair the file; insightloop does not guess past undecodable bytes.",
    )


def utf8_chunks(
    path: str, encoding: str, chunk_bytes: int = CHUNK_BYTES, validate: bool = True
) -> Iterator[bytes]:
    """Yield the file's content as UTF-8 bytes in chunks, checking every byte decodes.

    UTF-8 files are yielded as they are (a BOM included, so offsets match the file); other
    encodings are decoded incrementally and re-encoded. A chunk may end inside a character.
    ``validate=False`` skips decoding UTF-8 files (DuckDB validates them itself).

    Raises
    ------
    ReadError
        At the first byte sequence that is invalid in ``encoding``, naming its line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = file.write_bytes("é\\n".encode("cp1252"))
    >>> b"".join(utf8_chunks(str(file), "cp1252")).decode()
    'é\\n'
    """
    native = codecs.lookup(encoding).name in NATIVE_UTF8
    decoder = codecs.getincrementaldecoder("utf-8" if native else encoding)()
    lines_before = 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(chunk_bytes)
            final = not chunk
            if native and not validate:
                if final:
                    return
                yield chunk
                continue
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as err:
                prefix = chunk[: err.start].decode(encoding, errors="replace")
                raise _invalid(path, encoding, lines_before + prefix.count("\n") + 1) from None
            if final:
                return
            if native:
                lines_before += chunk.count(b"\n")
                yield chunk
            else:
                lines_before += text.count("\n")
                yield text.encode("utf-8")
