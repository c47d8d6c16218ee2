"""ingest.chunker: sentence-aware chunks with exact offsets and heading paths."""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunker import chunk_document, heading_level, heading_title
from ingest.document import build_document
from policyqa.errors import ConfigError
from policyqa.settings import SAMPLE_CORPUS
from policyqa.types import Article, Chunk, DocMeta, Document, Page, RawDocument
from policyqa.text.figures import extract_figures

from tests.support.corpus import ALL, BRIEF, LISHUI, NEWSPAPER, REPLY, SHAOXING  # noqa: F401

SENTENCE_5000 = "全省新认定高新技术企业5000家、科技型中小企业1.2万家、技术先进型服务企业20家。"


@cache
def doc(name: str) -> Document:
    return build_document(RawDocument(source=name, text=(SAMPLE_CORPUS / name).read_text(encoding="utf-8")))


@cache
def chunks(name: str) -> list[Chunk]:
    return chunk_document(doc(name))


def check_invariants(d: Document, cs: list[Chunk], max_size: int) -> None:
    assert cs, "no chunks"
    for i, c in enumerate(cs):
        assert c.chunk_id == f"{d.doc_id}#{i}"
        assert c.doc_id == d.doc_id and c.source == d.source
        assert d.text[c.start : c.end] == c.text
        assert 0 < len(c.text) <= max_size
        assert c.text == c.text.strip()
        # never across an article boundary
        assert any(a.start <= c.start and c.end <= a.end for a in d.articles)
    covered = [False] * len(d.text)
    for c in cs:
        for k in range(c.start, c.end):
            covered[k] = True
    lost = [k for k, ch in enumerate(d.text) if not covered[k] and not ch.isspace()]
    assert not lost, d.text[lost[0] : lost[0] + 20]
    assert [c.start for c in cs] == sorted(c.start for c in cs)


# ------------------------------------------------------------------ samples


@pytest.mark.parametrize("name", ALL)
def test_sample_invariants(name: str) -> None:
    check_invariants(doc(name), chunks(name), 500)


@pytest.mark.parametrize("name", ALL)
def test_chunk_sizes_reasonable(name: str) -> None:
    sizes = [len(c.text) for c in chunks(name)]
    assert max(sizes) <= 500
    assert sum(sizes) / len(sizes) >= 150


@pytest.mark.parametrize("name", ALL)
def test_chunks_carry_metadata(name: str) -> None:
    d = doc(name)
    for c in chunks(name):
        art = next(a for a in d.articles if a.start <= c.start < a.end)
        assert c.title == (art.title or d.meta.title)
        assert c.region == (art.region or d.meta.region)
        assert c.level == (art.level or d.meta.level)
        assert c.issuer == (art.issuer or d.meta.issuer)
        assert (c.date, c.doc_number) == (d.meta.date, d.meta.doc_number)
        assert c.page is None


def test_reply_chunks_carry_doc_number_and_date() -> None:
    assert {(c.doc_number, c.date, c.year) for c in chunks(REPLY)} == {("浙科提〔2025〕315号", "2025-09-18", "2025")}


@pytest.mark.parametrize("name", [NEWSPAPER, BRIEF])
def test_5000_sentence_whole_in_one_chunk(name: str) -> None:
    assert any(SENTENCE_5000 in c.text for c in chunks(name))


@pytest.mark.parametrize("name", ALL)
def test_sentences_never_cut(name: str) -> None:
    """Every sentence (up to max_size) lies whole inside some chunk."""
    d = doc(name)
    for m in re.finditer(r"[^\n。！？；]*[。！？；]+[”’」』）)》]*", d.text):
        sentence = m.group(0).strip()
        if not sentence or len(sentence) > 500:
            continue
        start = m.start() + m.group(0).index(sentence)
        assert any(c.start <= start and start + len(sentence) <= c.end for c in chunks(name)), sentence[:30]


