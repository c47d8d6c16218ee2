"""The page's pure parts: escaping, [n] links, the sources panel, export, feedback,
admission control and the Chinese file messages."""

from __future__ import annotations

import csv
import threading

import pytest

from policyqa.errors import IngestError
from policyqa.types import Answer, Chunk, Citation, Hit
from ui.app import Admission
from ui.feedback import FeedbackStore
from ui.messages import reason_zh
from ui.render import answer_markdown, conversation_markdown, escape_markdown, sources_html, turn_record

DOC = "第一段文字。<script>alert('x')</script>全省新认定高新技术企业5000家。结尾&说明。"
QUOTE = "全省新认定高新技术企业5000家。"
START = DOC.index(QUOTE)


def _chunk() -> Chunk:
    return Chunk("c1", "d1", "plan.txt", DOC, 0, len(DOC), title="工作要点", heading_path="一、目标",
                 issuer="省经信厅", date="2025-03-01", region="浙江省")


def _answer() -> Answer:
    cite = Citation(1, "plan.txt", "工作要点", QUOTE, heading_path="一、目标", start=START,
                    end=START + len(QUOTE), chunk_id="c1")
    return Answer("目标多少家？", f"全省新认定高新技术企业5000家[1]。", (cite,), notes=("示例说明",), backend="extractive")


def test_markdown_escapes_markup_and_keeps_figures() -> None:
    out = escape_markdown("<script>alert(1)</script> *粗* R&D 67.5%\n7.推动\n# 标题")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "\\*粗\\*" in out and "R&amp;D" in out and "67.5%" in out
    assert "7\\.推动" in out and "\\# 标题" in out  # not a renumbered list, not a heading


def test_answer_markers_link_to_their_turns_cards() -> None:
    md = answer_markdown(_answer(), turn=3)
    assert "[\\[1\\]](#cite-3-1)" in md
    assert "示例说明" in md


def test_refusal_points_to_nearest_passages() -> None:
    refused = Answer("绍兴的目标？", "文件中未找到相关内容。", (), refused=True, nearest=(Hit(_chunk(), 0.3),))
    assert "最接近" in answer_markdown(refused, 1)
    html = sources_html(refused, 1, lambda _: None, lambda _: DOC)
    assert "最接近的段落" in html and 'id="near-1-1"' in html


def test_sources_panel_escapes_document_text_and_marks_the_quote() -> None:
    html = sources_html(_answer(), 2, lambda cid: _chunk() if cid == "c1" else None, lambda s: DOC)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f'<mark class="pq-span">{QUOTE}</mark>' in html
    assert 'id="cite-2-1"' in html and 'id="cite-2-1-doc"' in html  # full-document view marks the span too
    assert "省经信厅" in html and "2025-03-01" in html and "一、目标" in html


def test_sources_panel_finds_the_quote_without_offsets() -> None:
    cite = Citation(1, "plan.txt", "工作要点", QUOTE)
    answer = Answer("q", "a[1]", (cite,))
    html = sources_html(answer, 1, lambda _: None, lambda _: DOC)
    assert f'<mark class="pq-span">{QUOTE}</mark>' in html


def test_a_quote_from_a_scanned_page_says_it_was_read_by_ocr() -> None:
    import dataclasses

    from ui.render import OCR_NOTE

    scanned = dataclasses.replace(_chunk(), page=3, ocr=True)
    cite = scanned.citation(1, START, START + len(QUOTE))
    answer = Answer("目标多少家？", "全省新认定高新技术企业5000家[1]。", (cite,))
    html = sources_html(answer, 1, lambda cid: scanned if cid == "c1" else None, lambda s: DOC)
    assert "第3页" in html and OCR_NOTE in html
    assert OCR_NOTE in conversation_markdown([turn_record(answer)])
    plain = sources_html(_answer(), 1, lambda cid: _chunk() if cid == "c1" else None, lambda s: DOC)
    assert OCR_NOTE not in plain


def test_conversation_export_keeps_questions_answers_and_quotes() -> None:
    md = conversation_markdown([turn_record(_answer())])
    assert "## 问 1：目标多少家？" in md
    assert "5000家[1]" in md and f"“{QUOTE}”" in md and "plan.txt" in md


def test_feedback_is_stored_and_exported(tmp_path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add("useful", turn_record(_answer()))
    store.add("wrong", turn_record(_answer()), comment="数字不对")
    with pytest.raises(ValueError):
        store.add("meh", turn_record(_answer()))
    out = tmp_path / "fb.csv"
    assert store.export_csv(out) == 2
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [r["rating"] for r in rows] == ["useful", "wrong"]
    assert rows[0]["question"] == "目标多少家？" and QUOTE in rows[0]["citations"]
    assert rows[1]["comment"] == "数字不对"


def test_admission_turns_away_what_it_cannot_hold() -> None:
    gate = Admission(running=1, waiting=1)
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with gate.enter() as ok:
            assert ok
            inside.set()
            release.wait(5)

    first = threading.Thread(target=hold)
    first.start()
    inside.wait(5)
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(_enter_and_leave(gate)))
    waiter.start()  # takes the one waiting place
    for _ in range(100):
        if gate._inside == 2:
            break
        threading.Event().wait(0.01)
    with gate.enter() as third:
        assert third is False  # beyond running + waiting: told it is busy
    release.set()
    first.join(5)
    waiter.join(5)
    assert results == [True]
    with gate.enter() as again:
        assert again is True


