"""Tables as tables: DOCX and HTML tables become Markdown (`ingest.tables`), cleaning
leaves their lines alone, the chunker never splits a row and repeats the header of a
long table, and an extractive answer quotes a row under its header."""

from __future__ import annotations

import io

import docx
import pytest

from ingest.chunker import chunk_document
from ingest.clean import clean_text
from ingest.embeddings import HashEmbeddings
from ingest.loaders import load_bytes
from ingest.pipeline import Ingestor, open_store
from ingest.tables import continue_across_pages, continues_table, is_data_table, markdown_table, row_header, split_sentences, table_blocks
from ingest.tokenize import Tokenizer
from policyqa.settings import Settings
from policyqa.types import Article, Chunk, DocMeta, Document, Page
from rag.chain import AnswerChain
from rag.retriever import HybridRetriever, RetrievalConfig
from rag.verify import figures_supported

HEADER = "| 项目 | 补助标准 |"
SEP = "| --- | --- |"
ROW = "| 研发投入 | 最高100万元 |"


# ------------------------------------------------------------------ rows -> Markdown


@pytest.mark.parametrize(
    ("rows", "lines"),
    [
        ([["项目", "补助标准"], ["研发投入", "最高100万元"]], [HEADER, SEP, ROW]),
        # an empty first row: the next one is the header
        ([["", ""], ["项目", "补助标准"], ["研发投入", "最高100万元"]], [HEADER, SEP, ROW]),
        # cells are one line, a pipe inside a cell is escaped, short rows are padded
        ([["项目", "说明"], ["A|B", "第一行\n第二行"], ["C"]],
         ["| 项目 | 说明 |", SEP, "| A\\|B | 第一行 第二行 |", "| C | |"]),
        # an empty cell is one space: cleaning, which squeezes spaces, keeps the line
        ([["项目", "", "条件"], ["研发投入", "", "无"]], ["| 项目 | | 条件 |", "| --- | --- | --- |", "| 研发投入 | | 无 |"]),
        # a merged title row across the whole width comes first, as a line
        ([["表1 补助标准", "表1 补助标准"], ["项目", "补助标准"], ["研发投入", "最高100万元"]],
         ["表1 补助标准", HEADER, SEP, ROW]),
        # not a table: one row, or one column, keeps its text as lines
        ([["项目", "补助标准"]], ["项目 补助标准"]),
        ([["项目"], ["研发投入"]], ["项目", "研发投入"]),
    ],
)
def test_markdown_table(rows: list[list[str]], lines: list[str]) -> None:
    assert markdown_table(rows) == lines


@pytest.mark.parametrize(
    ("grid", "data"),
    [
        ([["项目", "补助标准"], ["研发投入", "最高100万元"]], True),
        ([["项目", "补助标准"]], False),  # one row
        ([["项目"], ["研发投入"]], False),  # one column
        ([["标题", "标题"], ["正文", "正文"]], False),  # one column spanning two
        ([["索引号：", "123"], ["发布机构：", "浙江省科技厅"]], False),  # a form of labelled fields
        ([["首页", "标题"], ["栏目导航", "正文。" * 200]], False),  # a page region: navigation | article
    ],
)
def test_is_data_table(grid: list[list[str]], data: bool) -> None:
    assert is_data_table(grid) is data


# ------------------------------------------------------------------ DOCX


def _docx(build) -> bytes:  # type: ignore[no-untyped-def]
    document = docx.Document()
    build(document)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _fill(table, rows: list[list[str]]) -> None:  # type: ignore[no-untyped-def]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value:
                table.cell(r, c).text = value


def _docx_text(build) -> str:  # type: ignore[no-untyped-def]
    result = load_bytes("t.docx", _docx(build))
    assert not result.errors, result.errors
    return result.documents[0].text


def test_docx_table_in_document_order() -> None:
    def build(d):  # type: ignore[no-untyped-def]
        d.add_paragraph("补助标准如下：")
        _fill(d.add_table(rows=3, cols=2), [["项目", "补助标准"], ["研发投入", "最高100万元"], ["人才引进", "每人5万元"]])
        d.add_paragraph("特此通知。")

    assert _docx_text(build).split("\n") == ["补助标准如下：", HEADER, SEP, ROW, "| 人才引进 | 每人5万元 |", "特此通知。"]


