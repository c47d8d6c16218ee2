"""The page in a real browser: Debian's chromium driven by Playwright. Type a
question, watch the answer stream in, click [1], see the highlighted passage; a
document's markup shows as text and never runs. Leaves a screenshot behind."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from policyqa.settings import PROJECT_ROOT
from tests.support.openai_stub import OpenAIStub
from tests.support.ui_server import PASSWORD, start_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "out" / "test-artifacts"
PLANTED = (
    "东阳市2026年科技工作要点\n"
    "东阳市2026年新认定科技型中小企业66家。<script>window.__pwned = 1</script>"
    "<img src=x onerror=\"window.__pwned = 2\">\n"
)


def _reply(messages: list[dict]) -> str:
    """Cites the passage that states the figure asked about, as a model would."""
    user = messages[-1]["content"]
    for want in ("5000家", "66家"):
        for m in re.finditer(r"\[(\d+)\][^\[]*", user):
            if want in m.group(0):
                sentence = next(s for s in re.split(r"(?<=。)", m.group(0)) if want in s)
                return sentence.split("\n")[-1].rstrip("。") + f"[{m.group(1)}]。"
    return "资料未提及。"


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory):
    if not CHROMIUM.exists():
        pytest.fail("chromium is missing: apt-get install -y chromium chromium-driver (see .ci/run)")
    with OpenAIStub(_reply, delay=0.05) as stub:
        srv = start_server(tmp_path_factory.mktemp("browser"), extra_docs={"dongyang-2026.txt": PLANTED},
                           llm="openai", openai_base_url=stub.base_url, openai_model="stub")
        yield srv
        srv.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def _open(browser, url: str):  # type: ignore[no-untyped-def]
    """A fresh tab on the page, as a Chinese-speaking user's browser shows it."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.goto(url)
    return page


def _ask(page, question: str) -> None:
    page.fill("#pq-question textarea", question)
    page.click("#pq-send")


def test_streamed_answer_click_citation_see_passage(page_url, browser) -> None:
    page = _open(browser, page_url.url)
    page.wait_for_selector("#pq-question textarea")
    assert "回答方式" in page.inner_text("#pq-status")
    _ask(page, "2025年全省新认定高新技术企业目标多少家？")
    # The cursor shows while the answer is still being written.
    page.wait_for_function("document.querySelector('#pq-chat').innerText.includes('▌')", timeout=30000)
    link = page.locator("#pq-chat a[href='#cite-1-1']")
    link.wait_for(timeout=60000)
    assert "5000" in page.inner_text("#pq-chat")
    link.click()
    card = page.locator("#cite-1-1")
    assert card.evaluate("e => e.open && e.classList.contains('pq-active')")
    mark = card.locator(".pq-passage mark.pq-span")
    assert "5000" in mark.inner_text() and mark.is_visible()
    assert page_url.url.rstrip("/") in page.url  # the click did not navigate away
    card.locator("details.pq-doc > summary").click()
    full = page.locator("#cite-1-1-doc")
    full.wait_for(state="visible")
    assert "5000" in full.inner_text()
    page.wait_for_timeout(500)
    # The document view opened scrolled to the span: the mark lies inside its box.
    assert full.evaluate("""m => { const box = m.closest('.pq-full').getBoundingClientRect();
        const r = m.getBoundingClientRect(); return r.top >= box.top - 1 && r.bottom <= box.bottom + 1; }""")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "ui-chat.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 20_000

    # Feedback: thumbs up on the answer lands in the SQLite file.
    page.locator("#pq-chat button[aria-label='赞']").last.click()
    page.wait_for_timeout(1500)
    with sqlite3.connect(page_url.settings.feedback_path()) as db:
        rows = list(db.execute("SELECT rating, question FROM feedback"))
    assert ("useful", "2025年全省新认定高新技术企业目标多少家？") in rows
    page.close()


def test_document_markup_is_shown_as_text(page_url, browser) -> None:
    page = _open(browser, page_url.url)
    page.wait_for_selector("#pq-question textarea")
    _ask(page, "东阳市2026年新认定科技型中小企业多少家？")
    page.locator("#pq-chat a[href='#cite-1-1']").first.wait_for(timeout=60000)
    sources = page.inner_text("#pq-sources")
    assert "<script>window.__pwned = 1</script>" in sources  # visible as characters
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("#pq-sources script, #pq-sources img").count() == 0
    page.close()