def _enter_and_leave(gate: Admission) -> bool:
    with gate.enter() as ok:
        return ok


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("encrypted PDF (password required)", "PDF 已加密"),
        ("no text layer; the PDF needs OCR", "OCR"),
        ("empty file (0 bytes)", "空的"),
        ("binary or garbled content (12% control or replacement characters)", "二进制或乱码"),
        ("PDF has 5000 pages, over the limit of 2000 (POLICYQA_PDF_MAX_PAGES)", "页数超过上限"),
        ("PDF parsing took longer than 60 s and was stopped (POLICYQA_PDF_TIMEOUT_S)", "超时"),
        ("2 of 80 pages not read: pages 51-52, over the limit of 50 OCR pages per document "
         "(POLICYQA_OCR_MAX_PAGES)", "未做 OCR 识别"),
        ("no text layer (scanned or image-only PDF); the PDF needs OCR; OCR is not available (No module named "
         "'rapidocr_onnxruntime')", "OCR 组件不可用"),
        ("something new", "无法导入"),
    ],
)
def test_file_errors_are_explained_in_chinese(reason: str, expected: str) -> None:
    text = reason_zh(IngestError("a.pdf", reason))
    assert expected in text and reason in text


# -- the knowledge-base tab: vector state per document and overall ------------------------
def _info(source: str, chunks: int, embedded: int, uploaded: bool = True):  # type: ignore[no-untyped-def]
    from rag.service import DocumentInfo

    return DocumentInfo(source, "青田县2026年科技工作要点", "青田县科技局", "2026-01-05", "青田县", "青科〔2026〕1号",
                        chunks, uploaded, embedded)


def test_docs_table_shows_each_documents_vector_state() -> None:
    from ui.render import DOCS_HEADERS, docs_rows

    rows = docs_rows([_info("a.txt", 4, 0), _info("b.txt", 4, 1), _info("c.txt", 4, 4, uploaded=False)])
    assert all(len(r) == len(DOCS_HEADERS) for r in rows)
    col = DOCS_HEADERS.index("向量")
    assert [r[col] for r in rows] == ["仅关键词检索（向量计算中）", "向量计算中 25%", "就绪"]
    assert dict(zip(DOCS_HEADERS, rows[0])) == {
        "文件": "a.txt", "向量": "仅关键词检索（向量计算中）", "标题": "青田县2026年科技工作要点", "发文机关": "青田县科技局",
        "日期": "2026-01-05", "地区": "青田县", "文号": "青科〔2026〕1号", "段落数": 4, "来源": "上传"}
    assert [r[DOCS_HEADERS.index("来源")] for r in rows] == ["上传", "上传", "自带"]


def test_progress_bar_while_vectors_are_pending_and_none_when_done() -> None:
    from rag.service import EmbeddingProgress
    from ui.render import embedding_html, embedding_status

    html_ = embedding_html(EmbeddingProgress(30, 120, running=True))
    assert '<progress class="pq-embed-bar" max="120" value="30">25%</progress>' in html_
    assert "已完成 30 / 120 个段落" in html_ and "按关键词检索" in html_
    assert embedding_status(EmbeddingProgress(30, 120, running=True)) == " · **向量计算中** 30/120"
    stalled = embedding_html(EmbeddingProgress(30, 120, running=False))  # no thread: it does not claim one works
    assert "<progress" in stalled and "向量计算中" not in stalled and "90 个段落的向量未计算" in stalled
    done = embedding_html(EmbeddingProgress(120, 120, running=False))
    assert "<progress" not in done and "全部文件已就绪" in done
    assert embedding_status(EmbeddingProgress(120, 120, running=False)) == ""
    assert embedding_html(EmbeddingProgress(0, 0, running=False)) == ""


def test_upload_message_says_keyword_search_works_while_vectors_are_computed() -> None:
    from ingest.pipeline import IngestReport
    from ui.messages import report_zh

    pending = report_zh(IngestReport(added=("a.txt",), chunks_added=3, chunks_pending=3, total_documents=1,
                                     total_chunks=3))
    assert "已可按关键词检索" in pending and "3 个段落的向量正在后台计算" in pending
    ready = report_zh(IngestReport(added=("a.txt",), chunks_added=3, total_documents=1, total_chunks=3))
    assert "新增 1 个" in ready and "关键词" not in ready and "向量" not in ready


def test_a_refusal_while_vectors_are_pending_says_so() -> None:
    from ui.app import KEYWORD_ONLY_NOTE, with_pending_note

    refused = Answer("青田的目标？", "文件中未找到相关内容。", (), refused=True)
    noted = with_pending_note(refused, pending=5)
    assert noted.notes == (KEYWORD_ONLY_NOTE,) and KEYWORD_ONLY_NOTE in answer_markdown(noted, 1)
    assert with_pending_note(noted, pending=5).notes == (KEYWORD_ONLY_NOTE,)
    assert with_pending_note(refused, pending=0) is refused
    cited = _answer()
    assert with_pending_note(cited, pending=5) is cited  # an answer with citations needs no excuse