def test_docx_merged_cells_repeat_in_every_position() -> None:
    def build(d):  # type: ignore[no-untyped-def]
        t = d.add_table(rows=3, cols=3)
        _fill(t, [["项目", "补助标准", "条件"], ["研发投入", "最高100万元", ""], ["", "最高50万元", "其他"]])
        t.cell(1, 0).merge(t.cell(2, 0))  # 研发投入 down two rows
        t.cell(1, 1).merge(t.cell(1, 2))  # 最高100万元 across two columns

    lines = _docx_text(build).split("\n")
    assert lines[2:] == ["| 研发投入 | 最高100万元 | 最高100万元 |", "| 研发投入 | 最高50万元 | 其他 |"]


def test_docx_empty_header_row_and_layout_tables() -> None:
    def build(d):  # type: ignore[no-untyped-def]
        _fill(d.add_table(rows=3, cols=2), [["", ""], ["项目", "补助标准"], ["研发投入", "最高100万元"]])
        _fill(d.add_table(rows=1, cols=2), [["左栏", "右栏"]])  # one row: layout
        _fill(d.add_table(rows=2, cols=2), [["发布机构：", "浙江省科技厅"], ["发文日期：", "2025年3月1日"]])  # a form

    # layout tables keep the loader's tab-separated lines (cleaning makes tabs spaces)
    assert _docx_text(build).split("\n") == [
        HEADER, SEP, ROW, "左栏\t右栏", "发布机构：\t浙江省科技厅", "发文日期：\t2025年3月1日"]


def test_docx_nested_table_is_layout_and_keeps_its_text() -> None:
    def build(d):  # type: ignore[no-untyped-def]
        outer = d.add_table(rows=1, cols=2)
        outer.cell(0, 0).text = "说明"
        inner = outer.cell(0, 1).add_table(rows=2, cols=2)
        _fill(inner, [["项目", "补助标准"], ["研发投入", "最高100万元"]])

    # (a cell's empty paragraphs around the nested table are blank lines, which cleaning drops)
    assert [line for line in _docx_text(build).split("\n") if line] == ["说明", HEADER, SEP, ROW]


# ------------------------------------------------------------------ HTML


def _html_text(body: str) -> str:
    result = load_bytes("t.html", f"<html><body>{body}</body></html>".encode())
    assert not result.errors, result.errors
    return result.documents[0].text


@pytest.mark.parametrize(
    ("body", "lines"),
    [
        ("<p>前言。</p><table><tr><th>项目</th><th>补助标准</th></tr><tr><td>研发投入</td><td>最高100万元</td></tr>"
         "</table><p>结尾。</p>", ["前言。", HEADER, SEP, ROW, "结尾。"]),
        # rowspan and colspan repeat the cell in every position it covers
        ("<table><tr><th>项目</th><th>档次</th><th>补助标准</th></tr>"
         "<tr><td rowspan='2'>研发投入</td><td>一档</td><td>最高100万元</td></tr>"
         "<tr><td>二档</td><td>最高50万元</td></tr>"
         "<tr><td colspan=2>合计</td><td>150万元</td></tr></table>",
         ["| 项目 | 档次 | 补助标准 |", "| --- | --- | --- |", "| 研发投入 | 一档 | 最高100万元 |",
          "| 研发投入 | 二档 | 最高50万元 |", "| 合计 | 合计 | 150万元 |"]),
        # a caption, a title row across the table, an empty first row, <br> in a cell
        ("<table><caption>附表</caption><tr><td></td><td></td></tr><tr><td colspan=2>补助标准表</td></tr>"
         "<tr><td>项目</td><td>补助标准</td></tr><tr><td>研发投入</td><td>最高<br>100万元</td></tr></table>",
         ["附表", "补助标准表", HEADER, SEP, "| 研发投入 | 最高 100万元 |"]),
        # a layout table holding a data table: the outer one stays text, the inner one is Markdown
        ("<table><tr><td>正文栏</td><td><table><tr><td>项目</td><td>补助标准</td></tr>"
         "<tr><td>研发投入</td><td>最高100万元</td></tr></table></td></tr></table>",
         ["正文栏", HEADER, SEP, ROW]),
        # one row: layout, tab-separated cells as before
        ("<table><tr><td>项目</td><td>金额</td></tr></table>", ["项目\t金额"]),
    ],
)
def test_html_tables(body: str, lines: list[str]) -> None:
    assert _html_text(body).split("\n") == lines