def test_knowledge_base_tab_needs_the_password(page_url, browser) -> None:
    page = _open(browser, page_url.url)
    page.get_by_role("tab", name="知识库").click()
    page.fill("#pq-password input", "wrong")
    page.get_by_role("button", name="进入").click()
    page.get_by_text("管理员密码错误").first.wait_for(timeout=10000)
    assert not page.locator("#pq-docs").is_visible()
    page.fill("#pq-password input", PASSWORD)
    page.get_by_role("button", name="进入").click()
    page.get_by_text("dongyang-2026.txt").first.wait_for(timeout=10000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-knowledge-base.png"), full_page=True)
    page.close()


def test_policy_matching_tab(page_url, browser) -> None:
    page = _open(browser, page_url.url)
    page.get_by_role("tab", name="政策匹配").click()
    page.locator("#pq-m-region input").fill("绍兴市")
    page.locator("#pq-m-region input").press("Enter")
    page.locator("#pq-m-types").get_by_label("规上工业企业").check()
    page.locator("#pq-m-acts").get_by_label("研发投入").check()
    page.click("#pq-m-go")
    page.locator("#pq-m-out details.pq-card").first.wait_for(timeout=30000)
    text = page.inner_text("#pq-m-out")
    assert "✔" in text and "丽水" not in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-match.png"), full_page=True)
    page.close()


def test_targets_tab_links_rows_to_passages(page_url, browser) -> None:
    page = _open(browser, page_url.url)
    page.get_by_role("tab", name="指标").click()
    page.fill("#pq-t-indicator input, #pq-t-indicator textarea", "高新技术产业增加值")
    page.click("#pq-t-go")
    page.locator("#pq-t-out table.pq-compare").wait_for(timeout=30000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-targets.png"), full_page=True)
    page.locator("#pq-t-out table.pq-compare a[href='#tgt-1']").first.click()
    card = page.locator("#tgt-1")
    assert card.evaluate("e => e.open && e.classList.contains('pq-active')")
    assert card.locator("mark.pq-span").first.is_visible()
    page.close()


def test_knowledge_base_tab_follows_the_vectors_of_an_upload(page_url, browser, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An upload shows as keyword-only with a progress bar; when its vectors land the
    tab's timer turns the row to 就绪 and the bar into a line, without a click."""
    import threading

    from gradio_client import Client, handle_file

    import rag.service
    from ingest.embeddings import HashEmbeddings

    release = threading.Event()

    class Held(HashEmbeddings):
        def encode(self, texts, query):  # type: ignore[no-untyped-def]
            if not query:
                release.wait(60)
            return super().encode(texts, query)

    monkeypatch.setattr(rag.service.PolicyQA, "_background_model", lambda self: Held())
    doc = tmp_path / "qingtian-2026.txt"
    doc.write_text("青田县2026年科技工作要点\n青田县2026年新认定科技型中小企业88家。\n", encoding="utf-8")
    client = Client(page_url.url, verbose=False)
    page = None
    try:
        client.predict(PASSWORD, [handle_file(str(doc))], api_name="/upload")
        page = _open(browser, page_url.url)
        page.get_by_role("tab", name="知识库").click()
        page.fill("#pq-password input", PASSWORD)
        page.get_by_role("button", name="进入").click()
        page.locator("#pq-embedding progress").wait_for(timeout=10000)
        assert "向量计算中" in page.inner_text("#pq-embedding")
        headers = page.locator("#pq-docs th").all_inner_texts()
        assert any("向量" in h for h in headers), headers
        row = page.locator("#pq-docs [role=row]", has_text="qingtian-2026.txt")
        assert "仅关键词检索" in row.inner_text()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-knowledge-base-embedding.png"), full_page=True)
        release.set()
        page.get_by_text("全部文件已就绪").wait_for(timeout=30000)  # the timer's doing: nothing was clicked
        assert "仅关键词检索" not in row.inner_text() and "就绪" in row.inner_text()
        assert page.locator("#pq-embedding progress").count() == 0
    finally:
        release.set()
        if page is not None:
            page.close()
        client.predict(PASSWORD, ["qingtian-2026.txt"], api_name="/remove")
