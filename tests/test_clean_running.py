"""ingest.clean: running headers and footers of PDF pages leave the text."""

from __future__ import annotations

import pytest

from ingest.clean import _drop_running_lines, clean_text
from policyqa.types import Page


_WORDS = "甲乙丙丁戊己庚辛"


def _body(n: int) -> str:
    """Two paragraphs of page `n`, in words of their own (a running line differs only in numbers)."""
    w = _WORDS[n]
    return f"{w}单位要加强科技创新工作。\n{w}地区要做好政策宣传解读。"


def _pdf(pages: list[str]) -> tuple[str, tuple[Page, ...]]:
    """The text of `pages` as a PDF loader gives it, with the page starts."""
    starts, text = [], ""
    for page in pages:
        starts.append(len(text))
        text += page + "\n"
    return text, tuple(Page(number=k + 1, start=s) for k, s in enumerate(starts))


@pytest.mark.parametrize(("pages", "dropped", "kept"), [
    # a running header that is also the title: the title under it on page 1 stays
    ([("科技创新券管理办法\n" if n == 1 else "") + f"科技创新券管理办法\n{_body(n)}" for n in range(1, 5)],
     ["科技创新券管理办法\n科技创新券管理办法", _body(2).join(["科技创新券管理办法\n", ""])],
     ["科技创新券管理办法\n" + _body(1), _body(2)]),
    # the issuer's header and a dashed page number on every page
    ([f"浙江省科学技术厅文件\n{_body(n)}\n- {n} -" for n in range(1, 5)],
     ["浙江省科学技术厅文件", "- 1 -", "- 4 -"], [_body(1), _body(4)]),
    # a short-title header from page 2 on (4 of 5 pages) and a 第N页 共M页 footer
    (["科技创新券管理办法（全文）\n" + _body(1) + "\n第1页 共5页"]
     + [f"科技创新券管理办法\n{_body(n)}\n第{n}页 共5页" for n in range(2, 6)],
     ["科技创新券管理办法\n", "第1页", "第5页"], ["科技创新券管理办法（全文）", _body(2)]),
    # a footer line above the page number
    ([f"{_body(n)}\n浙江省科学技术厅办公室 编印\n{n}" for n in range(1, 6)],
     ["编印", "\n3\n"], [_body(3)]),
    # two pages are too few to tell a running header from a repeated line
    ([f"浙江省科学技术厅文件\n{_body(n)}" for n in (1, 2)],
     [], ["浙江省科学技术厅文件\n" + _body(2)]),
    # on 2 of 5 pages (40%) a line is not running
    ([("附件说明\n" if n <= 2 else "") + _body(n) for n in range(1, 6)],
     [], ["附件说明\n" + _body(2)]),
    # a line repeated inside the pages, away from their top and bottom, is text
    ([f"{_WORDS[n]}节\n{_body(n)}\n详见下文。\n{_WORDS[n]}页结尾。\n完" for n in range(1, 5)],
     ["\n完"], ["详见下文。\n丁页结尾。"]),
    # a table's header row repeats on each page the table runs over: not a running
    # line, but the table goes on under its first header (ingest.tables.continue_across_pages)
    ([f"| 序号 | 项目 |\n| --- | --- |\n| {n} | 项目{n} |" for n in range(1, 5)],
     [], ["| 序号 | 项目 |\n| --- | --- |\n| 1 | 项目1 |\n| 2 | 项目2 |\n| 3 | 项目3 |\n| 4 | 项目4 |"]),
], ids=["title-under-header", "issuer-and-dashes", "short-title-and-page-of", "footer-line", "two-pages", "forty-percent",
        "inside-the-page", "table-header"])
def test_running_lines(pages: list[str], dropped: list[str], kept: list[str]) -> None:
    text, page_starts = _pdf(pages)
    cleaned, mapped = clean_text(text, page_starts)
    for s in dropped:
        assert s not in cleaned + "\n"
    for s in kept:
        assert s in cleaned
    assert len(mapped) == len(pages) and all(cleaned[p.start - 1 : p.start] in ("", "\n") for p in mapped)


@pytest.mark.parametrize(("pages", "expected"), [
    # only where it stands at a page's top or bottom: the same line inside a page stays
    (["页眉\n甲。\n页眉\n乙。\n戊。\n己。", "页眉\n丙。", "页眉\n丁。"], ["甲。\n页眉\n乙。\n戊。\n己。", "丙。", "丁。"]),
    # spaces and numbers do not tell two running lines apart; other dashes do
    (["— 1 —\n甲。", "—2—\n乙。", "— 3 —\n丙。", "－ 4 －\n丁。"], ["甲。", "乙。", "丙。", "－ 4 －\n丁。"]),
    (["甲。", "乙。", "丙。"], ["甲。", "乙。", "丙。"]),
    ([], []),
])
def test_drop_running_lines(pages: list[str], expected: list[str]) -> None:
    assert _drop_running_lines(pages) == expected