def test_html_huge_spans_do_not_blow_up() -> None:
    rows = "".join(f"<tr><td colspan=1000>行{i}</td><td>值</td></tr>" for i in range(300))
    text = _html_text(f"<table>{rows}</table>")
    assert len(text) < 10_000 and "行299" in text


# ------------------------------------------------------------------ cleaning


def test_cleaning_leaves_table_lines_alone() -> None:
    rows = [["项目", "补助标准", "条件"]] + [
        [f"第{i}类 研发 投入", f"最高{i * 10} 万元；分档", "年营业收入不低于5000万元的企业，且研发投入占比超过3%"]
        for i in range(1, 12)
    ]
    rows.append(["附注", "见说明。二、其他事项按原规定执行。" + "申报材料须真实完整，" * 30, "无"])  # over 300 characters
    table = markdown_table(rows)
    text, _ = clean_text("关于补助的通知\n" + "\n".join(table) + "\n特此通知。")
    lines = text.split("\n")
    assert len(lines) == len(table) + 2  # no row joined to the next, none split
    for line in lines[1:-1]:
        assert line.startswith("| ") and line.endswith(" |") and line.count(" | ") == 2
    assert lines[3] == "| 第1类研发投入 | 最高10万元；分档 | 年营业收入不低于5000万元的企业，且研发投入占比超过3% |"
    assert lines[-2] == table[-1]


# ------------------------------------------------------------------ chunks


def _table_doc(n_rows: int, lead: str = "补助标准如下。") -> Document:
    rows = [["项目", "补助标准", "条件"]] + [
        [f"第{i}类项目", f"最高{i * 10}万元；分档补助", "年营业收入不低于5000万元，且研发投入占比超过3%"] for i in range(1, n_rows + 1)
    ]
    text = "\n".join([lead, *markdown_table(rows), "本办法自发布之日起施行。"])
    return Document("d", "d.docx", text, DocMeta(title="补助办法"), (Article(0, len(text), "补助办法"),))


def test_long_table_is_chunked_by_rows_under_its_header() -> None:
    d = _table_doc(30)
    cs = chunk_document(d, size=400, max_size=500, overlap=80)
    header = "| 项目 | 补助标准 | 条件 |\n| --- | --- | --- |"
    rows = {(a, b) for block in table_blocks(d.text) for a, b in block.lines}
    assert len(cs) > 3
    for c in cs:
        assert d.text[c.start : c.end] == c.text  # still a true span: citations stay exact
        assert len(c.text) <= 500
        for a, b in rows:  # no row split
            assert b <= c.start or c.end <= a or (c.start <= a and b <= c.end)
        lines = c.text.split("\n")
        if lines[0].startswith("| 第"):  # starts inside the table: carries the header
            assert c.table_header == header
            assert c.match_text().startswith(f"补助办法\n{header}\n{lines[0]}")
        else:
            assert c.table_header == ""
        assert c.heading_path == ""  # a short row is no free heading
    assert cs[0].text.startswith("补助标准如下。\n" + header)  # the header stays with its first row
    assert sum(bool(c.table_header) for c in cs) == len(cs) - 1


def test_short_table_stays_in_one_chunk_without_header_context() -> None:
    d = _table_doc(3)
    cs = chunk_document(d)
    assert len(cs) == 1 and cs[0].text == d.text and cs[0].table_header == ""
    assert cs[0].match_text() == f"补助办法\n{d.text}"


def test_old_chunks_load_without_table_header() -> None:
    row = {"chunk_id": "d#0", "doc_id": "d", "source": "s.txt", "text": "正文。", "start": 0, "end": 3}
    assert Chunk(**row).table_header == ""


# ------------------------------------------------------------------ sentences and quotes


def test_a_row_is_one_sentence_and_knows_its_header() -> None:
    text = "\n".join(["补助标准如下：", HEADER, SEP, "| 研发投入 | 最高100万元；分两档 |", "特此通知。"])
    spans = [text[a:b] for a, b in split_sentences(text)]
    assert spans == ["补助标准如下：", HEADER, SEP, "| 研发投入 | 最高100万元；分两档 |", "特此通知。"]
    row = text.index("| 研发")
    assert row_header(text, row) == (text.index(HEADER), text.index(HEADER) + len(HEADER))
    assert row_header(text, text.index(HEADER)) is None and row_header(text, 0) is None
    assert not continues_table(text, row)
    assert continues_table("| 研发投入 | 最高100万元 |\n| 人才 | 5万元 |\n正文。", 0)
    assert figures_supported("| 研发投入 | 最高100万元；分两档 |", [text])


