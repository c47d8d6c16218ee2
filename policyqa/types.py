"""Frozen dataclasses passed between the pipeline stages.

raw file -> RawDocument (loaders) -> Document (clean + metadata + articles)
-> Chunk (chunker) -> index -> Hit (retriever) -> Answer/Citation (rag).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Page:
    """A PDF page: `number` is 1-based; `start` is its first character in the text.
    `ocr`: the page's text was read from its image (a scan), so a quote from it may
    hold recognition errors. `unread`: why a page that needed OCR was not read
    (page cap, time budget, OCR unavailable); its text is then empty or near-empty."""

    number: int
    start: int
    ocr: bool = False
    unread: str = ""


@dataclass(frozen=True)
class RawDocument:
    """What a loader read, before cleaning.

    `source` is the file name for files and the `docid` for JSONL corpora; it is
    the key that re-ingest and `policyqa remove` use.
    """

    source: str
    text: str
    path: str = ""
    pages: tuple[Page, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)  # given metadata (JSONL, HTML <title>)
    sha256: str = ""


@dataclass(frozen=True)
class DocMeta:
    """Metadata a document states about itself; empty string when not stated."""

    title: str = ""
    issuer: str = ""
    date: str = ""  # ISO yyyy-mm-dd, or yyyy-mm / yyyy when only that is stated
    doc_number: str = ""  # e.g. 浙科提〔2025〕315号
    region: str = ""  # e.g. 浙江省, 绍兴市, 丽水市
    level: str = ""  # province | city | county | national
    # 公文 head and tail (GB/T 9704); dates ISO like `date`
    signer: str = ""  # 签发人 of a 上行文, names joined with 、
    recipients: str = ""  # 主送机关 as written, e.g. 各市、县（市、区）科技局
    signed_date: str = ""  # 成文日期: the date under the issuer's signature
    printed_by: str = ""  # 印发机关 of the 版记, e.g. 浙江省科学技术厅办公室
    printed_date: str = ""  # 印发日期 of the 版记
    valid_from: str = ""  # 施行日期, when stated as a date
    valid_until: str = ""  # 有效期 end, when stated as a date or as a span from a dated valid_from
    attachments: str = ""  # 附件 names, joined with ；
    cc: str = ""  # 抄送 as written
    status: str = ""  # 征求意见稿 | 草案 | 试行 | 已废止 | 现行有效, only when the document says so


@dataclass(frozen=True)
class Article:
    """One article of a multi-article page (a newspaper page), as a span of the text."""

    start: int
    end: int
    title: str
    region: str = ""
    level: str = ""
    issuer: str = ""


@dataclass(frozen=True)
class Document:
    """A cleaned document. `articles` always covers the whole text (one article for
    ordinary documents)."""

    doc_id: str
    source: str
    text: str
    meta: DocMeta
    articles: tuple[Article, ...]
    pages: tuple[Page, ...] = ()
    sha256: str = ""
    path: str = ""


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage. `start`/`end` are offsets into the cleaned document
    text, so `document.text[start:end] == text`. A chunk that starts inside a long
    table carries that table's header and separator lines in `table_header`: its
    rows are read (retrieved, quoted) under their column names, though the header
    itself lies in an earlier chunk."""

    chunk_id: str
    doc_id: str
    source: str
    text: str
    start: int
    end: int
    title: str = ""
    heading_path: str = ""
    region: str = ""
    level: str = ""
    issuer: str = ""
    date: str = ""
    doc_number: str = ""
    page: int | None = None
    table_header: str = ""  # "" in indexes built before tables were Markdown
    ocr: bool = False  # its page was read from a scan by OCR (a quote may hold misread characters)

    @property
    def year(self) -> str:
        return self.date[:4]

    def citation(self, n: int, a: int, b: int) -> "Citation":
        """Citation [n] quoting text[a:b] of this chunk (offsets within the chunk)."""
        return Citation(n=n, source=self.source, title=self.title, quote=self.text[a:b],
                        heading_path=self.heading_path, page=self.page, start=self.start + a,
                        end=self.start + b, chunk_id=self.chunk_id, ocr=self.ocr)

    def match_text(self) -> str:
        """What retrieval matches on: title, region, heading and a carried table header
        give a short passage the context its own words lack."""
        head = " ".join(p for p in (self.title, self.region, self.heading_path) if p)
        body = f"{self.table_header}\n{self.text}" if self.table_header else self.text
        return f"{head}\n{body}" if head else body


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    dense_rank: int | None = None  # 1-based rank in the dense list, None if absent
    keyword_rank: int | None = None
    # Cosine similarity of the question's and the passage's vectors (None when either has
    # none: keyword-only retrieval, a passage still waiting for its vector).
    similarity: float | None = None


@dataclass(frozen=True)
class Citation:
    n: int  # the [n] marker in the answer
    source: str
    title: str
    quote: str  # exact supporting text, a substring of the chunk
    heading_path: str = ""
    page: int | None = None
    start: int | None = None  # span of `quote` in the cleaned document text
    end: int | None = None
    chunk_id: str = ""
    ocr: bool = False  # quoted from a page read by OCR


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    refused: bool = False
    standalone_question: str = ""
    notes: tuple[str, ...] = ()  # e.g. "a sentence with an unsupported figure was replaced"
    nearest: tuple[Hit, ...] = ()  # offered with a refusal
    backend: str = ""
    latency_ms: float = 0.0
    answerer: str = ""  # the component that answered (rag.answerers), e.g. "extractive"


@dataclass(frozen=True)
class Delta:
    """A piece of an answer as the LLM writes it, streamed before the final Answer
    (whose text supersedes the deltas: the checks may replace sentences)."""

    text: str


@dataclass(frozen=True)
class Filters:
    """Metadata filters; an empty field means no constraint."""

    region: str = ""
    issuer: str = ""
    year: str = ""
    source: str = ""
    level: str = ""  # province | city | county | national

    def accepts(self, chunk: Chunk) -> bool:
        return (
            (not self.region or self.region in chunk.region)
            and (not self.level or chunk.level == self.level)
            and (not self.issuer or self.issuer in chunk.issuer)
            and (not self.year or chunk.year == self.year)
            and (not self.source or chunk.source == self.source)
        )

    def is_empty(self) -> bool:
        return not (self.region or self.issuer or self.year or self.source or self.level)