def test_newspaper_chunks_stay_in_their_article() -> None:
    cs = chunks(NEWSPAPER)
    zhejiang = [c for c in cs if c.region == "浙江省"]
    beijing = [c for c in cs if c.region == "北京市"]
    assert zhejiang and beijing
    assert all(c.title == "浙江促进产业科技创新再加码" for c in zhejiang)
    for c in zhejiang:
        for foreign in ("MaaS", "北京", "辽宁", "安徽", "DCMM"):
            assert foreign not in c.text
    assert any("MaaS" in c.text for c in beijing)
    assert all(c.title == "北京八大举措支持信软企业加强人工智能应用服务能力" for c in beijing)
    assert {c.region for c in cs} == {"浙江省", "北京市", "辽宁省", "安徽省"}
    liaoning = [c for c in cs if c.region == "辽宁省"]
    assert all(c.issuer == "辽宁省工业和信息化厅" for c in liaoning)


def test_shaoxing_heading_paths() -> None:
    paths = [c.heading_path for c in chunks(SHAOXING)]
    assert "三、重点工作 > （一）实施教科人体制机制一体改革行动，提升创新体系整体效能 > 1.深化教科人一体改革" in paths
    assert any(p.startswith("三、重点工作 > （三）实施绍兴科创走廊2.0建设行动，构建创新策源支撑体系 > 8.推动全域创新体系优化重塑") for p in paths)
    assert any(p.startswith("三、重点工作 > （六）力行“六干”要求") for p in paths)
    assert paths[0] == "一、指导思想"
    by_text = {c.text.split("\n")[0]: c.heading_path for c in chunks(SHAOXING)}
    assert by_text["二、目标任务"] == "二、目标任务"
    # the damaged `)实施“越快转”…` heading (its `（五` is missing) still starts a section
    assert any(p.startswith("三、重点工作 > )实施“越快转”品牌塑造行动") and "14." in p for p in paths)


def test_lishui_heading_paths() -> None:
    cs = chunks(LISHUI)
    paths = [c.heading_path for c in cs]
    assert "二、重点任务 > （三）实施一批技术攻关项目" in paths
    assert "二、重点任务 > （一）系统谋划一个工作方案" in paths
    assert any(p.startswith("三、保障措施 > （一）加强组织领导") for p in paths)
    assert any(p.startswith("一、工作目标") for p in paths)
    third = next(c for c in cs if c.heading_path == "二、重点任务 > （三）实施一批技术攻关项目")
    assert third.text.startswith("（三）实施一批技术攻关项目。")
    assert "2024年，各县围绕产业链立项国家、省、市、县项目数不少于6项。" in third.text


def test_brief_paths_from_unnumbered_headings() -> None:
    cs = chunks(BRIEF)
    with_5000 = next(c for c in cs if SENTENCE_5000 in c.text)
    assert with_5000.heading_path.startswith("全力强化企业创新主体地位 > 着力“扩面提质”科技型企业") or (
        with_5000.heading_path.startswith("全面推进科技创新和产业创新深度融合")
    )
    paths = {c.heading_path for c in cs}
    assert any(p.startswith("全力强化企业创新主体地位 > ") for p in paths)
    assert any(p.startswith("全速推动企业科技成果转化和产业化") for p in paths)


def test_reply_heading_paths_and_new_chunks_at_headings() -> None:
    cs = chunks(REPLY)
    paths = [c.heading_path for c in cs]
    assert "一、前期工作情况" in paths
    assert "二、下一步工作安排 > （三）健全科技成果转化体系，促进创新链产业链资金链人才链深度融合" in paths
    starts = [c.text.split("\n")[0] for c in cs]
    assert "（二）加快产业集群培育发展，构建浙江特色现代化产业体系" in starts
    assert cs[-1].text.endswith("浙江省科学技术厅\n2025年9月12日")


def test_newspaper_has_no_heading_paths() -> None:
    assert {c.heading_path for c in chunks(NEWSPAPER)} == {""}


def test_overlap_is_whole_trailing_sentences() -> None:
    for name in ALL:
        cs = chunks(name)
        overlaps = 0
        for a, b in zip(cs, cs[1:]):
            if b.start < a.end:
                overlaps += 1
                shared = a.text[b.start - a.start :]
                assert b.text.startswith(shared)
                assert len(shared) <= 120
                assert re.search(r"[。！？；]\S*$", shared) or shared.endswith("\n"), shared
                # the shared part starts a sentence: just after an end mark or a line start
                before = doc(name).text[b.start - 1]
                assert before in "。！？；”）\n", before
        if name in (REPLY, NEWSPAPER):
            assert overlaps >= 3, name