def _ask(settings: Settings, tokenizer: Tokenizer, question: str):  # type: ignore[no-untyped-def]
    store = open_store(settings, HashEmbeddings())
    retriever = HybridRetriever(store, HashEmbeddings(), tokenizer, RetrievalConfig.from_settings(settings))
    return AnswerChain(retriever, tokenizer, settings, None, "extractive").answer(question)


@pytest.fixture(scope="module")
def table_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Tokenizer]:
    root = tmp_path_factory.mktemp("tables")
    corpus = root / "corpus"
    corpus.mkdir()

    def build(d):  # type: ignore[no-untyped-def]
        d.add_paragraph("关于印发某市科技创新券补助办法的通知")
        d.add_paragraph("各县（市、区）科技局：")
        d.add_paragraph("为支持企业开展研发活动，现将补助标准通知如下。")
        _fill(d.add_table(rows=4, cols=3), [
            ["项目", "补助标准", "申报条件"],
            ["研发投入", "最高100万元", "年营业收入5000万元以上"],
            ["人才引进", "每人5万元", "硕士以上学历"],
            ["平台建设", "最高200万元", "省级以上平台"],
        ])
        d.add_paragraph("本办法自发布之日起施行。")

    (corpus / "subsidy.docx").write_bytes(_docx(build))
    names = ["人才工作站", "技术改造", "成果转化", "专利申请", "标准制定", "首台套", "孵化器", "众创空间",
             "重点实验室", "工程中心", "科技特派员", "产学研合作", "国际合作", "科技金融", "技术合同",
             "企业研发中心", "博士后工作站", "院士工作站", "创新联合体", "科技成果登记"]

    def build_long(d):  # type: ignore[no-untyped-def]
        d.add_paragraph("关于印发科技项目资助标准的通知")
        d.add_paragraph("各类科技项目资助标准如下。")
        rows = [["资助类别", "资助额度", "申报条件"]] + [
            [name, f"最高{(i + 1) * 10}万元", f"符合第{i + 1}项规定的{name}主体，且上年度营收不低于{i + 1}000万元"]
            for i, name in enumerate(names)
        ]
        _fill(d.add_table(rows=len(rows), cols=3), rows)

    (corpus / "long.docx").write_bytes(_docx(build_long))
    settings = Settings(data_dir=root / "data", index_dir=root / "index", embedding="hash")
    tokenizer = Tokenizer()
    report = Ingestor(settings, HashEmbeddings(), tokenizer).run([corpus], progress=False)
    assert sorted(report.added) == ["long.docx", "subsidy.docx"] and not report.skipped
    return settings, tokenizer


def test_cell_question_quotes_the_row_under_its_header(table_index: tuple[Settings, Tokenizer]) -> None:
    a = _ask(*table_index, "研发投入的补助标准是多少？")
    assert not a.refused
    assert a.text.split("\n")[:2] == ["| 项目 | 补助标准 | 申报条件 |[1]", "| 研发投入 | 最高100万元 | 年营业收入5000万元以上 |[1]"]
    assert [c.source for c in a.citations] == ["subsidy.docx"]
    assert a.citations[0].quote == "| 研发投入 | 最高100万元 | 年营业收入5000万元以上 |"


def test_row_of_a_long_table_is_quoted_under_the_carried_header(table_index: tuple[Settings, Tokenizer]) -> None:
    settings, tokenizer = table_index
    row = "| 院士工作站 | 最高180万元 | 符合第18项规定的院士工作站主体，且上年度营收不低于18000万元 |"
    a = _ask(settings, tokenizer, "院士工作站的资助额度是多少？")
    assert not a.refused
    header, quoted = a.text.split("\n")[:2]
    # the row may also lie in the overlap of a neighbouring chunk, cited beside it
    assert header.startswith("| 资助类别 | 资助额度 | 申报条件 |[1]") and quoted.startswith(row + "[1]")
    assert {(c.source, c.quote) for c in a.citations} == {("long.docx", row)}
    chunk = open_store(settings, HashEmbeddings()).chunk_by_id(a.citations[0].chunk_id)
    assert chunk is not None and "资助类别" not in chunk.text  # the header lies in an earlier chunk
    assert chunk.table_header == "| 资助类别 | 资助额度 | 申报条件 |\n| --- | --- | --- |"


