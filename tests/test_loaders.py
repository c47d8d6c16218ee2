from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from ingest.loaders import SUPPORTED_SUFFIXES, LoadResult, iter_files, load_file
from policyqa.errors import IngestError
from policyqa.types import Page
from tests.support.documents import make_docx

CAP = 10 * 1024 * 1024
# tmp_path is reused across hypothesis examples; each example overwrites its file.
FIXTURE_OK = [HealthCheck.function_scoped_fixture]
ZH = "浙江省科学技术厅关于印发《2025年高新技术产业工作要点》的通知"


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def only_doc(result: LoadResult):
    assert result.errors == (), result.errors
    assert len(result.documents) == 1
    return result.documents[0]


def only_error(result: LoadResult, name: str) -> IngestError:
    assert result.documents == ()
    assert len(result.errors) == 1
    err = result.errors[0]
    assert isinstance(err, IngestError)
    assert err.source == name
    assert name in str(err)
    return err


def encrypt_pdf(data: bytes, user_password: str, owner_password: str | None = None) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password, owner_password)  # RC4: needs no extra package
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- text files


def test_utf8_txt(tmp_path: Path) -> None:
    data = f"{ZH}\n第一条 为推动高质量发展。\n".encode()
    path = write(tmp_path, "notice.txt", data)
    doc = only_doc(load_file(path, CAP))
    assert doc.source == "notice.txt"
    assert doc.path == str(path)
    assert doc.text == data.decode()
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.pages == () and doc.meta == {}


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + ZH.encode())
    assert only_doc(load_file(path, CAP)).text == ZH


@pytest.mark.parametrize("text", [ZH, "通知", "第一条\n第二条 申报条件"])
def test_gbk_txt_decodes(tmp_path: Path, text: str) -> None:
    # Short GBK texts are where charset detectors mis-guess.
    path = write(tmp_path, "gbk.txt", text, encoding="gbk")
    assert only_doc(load_file(path, CAP)).text == text


@pytest.mark.parametrize("text", ["中", "通知", "Dash — “quoted” 3×4 °C", "Ĳssel café"])
def test_short_utf8_stays_utf8(tmp_path: Path, text: str) -> None:
    assert only_doc(load_file(write(tmp_path, "short.txt", text), CAP)).text == text


def test_gbk_text_with_md_extension_decodes(tmp_path: Path) -> None:
    path = write(tmp_path, "misnamed.md", ZH, encoding="gbk")
    assert only_doc(load_file(path, CAP)).text == ZH


def test_markdown_loads_raw(tmp_path: Path) -> None:
    text = "# 工作要点\n\n- 培育高新技术企业\n"
    doc = only_doc(load_file(write(tmp_path, "plan.md", text), CAP))
    assert doc.source == "plan.md" and doc.text == text


def test_utf16_with_bom_decodes(tmp_path: Path) -> None:
    path = write(tmp_path, "notepad.txt", ZH.encode("utf-16"))
    assert only_doc(load_file(path, CAP)).text == ZH


def test_crlf_is_normalised(tmp_path: Path) -> None:
    path = write(tmp_path, "windows.txt", b"a\r\nb\rc\n")
    assert only_doc(load_file(path, CAP)).text == "a\nb\nc\n"


def test_uppercase_suffix_is_supported(tmp_path: Path) -> None:
    assert only_doc(load_file(write(tmp_path, "UPPER.TXT", ZH), CAP)).text == ZH


# ---------------------------------------------------------------- PDF


def test_cjk_pdf_pages(tmp_path: Path, make_pdf) -> None:
    first, second = "第一页 浙江省科学技术厅", "第二页 申报时间为2025年5月"
    data = make_pdf([first, second])
    doc = only_doc(load_file(write(tmp_path, "two-pages.pdf", data), CAP))
    assert doc.source == "two-pages.pdf"
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert [p.number for p in doc.pages] == [1, 2]
    assert doc.pages[0] == Page(1, 0)
    page2 = doc.pages[1].start
    assert first in doc.text[:page2]
    assert doc.text[page2:].startswith(second)
    assert doc.text[page2 - 1] == "\n"