def test_chunk_page_numbers() -> None:
    pages_text = ["第一页。" * 30, "第二页内容。" * 30, "第三页结尾。" * 30]
    text = "\n".join(pages_text)
    starts = [0, len(pages_text[0]) + 1, len(pages_text[0]) + len(pages_text[1]) + 2]
    raw = RawDocument(source="p.pdf", text=text, pages=tuple(Page(i + 1, s) for i, s in enumerate(starts)))
    d = build_document(raw)
    cs = chunk_document(d, size=100, max_size=150, overlap=20)
    check_invariants(d, cs, 150)
    for c in cs:
        expected = max(p.number for p in d.pages if p.start <= c.start)
        assert c.page == expected
    assert {c.page for c in cs} == {1, 2, 3}


def test_chunks_of_ocr_pages_are_marked() -> None:
    pages_text = ["第一页正文内容。" * 20, "扫描页识别内容。" * 20]
    text = "\n".join(pages_text)
    pages = (Page(1, 0), Page(2, len(pages_text[0]) + 1, ocr=True))
    d = build_document(RawDocument(source="p.pdf", text=text, pages=pages))
    cs = chunk_document(d, size=60, max_size=80, overlap=0)
    scan = d.pages[1].start
    assert not any(c.ocr for c in cs if c.end <= scan) and all(c.ocr for c in cs if c.end > scan)
    assert cs[-1].citation(1, 0, 4).ocr and not cs[0].citation(1, 0, 4).ocr


def test_long_sentence_split_at_commas_then_hard() -> None:
    clause = "推进科技创新和产业创新深度融合"
    with_commas = "，".join([clause] * 60) + "。"
    no_commas = "深" * 1300
    for body in (with_commas, no_commas):
        d = Document("d", "s", body, DocMeta(), (Article(0, len(body), ""),))
        cs = chunk_document(d, size=400, max_size=500, overlap=80)
        check_invariants(d, cs, 500)
    d = Document("d", "s", with_commas, DocMeta(), (Article(0, len(with_commas), ""),))
    assert all(c.text.endswith(("，", "。")) for c in chunk_document(d))


def test_small_settings_and_bad_settings() -> None:
    d = doc(REPLY)
    cs = chunk_document(d, size=120, max_size=160, overlap=30)
    check_invariants(d, cs, 160)
    with pytest.raises(ConfigError):
        chunk_document(d, size=100, max_size=90, overlap=10)
    with pytest.raises(ConfigError):
        chunk_document(d, size=100, max_size=200, overlap=100)


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("一、指导思想", 3),
        ("十二、其他", 3),
        ("（一）实施行动", 4),
        ("(二)实施行动", 4),
        ("1. 深化改革。", 5),
        ("10.推动共建", 5),
        ("3、加大保障", 5),
        ("第三条 适用范围", 5),
        ("第二章 总则", 1),
        ("（1）具体措施", 6),
        (")实施“越快转”品牌塑造行动，打造环杭州湾成果转化优选地", 4),
        ("1.2万家企业", None),
        ("2025年9月12日", None),
        ("一是加强统筹推进。", None),
        ("浙科提〔2025〕315号", None),
        ("", None),
    ],
)
def test_heading_level(line: str, level: int | None) -> None:
    assert heading_level(line) == level


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("一、指导思想", "一、指导思想"),
        ("（三）实施一批技术攻关项目。要围绕技术需求清单组织技术攻关。", "（三）实施一批技术攻关项目"),
        ("（一）实施教科人体制机制一体改革行动，提升创新体系整体效能", "（一）实施教科人体制机制一体改革行动，提升创新体系整体效能"),
        ("一、工作目标聚焦产业高质量发展目标，每个县域以一条产业链为切入点，突破一批核心技术。", "一、工作目标聚焦产业高质量发展目标"),
        ("2." + "字" * 80, "2." + "字" * 28),
    ],
)
def test_heading_title(line: str, title: str) -> None:
    assert heading_title(line) == title


# ------------------------------------------------------------------ properties

_PIECES = [
    "科技", "创新", "产业", "企业", "发展", "政策", "浙江", "北京",
    "，", "。", "；", "！", "、", "：", "“", "”", "（", "）",
    "2025年", "67.5%", "1.2万家", "MaaS", " ", "\n", "\n\n",
    "\n一、总体要求\n", "\n（二）重点任务\n", "\n3.推进落实。", "\n第五条 ",
    "\n本报讯 ", "\n（京 讯）\n", "\n加强统筹推进\n",
]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=400).map("".join)