def _row_chunk() -> Chunk:
    text = "| 研发投入 | 最高100万元 |\n| 技术改造 | 最高300万元 |"
    return Chunk(chunk_id="t#1", doc_id="t", source="t.docx", text=text, start=500, end=500 + len(text),
                 table_header="| 项目 | 补助标准 |\n| --- | --- |")


def test_llm_evidence_shows_a_carried_header_above_its_rows() -> None:
    from policyqa.types import Hit
    from rag.prompting import evidence_pack

    chunk = _row_chunk()
    pack = evidence_pack([Hit(chunk, 1.0)], [(1, "| 技术改造 | 最高300万元 |")], budget=400)
    assert "| 项目 | 补助标准 |\n| --- | --- |\n| 研发投入 | 最高100万元 |" in pack.text


def test_evidence_line_keeps_each_table_row_on_its_own_line() -> None:
    from rag.verify import evidence_line

    chunk = _row_chunk()
    line, citation = evidence_line(chunk, 0, len(chunk.text), 1)
    assert line.splitlines() == ["原文：| 研发投入 | 最高100万元 |[1]", "| 技术改造 | 最高300万元 |[1]"]
    assert citation.quote == chunk.text


_HEAD, _SEP = "| 人才类别 | 购房补贴 |", "| --- | --- |"


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        # the next page goes on with rows under a first row that is no header
        ([f"细则如下：\n{_HEAD}\n{_SEP}\n| 顶尖人才 | 300万元 |", f"| 高级人才 | 50万元 |\n{_SEP}\n| 其他人才 | 10万元 |\n第三条 说明。"],
         [f"细则如下：\n{_HEAD}\n{_SEP}\n| 顶尖人才 | 300万元 |", "| 高级人才 | 50万元 |\n| 其他人才 | 10万元 |\n第三条 说明。"]),
        # the header printed again on the next page
        ([f"{_HEAD}\n{_SEP}\n| 顶尖人才 | 300万元 |", f"{_HEAD}\n{_SEP}\n| 高级人才 | 50万元 |"],
         [f"{_HEAD}\n{_SEP}\n| 顶尖人才 | 300万元 |", "| 高级人才 | 50万元 |"]),
        # another table (other columns), or text between: two tables
        ([f"{_HEAD}\n{_SEP}\n| 顶尖人才 | 300万元 |", "| 类别 | 比例 | 上限 |\n| --- | --- | --- |\n| 检测 | 30% | 20万元 |"],
         [f"{_HEAD}\n{_SEP}\n| 顶尖人才 | 300万元 |", "| 类别 | 比例 | 上限 |\n| --- | --- | --- |\n| 检测 | 30% | 20万元 |"]),
        ([f"{_HEAD}\n{_SEP}\n| 顶尖人才 | 300万元 |\n注：按年发放。", f"{_HEAD}\n{_SEP}\n| 高级人才 | 50万元 |"],
         [f"{_HEAD}\n{_SEP}\n| 顶尖人才 | 300万元 |\n注：按年发放。", f"{_HEAD}\n{_SEP}\n| 高级人才 | 50万元 |"]),
    ],
)
def test_a_table_cut_by_a_page_break_is_one_table(pages: list[str], expected: list[str]) -> None:
    assert continue_across_pages(pages) == expected


def test_a_continued_table_is_one_block_with_its_header_after_cleaning() -> None:
    page1 = f"补贴标准如下：\n{_HEAD}\n{_SEP}\n| 顶尖人才 | 300万元 |\n— 1 —"
    page2 = f"{_HEAD}\n{_SEP}\n| 高级人才 | 50万元 |\n— 2 —"
    text, pages = clean_text(page1 + "\n" + page2, (Page(1, 0), Page(2, len(page1) + 1)))
    assert text[pages[1].start:].startswith("| 高级人才 | 50万元 |")
    assert len(table_blocks(text)) == 1
    assert text[slice(*row_header(text, text.index("| 高级人才")))] == _HEAD