def test_corrupt_pdf(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    err = only_error(load_file(path, CAP), "broken.pdf")
    assert "corrupt PDF" in err.reason


def test_truncated_pdf(tmp_path: Path, make_pdf) -> None:
    data = make_pdf([ZH])
    result = load_file(write(tmp_path, "cut.pdf", data[: len(data) // 3]), CAP)
    # pypdf may recover some of a truncated file; either way it must not raise.
    assert result.documents or "PDF" in only_error(result, "cut.pdf").reason


def test_encrypted_pdf_needs_password(tmp_path: Path, make_pdf) -> None:
    path = write(tmp_path, "locked.pdf", encrypt_pdf(make_pdf([ZH]), "secret"))
    err = only_error(load_file(path, CAP), "locked.pdf")
    assert err.reason == "encrypted PDF (password required)"


def test_pdf_with_empty_user_password_loads(tmp_path: Path, make_pdf) -> None:
    # Restricted-permission PDFs open without a password and must load.
    path = write(tmp_path, "restricted.pdf", encrypt_pdf(make_pdf([ZH]), "", "owner"))
    assert ZH in only_doc(load_file(path, CAP)).text


def test_pdf_without_text_layer(tmp_path: Path, make_pdf) -> None:
    path = write(tmp_path, "scan.pdf", make_pdf([""]))
    err = only_error(load_file(path, CAP), "scan.pdf")
    assert err.reason == "no text layer (scanned or image-only PDF); the PDF needs OCR"


# ---------------------------------------------------------------- DOCX


def test_docx_with_table(tmp_path: Path) -> None:
    data = make_docx(
        ["关于开展申报工作的通知", "各市科技局："],
        table=[["项目", "金额"], ["研发补助", "100万元"]],
        tail="特此通知。",
    )
    doc = only_doc(load_file(write(tmp_path, "notice.docx", data), CAP))
    assert doc.source == "notice.docx"
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    lines = doc.text.split("\n")
    assert lines[:2] == ["关于开展申报工作的通知", "各市科技局："]
    assert lines[-1] == "特此通知。"  # table stays in document order
    assert lines[2:5] == ["| 项目 | 金额 |", "| --- | --- |", "| 研发补助 | 100万元 |"]  # a Markdown table


def test_docx_merged_cells_kept_once(tmp_path: Path) -> None:
    document = docx.Document()
    grid = document.add_table(rows=1, cols=3)
    merged = grid.cell(0, 0).merge(grid.cell(0, 1))
    merged.text = "合并"
    grid.cell(0, 2).text = "右"
    buf = io.BytesIO()
    document.save(buf)
    doc = only_doc(load_file(write(tmp_path, "merged.docx", buf.getvalue()), CAP))
    assert doc.text == "合并\t右"


def test_corrupt_docx(tmp_path: Path) -> None:
    err = only_error(load_file(write(tmp_path, "bad.docx", b"not a zip at all"), CAP), "bad.docx")
    assert "corrupt DOCX" in err.reason


def test_zip_that_is_not_docx(tmp_path: Path) -> None:
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "hi")
    err = only_error(load_file(write(tmp_path, "fake.docx", buf.getvalue()), CAP), "fake.docx")
    assert "corrupt DOCX" in err.reason


def test_old_doc_renamed_to_docx(tmp_path: Path) -> None:
    path = write(tmp_path, "old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert ".doc" in only_error(load_file(path, CAP), "old.docx").reason


def test_empty_docx(tmp_path: Path) -> None:
    err = only_error(load_file(write(tmp_path, "blank.docx", make_docx([])), CAP), "blank.docx")
    assert "no text" in err.reason


# ---------------------------------------------------------------- HTML

HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title> 浙江省 科技厅
 通知 </title>
<style>p { color: red }</style></head>
<body>
<header>网站首页 | 登录</header>
<nav><a href="/">首页</a></nav>
<script>var secret = "不应出现";</script>
<noscript>请启用脚本</noscript>
<h1>关于印发工作要点的通知</h1>
<p>根据<a href="/x">《科技进步法》</a>规定，
现印发如下。</p>
<table><tr><td>项目</td><td>金额</td></tr></table>
<div>第一条<br>第二条</div>
<!-- 注释不应出现 -->
<footer>版权所有</footer>
</body></html>
"""


def test_html(tmp_path: Path) -> None:
    doc = only_doc(load_file(write(tmp_path, "page.html", HTML), CAP))
    assert doc.source == "page.html"
    assert doc.meta == {"title": "浙江省 科技厅 通知"}
    for dropped in ("secret", "不应出现", "首页", "版权所有", "请启用脚本", "color", "注释"):
        assert dropped not in doc.text
    lines = doc.text.split("\n")
    assert lines[0] == "关于印发工作要点的通知"
    # An inline link does not break the sentence; a source line break is a space.
    assert "根据《科技进步法》规定， 现印发如下。" in lines
    assert "项目\t金额" in lines
    assert lines[-2:] == ["第一条", "第二条"]


def test_gb2312_html_with_gbk_chars(tmp_path: Path) -> None:
    # 镕 is in GBK but not GB2312: the declared charset must not garble it.
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">' \
        "<title>通知</title></head><body><p>朱镕基同志</p></body></html>"
    doc = only_doc(load_file(write(tmp_path, "old.htm", html, encoding="gbk"), CAP))
    assert doc.text == "朱镕基同志"
    assert doc.meta["title"] == "通知"


def test_html_without_text(tmp_path: Path) -> None:
    html = "<html><head><title>空</title><script>alert(1)</script></head><body> </body></html>"
    err = only_error(load_file(write(tmp_path, "empty.html", html), CAP), "empty.html")
    assert "no text" in err.reason


# ---------------------------------------------------------------- JSONL


def test_jsonl_with_metadata_and_a_bad_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"docid": "zj-001", "text": "第一篇正文", "title": "标题一", "issuer": "浙江省科技厅",
                    "date": "2025-03-01", "region": "浙江省", "doc_number": "浙科发〔2025〕1号",
                    "year": 2025, "public": True, "tags": ["a"], "note": None}, ensure_ascii=False),
        "{not json",
        "",
        json.dumps({"docid": 42, "text": "第二篇"}, ensure_ascii=False),
        json.dumps({"docid": "zj-003"}),
        json.dumps({"docid": "zj-004", "text": "   "}),
        json.dumps({"text": "无编号"}, ensure_ascii=False),
        json.dumps(["docid", "text"]),
        json.dumps({"docid": "zj-001", "text": "重复"}, ensure_ascii=False),
    ]
    path = write(tmp_path, "corpus.jsonl", "\n".join(lines) + "\n")
    result = load_file(path, CAP)

    assert [d.source for d in result.documents] == ["zj-001", "42"]
    first = result.documents[0]
    assert first.text == "第一篇正文"
    assert first.path == str(path)
    assert first.sha256 == hashlib.sha256("第一篇正文".encode()).hexdigest()
    assert first.meta == {"title": "标题一", "issuer": "浙江省科技厅", "date": "2025-03-01",
                          "region": "浙江省", "doc_number": "浙科发〔2025〕1号",
                          "year": "2025", "public": "true"}

    errors = {e.source: e.reason for e in result.errors}
    assert set(errors) == {f"corpus.jsonl:{n}" for n in (2, 5, 6, 7, 8, 9)}
    assert "invalid JSON" in errors["corpus.jsonl:2"]
    assert "'text'" in errors["corpus.jsonl:5"]
    assert "empty 'text'" in errors["corpus.jsonl:6"]
    assert "'docid'" in errors["corpus.jsonl:7"]
    assert "not a JSON object" in errors["corpus.jsonl:8"]
    assert "duplicate docid 'zj-001' (first on line 1)" in errors["corpus.jsonl:9"]


def test_jsonl_only_blank_lines(tmp_path: Path) -> None:
    err = only_error(load_file(write(tmp_path, "blank.jsonl", "\n  \n"), CAP), "blank.jsonl")
    assert "empty" in err.reason


# ---------------------------------------------------------------- other bad input


def test_empty_file(tmp_path: Path) -> None:
    err = only_error(load_file(write(tmp_path, "empty.txt", b""), CAP), "empty.txt")
    assert err.reason == "empty file (0 bytes)"


def test_whitespace_only_file(tmp_path: Path) -> None:
    path = write(tmp_path, "spaces.md", " \n\t\u3000\n")
    assert "empty" in only_error(load_file(path, CAP), "spaces.md").reason


def test_binary_junk_txt(tmp_path: Path) -> None:
    path = write(tmp_path, "junk.txt", bytes(range(256)) * 8)
    assert "binary" in only_error(load_file(path, CAP), "junk.txt").reason


def test_control_characters_without_nul(tmp_path: Path) -> None:
    path = write(tmp_path, "ctrl.txt", b"\x01\x02\x03\x1b\x7f" * 10 + "正文".encode())
    reason = only_error(load_file(path, CAP), "ctrl.txt").reason
    assert "binary or garbled" in reason


def test_undecodable_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend charset-normalizer finds nothing, as it does for some odd bytes.
    import ingest.loaders.decoding as decoding

    class NoMatch:
        def best(self):
            return None

    monkeypatch.setattr(decoding, "from_bytes", lambda data: NoMatch())
    path = write(tmp_path, "odd.txt", b"\x80\xff abc \xff\xfe\x80")
    assert "cannot decode" in only_error(load_file(path, CAP), "odd.txt").reason


def test_oversize_file_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "big.txt", "x" * 5000)

    def no_read(*args, **kwargs):
        raise AssertionError("file was opened despite the size cap")

    monkeypatch.setattr(Path, "open", no_read)
    monkeypatch.setattr(Path, "read_bytes", no_read)
    reason = only_error(load_file(path, 1000), "big.txt").reason
    assert "too large" in reason and "4.9 KB" in reason and "1000 bytes" in reason


def test_unsupported_suffix(tmp_path: Path) -> None:
    err = only_error(load_file(write(tmp_path, "sheet.xlsx", b"PK\x03\x04"), CAP), "sheet.xlsx")
    assert "unsupported file type '.xlsx'" in err.reason
    err = only_error(load_file(write(tmp_path, "README", b"hi"), CAP), "README")
    assert "no extension" in err.reason


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert "not found" in only_error(load_file(tmp_path / "gone.txt", CAP), "gone.txt").reason
    (tmp_path / "dir.txt").mkdir()
    assert "directory" in only_error(load_file(tmp_path / "dir.txt", CAP), "dir.txt").reason


def test_mixed_batch_bad_files_do_not_stop_good_ones(tmp_path: Path, make_pdf) -> None:
    write(tmp_path, "a-good.txt", ZH)
    write(tmp_path, "b-broken.pdf", b"%PDF-1.7 nonsense")
    write(tmp_path, "c-good.pdf", make_pdf([ZH]))
    write(tmp_path, "d-empty.md", b"")
    write(tmp_path, "e-bad.docx", b"junk")
    write(tmp_path, "f-good.html", HTML)
    write(tmp_path, "g-junk.txt", b"\x00\x01" * 50)
    loaded, failed = [], []
    for path in iter_files([tmp_path]):
        result = load_file(path, CAP)
        loaded += [d.source for d in result.documents]
        failed += [e.source for e in result.errors]
    assert loaded == ["a-good.txt", "c-good.pdf", "f-good.html"]
    assert failed == ["b-broken.pdf", "d-empty.md", "e-bad.docx", "g-junk.txt"]


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(data=st.binary(max_size=400), suffix=st.sampled_from(sorted(SUPPORTED_SUFFIXES)))
def test_load_file_never_raises(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = write(tmp_path, f"random{suffix}", data)
    result = load_file(path, CAP)
    for err in result.errors:
        assert isinstance(err, IngestError) and err.source.startswith(f"random{suffix}")


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    suffix=st.sampled_from([".pdf", ".docx"]),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    cut=st.floats(0.05, 1),
)
def test_damaged_pdf_and_docx_never_raise(tmp_path: Path, make_pdf, suffix, edits, cut) -> None:
    data = bytearray(make_pdf([ZH, ZH]) if suffix == ".pdf" else make_docx([ZH], [["a", "b"]]))
    for where, value in edits:
        data[int(where * len(data))] = value
    path = write(tmp_path, f"damaged{suffix}", bytes(data[: max(1, int(cut * len(data)))]))
    result = load_file(path, CAP)
    assert len(result.documents) + len(result.errors) == 1


# ---------------------------------------------------------------- iter_files


def test_iter_files_walks_sorted_and_skips_hidden(tmp_path: Path) -> None:
    for name in ["b.txt", "a.pdf", "notes.xlsx", ".hidden.txt", "sub/z.md", "sub/c.HTML",
                 ".git/config.txt", "sub/.cache/x.txt", "sub/deeper/d.jsonl"]:
        write(tmp_path, name, b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    assert found == ["a.pdf", "b.txt", "sub/c.HTML", "sub/z.md", "sub/deeper/d.jsonl"]


def test_iter_files_yields_explicit_files_as_is(tmp_path: Path) -> None:
    sheet = write(tmp_path, "sheet.xlsx", b"x")
    hidden = write(tmp_path, ".env.txt", b"x")
    missing = tmp_path / "missing.txt"
    assert list(iter_files([sheet, hidden, missing])) == [sheet, hidden, missing]