@st.composite
def _sizes(draw: st.DrawFn) -> tuple[int, int, int]:
    size = draw(st.integers(min_value=20, max_value=400))
    max_size = draw(st.integers(min_value=size, max_value=size + 150))
    overlap = draw(st.integers(min_value=0, max_value=size - 1))
    return size, max_size, overlap


@settings(max_examples=250, deadline=None)
@given(_TEXT, _sizes())
def test_chunks_cover_cleaned_text(text: str, sizes: tuple[int, int, int]) -> None:
    if not text.strip():
        return
    try:
        d = build_document(RawDocument(source="h.txt", text=text))
    except Exception as exc:  # only an empty document may be refused
        assert "清洗后" in str(exc)
        return
    size, max_size, overlap = sizes
    cs = chunk_document(d, size, max_size, overlap)
    check_invariants(d, cs, max_size)


@settings(max_examples=250, deadline=None)
@given(_TEXT, st.lists(st.integers(min_value=0, max_value=10_000), max_size=4), _sizes())
def test_chunker_on_arbitrary_documents(text: str, cuts: list[int], sizes: tuple[int, int, int]) -> None:
    """The chunker alone, on uncleaned text split into arbitrary articles."""
    if not text.strip():
        return
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    arts = tuple(Article(a, b, f"t{i}", region=f"r{i}") for i, (a, b) in enumerate(zip(bounds, bounds[1:])) if a < b)
    d = Document("doc", "src", text, DocMeta(title="T"), arts)
    size, max_size, overlap = sizes
    cs = chunk_document(d, size, max_size, overlap)
    if not any(not ch.isspace() for ch in text):
        assert cs == []
        return
    check_invariants(d, cs, max_size)
    for c in cs:
        art = next(a for a in arts if a.start <= c.start < a.end)
        assert c.region == art.region and c.title == art.title


_FIGURE_PIECES = ["科技", "创新", "产业", "企业", " ", "2025年", "67.5%", "1.2万家", "5000家", "12535家", "450亿元",
                  "3.3%左右", "0571-87054045", "，", "。", "\n"]


@settings(max_examples=250, deadline=None)
@given(st.lists(st.sampled_from(_FIGURE_PIECES), min_size=1, max_size=300).map("".join), st.integers(20, 200))
def test_every_figure_lies_whole_in_some_chunk(text: str, size: int) -> None:
    """A figure cut between two chunks is in no passage whole, so the answer's figure
    check could never confirm it; long runs without a clause break are cut beside
    figures, never through them."""
    if not text.strip():
        return
    d = build_document(RawDocument(source="f.txt", text=text))
    cs = chunk_document(d, size, size + 20, min(20, size - 1))
    check_invariants(d, cs, size + 20)
    for f in extract_figures(d.text):
        assert any(c.start <= f.start and f.end <= c.end for c in cs), (f.text, size)


def test_flattened_table_row_is_cut_at_spaces_not_inside_numbers() -> None:
    row = " ".join(f"{2000 + i}年{i * 137}家" for i in range(120))  # one long line, no punctuation
    d = Document("d", "s", row, DocMeta(), (Article(0, len(row), ""),))
    cs = chunk_document(d, size=100, max_size=120, overlap=20)
    check_invariants(d, cs, 120)
    assert all(re.fullmatch(r"\d{4}年\d+家( \d{4}年\d+家)*", c.text) for c in cs)


@settings(max_examples=150, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=5), _sizes())
def test_chunk_pages_follow_offsets(pages: list[str], sizes: tuple[int, int, int]) -> None:
    """Each chunk carries the number of the page its first character is on."""
    text = "\n".join(pages)
    if not text.strip():
        return
    starts = [sum(len(p) + 1 for p in pages[:k]) for k in range(len(pages))]
    raw = RawDocument(source="p.pdf", text=text, pages=tuple(Page(k + 1, s) for k, s in enumerate(starts)))
    try:
        d = build_document(raw)
    except Exception as exc:  # only an empty document may be refused
        assert "清洗后" in str(exc)
        return
    cs = chunk_document(d, *sizes)
    check_invariants(d, cs, sizes[1])
    for c in cs:
        on = [p.number for p in d.pages if p.start <= c.start]
        assert c.page == (on[-1] if on else d.pages[0].number)
