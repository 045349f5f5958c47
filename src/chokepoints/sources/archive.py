"""Zip archives read with care: whole listings, streamed members under size guards, one sentence.

Source archives come over the network and are large (a BACI zip inflates to about 11 GB of CSV),
so none of them is trusted: the central directory must account for every stored byte (a damaged
one can silently leave members out), members are streamed in blocks and counted while they
inflate (a zip bomb can lie in its headers), and every failure of :mod:`zipfile` or :mod:`zlib`
becomes one :class:`~chokepoints.errors.InputError` naming the archive, not a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from chokepoints.errors import DiskFullError, InputError

#: Largest size one member may inflate to (BACI yearly CSVs are about 400 MB; 64 GiB is generous).
DEFAULT_MAX_MEMBER_BYTES = 64 << 30
#: Largest inflated/compressed ratio. CSV of numbers compresses 3.5-4:1 (real BACI and Comtrade
#: files with zlib level 6); 200:1 leaves room for any honest table, not for a zip bomb.
DEFAULT_MAX_RATIO = 200.0
#: Members up to this size are not held to the ratio: a small file of blanks may compress 1000:1.
RATIO_FLOOR_BYTES = 1 << 20
#: Environment variables that override the two limits.
MAX_BYTES_VARIABLE = "CHOKEPOINTS_ZIP_MAX_BYTES"
MAX_RATIO_VARIABLE = "CHOKEPOINTS_ZIP_MAX_RATIO"

_LIMITS_HINT = (
    f"if you trust the archive, raise {MAX_BYTES_VARIABLE} (bytes) or {MAX_RATIO_VARIABLE}"
)

#: What zipfile and zlib raise on truncated, spliced or corrupt archives.
DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError)

_BLOCK = 1 << 22
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_HAS_DESCRIPTOR = 0x08
#: Sizes of a data descriptor after a member's data: with or without signature, 32 or 64 bit.
_DESCRIPTOR_SIZES = frozenset({12, 16, 20, 24})


class _Bomb(Exception):
    """A member that inflates beyond the limits; carries the reason."""


@dataclass(frozen=True)
class Limits:
    """How far a member may inflate: an absolute size and a ratio to its compressed size."""

    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
    max_ratio: float = DEFAULT_MAX_RATIO

    @classmethod
    def from_env(cls) -> Limits:
        """Limits from ``CHOKEPOINTS_ZIP_MAX_BYTES`` and ``..._MAX_RATIO``, else the defaults."""
        try:
            return cls(
                int(os.environ.get(MAX_BYTES_VARIABLE) or DEFAULT_MAX_MEMBER_BYTES),
                float(os.environ.get(MAX_RATIO_VARIABLE) or DEFAULT_MAX_RATIO),
            )
        except ValueError as exc:
            raise InputError(
                f"{MAX_BYTES_VARIABLE} and {MAX_RATIO_VARIABLE} must be numbers ({exc})",
                hint="unset them to use the defaults (64 GiB and 200)",
            ) from exc

    def allowed(self, info: zipfile.ZipInfo) -> int:
        """Most bytes ``info`` may inflate to: the absolute limit or ratio x its packed size."""
        by_ratio = max(RATIO_FLOOR_BYTES, int(self.max_ratio * info.compress_size))
        return min(self.max_member_bytes, by_ratio)


def damaged(archive: Path, reason: str, hint: str) -> InputError:
    """The one-sentence error for an archive that cannot be listed or read whole."""
    return InputError(
        f"the archive is truncated or damaged ({reason})", file=archive.name, hint=hint
    )


@contextlib.contextmanager
def reading(archive: Path, hint: str) -> Iterator[zipfile.ZipFile]:
    """Open ``archive`` after checking its listing; damage met inside the block is an InputError.

    Every member's local header is compared with its directory entry, also those the caller
    will not read: a damaged name would otherwise hide a member from a reader that selects
    members by name. ``hint`` says what to do about a damaged archive (download it again).
    """
    try:
        with zipfile.ZipFile(archive) as bundle:
            reason = _listing_problem(archive, bundle)
            if reason is not None:
                raise damaged(archive, reason, hint)
            for info in bundle.infolist():
                bundle.open(info).close()  # zipfile compares the names, reads no data
            yield bundle
    except DAMAGE as exc:
        raise damaged(archive, str(exc) or type(exc).__name__, hint) from exc
    except _Bomb as exc:
        raise InputError(str(exc), file=archive.name, hint=_LIMITS_HINT) from None


def problem(archive: Path, *, whole: bool, limits: Limits | None = None) -> str | None:
    """Why ``archive`` is unusable (not a zip, incomplete listing, damaged member), or None.

    With ``whole`` every member is inflated and counted, proving every CRC (a full read);
    without it only the listing and the declared sizes are checked (a few bytes per member).
    """
    limits = limits or Limits.from_env()
    try:
        with zipfile.ZipFile(archive) as bundle:
            reason = _listing_problem(archive, bundle)
            for info in bundle.infolist() if reason is None else []:
                if info.file_size > limits.allowed(info):
                    return _too_big(info, info.file_size, limits)
                with bundle.open(info) as source:  # compares the member's local header
                    for _ in _blocks(source, info, limits) if whole else []:
                        pass
            return reason
    except DAMAGE as exc:
        return str(exc) or type(exc).__name__
    except _Bomb as exc:
        return str(exc)


def read_member(bundle: zipfile.ZipFile, name: str, limits: Limits) -> bytes:
    """The bytes of a small member (a country or product list), inflated under the size guard."""
    info = bundle.getinfo(name)
    with bundle.open(info) as source:
        return b"".join(_blocks(source, info, limits))


def extract_member(bundle: zipfile.ZipFile, name: str, target: Path, limits: Limits) -> None:
    """Stream member ``name`` to ``target`` under the size guard; the target goes on any error."""
    info = bundle.getinfo(name)
    try:
        with bundle.open(info) as source, target.open("wb") as sink:
            for block in _blocks(source, info, limits):
                sink.write(block)
    except OSError as exc:
        target.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise _disk_full(target.parent, info) from exc
        raise
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _blocks(source: IO[bytes], info: zipfile.ZipInfo, limits: Limits) -> Iterator[bytes]:
    """The inflated blocks of a member, counted: past the allowed size it is a possible bomb."""
    allowed = limits.allowed(info)
    if info.file_size > allowed:
        raise _Bomb(_too_big(info, info.file_size, limits))
    done = 0
    while block := source.read(_BLOCK):
        done += len(block)
        if done > allowed:
            raise _Bomb(_too_big(info, done, limits))
        yield block


def _too_big(info: zipfile.ZipInfo, size: int, limits: Limits) -> str:
    """Why a member is refused as a possible zip bomb."""
    ratio = size / max(info.compress_size, 1)
    return (
        f"member {info.filename} inflates to at least {size:,} bytes ({ratio:,.0f}:1 from "
        f"{info.compress_size:,}), beyond the limits of {limits.max_member_bytes:,} bytes and "
        f"{limits.max_ratio:g}:1, so it is refused as a possible zip bomb"
    )


def _listing_problem(archive: Path, bundle: zipfile.ZipFile) -> str | None:
    """Why the central directory does not account for every stored byte, or None.

    Members are stored back to back from byte 0 up to the central directory; each listed one
    must start with a local header exactly where the one before ends (after its data
    descriptor, if it has one). A gap means bytes the listing left out (a damaged directory
    that drops members); a missing header means offsets that point at the wrong place.
    """
    position, descriptor = 0, False
    with archive.open("rb") as handle:
        for info in sorted(bundle.infolist(), key=lambda i: i.header_offset):
            gap = info.header_offset - position
            if gap < 0:
                return f"member {info.filename} overlaps the one before it"
            if gap not in (_DESCRIPTOR_SIZES if descriptor else {0}):
                return f"{gap} bytes before member {info.filename} are not listed"
            handle.seek(info.header_offset)
            header = handle.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
                return f"no local header where member {info.filename} should start"
            fields = _LOCAL_HEADER.unpack(header)
            flags, name_length, extra_length = fields[3], fields[10], fields[11]
            start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
            position, descriptor = start + info.compress_size, bool(flags & _HAS_DESCRIPTOR)
    gap = bundle.start_dir - position
    if gap not in (_DESCRIPTOR_SIZES if descriptor else {0}):
        return f"{gap} bytes before the central directory are not listed"
    return None


def _disk_full(folder: Path, info: zipfile.ZipInfo) -> DiskFullError:
    """One sentence for a full disk while extracting: where, how much, and what to do."""
    advice = "free space there"
    if folder.resolve().is_relative_to(Path(tempfile.gettempdir()).resolve()):
        advice += " or set TMPDIR to a folder with more room"
    return DiskFullError(
        f"no space left in {folder} while extracting {info.filename} ({info.file_size:,} bytes "
        f"once inflated): {advice}, then run the command again"
    )
