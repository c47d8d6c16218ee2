"""Records derived from each document at ingest (target figures, support measures),
saved by the store inside the generation as `<kind>.json`.

Every kind follows one life cycle, so it lives here once: extracted when a document
is read, carried over while the document's file is unchanged, rebuilt from the
chunks for documents indexed before the kind existed (or by another extractor
version), and dropped with the document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ingest.document import text_from_chunks
from ingest.store import FileRecord
from policyqa.types import Chunk

R = TypeVar("R")
T = TypeVar("T")

# source -> (the sha256 of the file the records came from, the records)
BySource = dict[str, tuple[str, list[R]]]


@dataclass(frozen=True)
class RecordKind(Generic[R]):
    """One kind of record. `extract` reads one document: its cleaned text and its
    chunks in document order; `version` changes whenever what it produces does."""

    name: str
    version: int
    extract: Callable[[str, Sequence[Chunk]], list[R]]
    to_json: Callable[[R], dict[str, Any]]
    from_json: Callable[[dict[str, Any]], R]

    def __post_init__(self) -> None:
        if not self.name.isidentifier():  # it names a file inside the generation
            raise ValueError(f"record kind {self.name!r} must be a plain name such as 'targets'")


class RecordSource(Protocol):
    """What reading records needs from an index store (ingest/store.py's)."""

    def files(self) -> dict[str, FileRecord]: ...
    def chunks(self) -> Iterable[Chunk]: ...
    def records(self, kind: str) -> object | None: ...
    def derived(self, key: str, build: Callable[[Any], T]) -> T: ...


class RecordStore(RecordSource, Protocol):
    """What keeping records needs: reading them and setting those of the next generation."""

    def set_records(self, kind: str, payload: object) -> None: ...


def encode(kind: RecordKind[R], by_source: BySource[R]) -> dict[str, Any]:
    """The JSON payload the store saves as `<kind>.json`."""
    return {
        "version": kind.version,
        "sources": {s: {"sha256": sha, "records": [kind.to_json(r) for r in recs]}
                    for s, (sha, recs) in sorted(by_source.items())},
    }


def decode(kind: RecordKind[R], payload: object) -> BySource[R]:
    """`{source: (sha256, records)}` from a saved payload; empty when there is none,
    it comes from another extractor version, or it does not parse."""
    if not isinstance(payload, dict) or payload.get("version") != kind.version:
        return {}
    try:
        return {
            s: (str(v.get("sha256", "")), [kind.from_json(r) for r in v.get("records", [])])
            for s, v in payload.get("sources", {}).items()
        }
    except (ValueError, TypeError, AttributeError, KeyError):
        return {}


def from_chunks(kind: RecordKind[R], chunks: Iterable[Chunk]) -> dict[str, list[R]]:
    """Records per source, extracted from indexed chunks alone."""
    by_source: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_source.setdefault(c.source, []).append(c)
    out = {}
    for source, cs in by_source.items():
        cs.sort(key=lambda c: (c.start, c.end))
        out[source] = kind.extract(text_from_chunks(cs), cs)
    return out


def current(kind: RecordKind[R], files: dict[str, FileRecord], chunks: Callable[[], Iterable[Chunk]],
            fresh: dict[str, list[R]], previous: BySource[R]) -> BySource[R]:
    """The records of every indexed document: those just extracted, those of unchanged
    documents carried over from the previous generation, and, for documents without
    any (an index made before the kind was kept), those rebuilt from the chunks."""
    kept: BySource[R] = {}
    for source, record in files.items():
        if source in fresh:
            kept[source] = (record.sha256, fresh[source])
        elif source in previous and previous[source][0] == record.sha256:
            kept[source] = previous[source]
    missing = set(files) - set(kept)
    if missing:
        rebuilt = from_chunks(kind, (c for c in chunks() if c.source in missing))
        kept.update({s: (files[s].sha256, rebuilt.get(s, [])) for s in missing})
    return kept


def attach(kind: RecordKind[R], store: RecordStore, fresh: dict[str, list[R]]) -> tuple[bool, int]:
    """Give the store the records of every indexed document, to be saved in its next
    generation. Returns whether they differ from what it already held, and how many
    records the index holds."""
    saved = store.records(kind.name)
    previous = decode(kind, saved)
    kept = current(kind, store.files(), store.chunks, fresh, previous)
    count = sum(len(recs) for _, recs in kept.values())
    if kept == previous and saved is not None:
        return False, count
    store.set_records(kind.name, encode(kind, kept))
    return True, count


def read_all(kind: RecordKind[R], store: RecordSource) -> list[R]:
    """Every record of an index, by source and in document order: those the store
    saved when they match the indexed files, the rest rebuilt from its chunks. Kept
    by the store until its contents change."""
    def build(s: RecordSource) -> list[R]:
        kept = current(kind, s.files(), s.chunks, {}, decode(kind, s.records(kind.name)))
        return [r for source in sorted(kept) for r in kept[source][1]]
    return store.derived(kind.name, build)
