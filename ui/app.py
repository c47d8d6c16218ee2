"""The chat web page (Gradio 6): streamed, cited answers with a sources panel, filters,
feedback, export, and a password-protected knowledge-base tab.

Everything it knows about documents and answers comes through `rag.service.PolicyQA`.
"""

from __future__ import annotations

import hmac
import secrets
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from rag.service import UPLOAD_SUFFIXES, VOCABULARY, Answer, Filters, PolicyQA, PolicyQAError, Settings
from ui.feedback import FeedbackStore
from ui.messages import report_zh
from ui.render import (
    DOCS_HEADERS,
    answer_markdown,
    conversation_markdown,
    docs_rows,
    embedding_html,
    embedding_status,
    escape_markdown,
    match_html,
    targets_html,
    panel_html,
    sources_html,
    streaming_markdown,
    turn_record,
)

EXAMPLES = [
    "2025年全省新认定高新技术企业目标多少家？",
    "绍兴对企业研发费用有哪些扶持政策？",
    "浙江省和绍兴市的高新技术产业增加值占比目标分别是多少？",
    "丽水在企业数字化智能化改造方面有什么支持？",
]
BUSY = "当前提问的人较多，系统繁忙，请稍后再试。"
QUEUE_BACKSTOP = 1000
WRONG_PASSWORD_DELAY_S = 0.25
ALL = "全部"
EMBED_POLL_S = 3.0  # how often an open knowledge-base tab looks at the vector progress
# Added to a refusal while some chunks have no vector yet: those are found by keyword only.
KEYWORD_ONLY_NOTE = "部分新收录文件的向量仍在后台计算，这些文件目前只能按关键词检索；可换用文件中的原词提问，或稍后再试。"

CSS = """
.pq-sources { max-height: 78vh; overflow-y: auto; }
.pq-turn { margin-bottom: 14px; }
.pq-q { font-weight: 600; margin: 6px 0; }
.pq-head { font-weight: 400; color: var(--body-text-color-subdued); font-size: 0.9em; margin-left: 6px; }
.pq-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px; margin: 6px 0; }
.pq-card.pq-active { border-color: #d97706; box-shadow: 0 0 0 2px #fcd34d; }
.pq-card > summary { cursor: pointer; }
.pq-meta, .pq-path { color: var(--body-text-color-subdued); font-size: 0.85em; margin: 2px 0; }
.pq-passage, .pq-full { white-space: pre-wrap; line-height: 1.6; margin-top: 4px; }
.pq-full { max-height: 40vh; overflow-y: auto; border-top: 1px dashed var(--border-color-primary); padding-top: 4px; }
mark.pq-span { background: #fde68a; color: inherit; padding: 0 1px; }
.pq-empty { color: var(--body-text-color-subdued); }
.pq-criteria, .pq-also { margin: 4px 0 4px 18px; padding: 0; }
.pq-met { color: #15803d; }
.pq-table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 0.92em; }
.pq-table th, .pq-table td { border: 1px solid var(--border-color-primary); padding: 3px 6px; vertical-align: top; }
.pq-table th { background: var(--background-fill-secondary); }
.pq-unknown { color: #b45309; }
.pq-embed { display: flex; align-items: center; gap: 10px; margin: 4px 0; }
.pq-embed-bar { width: 240px; flex: none; }
.pq-ready { color: #15803d; }
"""

# Clicking [n] in an answer opens and highlights the cited passage in the sources
# panel instead of following the link; opening a full-document view scrolls to the
# quoted span. Delegated on the document, so it survives Gradio re-rendering.
JS = """
<script>
(() => {
  function openCite(id) {
    const card = document.getElementById(id);
    if (!card) return;
    document.querySelectorAll('.pq-card.pq-active').forEach(e => e.classList.remove('pq-active'));
    card.open = true;
    card.classList.add('pq-active');
    card.scrollIntoView({block: 'center'});
  }
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('a[href*="#cite-"], a[href*="#tgt-"]');
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    openCite(a.getAttribute('href').split('#')[1]);
  }, true);
  document.addEventListener('toggle', (ev) => {
    const d = ev.target;
    if (!(d instanceof HTMLDetailsElement) || !d.classList.contains('pq-doc') || !d.open) return;
    const m = d.querySelector('mark.pq-span');
    if (m) m.scrollIntoView({block: 'center'});
  }, true);
})();
</script>
"""


# Local fonts only: the page must not reach out to a font CDN.
THEME = gr.themes.Soft(
    font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"],
    font_mono=["Noto Sans Mono CJK SC", "monospace"],
)


class Admission:
    """At most `running` answers are generated at once and `waiting` more wait; anyone
    beyond that is told the system is busy instead of piling up."""

    def __init__(self, running: int, waiting: int) -> None:
        self._slots = threading.BoundedSemaphore(running)
        self._limit = running + waiting
        self._inside = 0
        self._lock = threading.Lock()

    @contextmanager
    def enter(self) -> Iterator[bool]:
        with self._lock:
            admitted = self._inside < self._limit
            if admitted:
                self._inside += 1
        if not admitted:
            yield False
            return
        try:
            with self._slots:
                yield True
        finally:
            with self._lock:
                self._inside -= 1


def _chosen(value: str | None) -> str:
    """A dropdown's value as a filter: 全部 (or nothing) means no constraint."""
    return "" if not value or value == ALL else value


def _filters(region: str, issuer: str, year: str, document: str) -> Filters:
    return Filters(region=_chosen(region), issuer=_chosen(issuer), year=_chosen(year), source=_chosen(document))


def _choices(values: set[str]) -> list[str]:
    return [ALL] + sorted(v for v in values if v)


def _status_md(service: PolicyQA) -> str:
    s = service.status()
    model = f"（{s.model}）" if s.model else ""
    return (f"**回答方式：** {s.backend_label}{model} · **检索模型：** {s.embedding} · **知识库：** {s.documents} 个文件，"
            f"{s.chunks} 个段落{embedding_status(service.embedding_progress())}")


def with_pending_note(answer: Answer, pending: int) -> Answer:
    """A refusal given while chunks wait for their vectors says so: "not found" then
    means "not found by keyword" for those files."""
    if not answer.refused or not pending or KEYWORD_ONLY_NOTE in answer.notes:
        return answer
    return replace(answer, notes=answer.notes + (KEYWORD_ONLY_NOTE,))


def build(service: PolicyQA, password: str, feedback: FeedbackStore) -> gr.Blocks:
    settings = service.settings
    admission = Admission(settings.ui_concurrency, settings.ui_max_queue)

    def password_ok(pw: str | None) -> bool:
        if not password or not hmac.compare_digest((pw or "").encode(), password.encode()):
            time.sleep(WRONG_PASSWORD_DELAY_S)  # slows guessing down
            return False
        return True

    def authorised(pw: str | None) -> None:
        if not password_ok(pw):
            raise gr.Error("管理员密码错误。", print_exception=False)

    def filter_updates() -> tuple[Any, ...]:
        docs = service.documents()
        return (
            gr.update(choices=_choices({d.region for d in docs})),
            gr.update(choices=_choices({d.issuer for d in docs})),
            gr.update(choices=_choices({d.date[:4] for d in docs})),
            gr.update(choices=[ALL] + [d.source for d in docs]),
        )

    def respond(question: str, chat: list, turns: list, sections: list, region: str, issuer: str, year: str,
                document: str) -> Iterator[tuple]:
        question = (question or "").strip()
        if not question:
            yield gr.update(), chat, turns, sections, gr.update()
            return
        chat = chat + [{"role": "user", "content": escape_markdown(question)},
                       {"role": "assistant", "content": "正在检索文件…"}]
        yield "", chat, turns, sections, gr.update()
        turn_no = len(turns) + 1
        with admission.enter() as admitted:
            if not admitted:
                chat[-1] = {"role": "assistant", "content": BUSY}
                yield "", chat, turns + [_error_turn(question, BUSY)], sections, gr.update()
                return
            history = [[t["question"], t["answer"]] for t in turns if not t.get("error")]
            final: Answer | None = None
            partial = ""
            try:
                for event in service.ask(question, history, _filters(region, issuer, year, document)):
                    if isinstance(event, Answer):
                        final = event
                    else:  # the LLM's text as it is written
                        partial += event.text
                        chat[-1] = {"role": "assistant", "content": streaming_markdown(partial)}
                        yield "", chat, turns, sections, gr.update()
            except PolicyQAError as exc:
                message = f"出错：{exc}"
                chat[-1] = {"role": "assistant", "content": escape_markdown(message)}
                yield "", chat, turns + [_error_turn(question, message)], sections, gr.update()
                return
        assert final is not None
        if final.refused:
            final = with_pending_note(final, service.embedding_progress().pending)
        chat[-1] = {"role": "assistant", "content": answer_markdown(final, turn_no)}
        sections = sections + [sources_html(final, turn_no, service.chunk, service.document_text)]
        yield "", chat, turns + [turn_record(final)], sections, panel_html(sections)

    def on_like(turns: list, data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = int(index) // 2
        if 0 <= turn < len(turns) and not turns[turn].get("error"):
            feedback.add("useful" if data.liked is True or data.liked == "Like" else "wrong", turns[turn])
            gr.Info("谢谢反馈，已记录。")

    def export(turns: list) -> gr.File:
        if not turns:
            raise gr.Error("还没有对话可以导出。")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path(tempfile.mkdtemp(prefix="policyqa-")) / f"policyqa-对话-{stamp}.md"
        path.write_text(conversation_markdown([t for t in turns if not t.get("error")]), encoding="utf-8")
        return gr.File(value=str(path), visible=True)

    def match(region: str, types: list[str], size: str, activities: list[str], rd_ratio: float | None,
              revenue: float | None, employees: float | None, categories: list[str]) -> str:
        profile = {
            "region": _chosen(region), "types": types or [], "activities": activities or [],
            # An empty number field arrives as None or 0: both mean "not stated".
            "size": "" if not size or size == "不清楚" else size, "rd_ratio": rd_ratio or None, "revenue": revenue or None,
            "employees": int(employees) if employees else None, "closed": True,
        }
        try:
            results = service.match(profile, categories or ())
        except PolicyQAError as exc:
            raise gr.Error(str(exc)) from exc
        return match_html(results, service.chunk, service.document_text)

    def targets(region: str, indicator: str, kind: str, year: str) -> str:
        kinds = {"目标": "target", "已达成": "achievement"}
        records = service.targets(region=_chosen(region), indicator=(indicator or "").strip(),
                                  kind=kinds.get(kind, ""), year=_chosen(year))
        return targets_html(records, service.chunk, service.document_text)

    def progress_outputs() -> tuple:
        """The vector progress bar, the last state it showed, and the timer that polls it:
        running while vectors are pending, stopped otherwise."""
        p = service.embedding_progress()
        return embedding_html(p), [p.done, p.total, p.running], gr.Timer(active=p.pending > 0)

    def unlock(pw: str) -> tuple:
        authorised(pw)
        documents = service.documents()
        return (gr.update(visible=True), docs_rows(documents), gr.update(choices=[d.source for d in documents]), "",
                *progress_outputs())

    def kb_changed(message: str) -> tuple:
        documents = service.documents()
        return (message, docs_rows(documents), gr.update(choices=[d.source for d in documents], value=[]),
                _status_md(service), *filter_updates(), *progress_outputs())

    def embedding_tick(pw: str, shown: list | None) -> tuple:
        """Every few seconds while the tab is open and vectors are pending: the bar, the
        table and the status line, refreshed only when the progress moved (a look at
        the manifest otherwise). The timer stops once nothing is pending."""
        if not password_ok(pw):  # the password field changed since the tab was opened
            return gr.skip(), gr.skip(), gr.skip(), shown, gr.Timer(active=False)
        p = service.embedding_progress()
        timer = gr.skip() if p.pending else gr.Timer(active=False)
        state = [p.done, p.total, p.running]
        if state == shown:
            return gr.skip(), gr.skip(), gr.skip(), shown, timer
        return embedding_html(p), docs_rows(service.documents()), _status_md(service), state, timer

    def upload(pw: str, files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple:
        authorised(pw)
        if not files:
            raise gr.Error("请先选择要上传的文件。")
        parts = []
        for i, f in enumerate(files):
            progress(i / len(files), desc=f"正在索引 {Path(f).name}（{i + 1}/{len(files)}）")
            try:
                parts.append(report_zh(service.add_files([Path(f)])))
            except PolicyQAError as exc:
                parts.append(f"- ❌ {escape_markdown(Path(f).name)}：{escape_markdown(str(exc))}")
        progress(1.0, desc="完成")
        return kb_changed("\n\n".join(parts))

    def remove(pw: str, sources: list[str] | None) -> tuple:
        authorised(pw)
        if not sources:
            raise gr.Error("请先选择要删除的文件。")
        try:
            removed = service.remove(list(sources))
        except PolicyQAError as exc:
            raise gr.Error(str(exc)) from exc
        return kb_changed("\n".join(f"- 已删除 {escape_markdown(s)}（{n} 个段落）" for s, n in removed.items()))

    def reingest(pw: str) -> tuple:
        authorised(pw)
        return kb_changed(report_zh(service.reingest()))

    def export_feedback(pw: str) -> gr.File:
        authorised(pw)
        out = Path(tempfile.mkdtemp(prefix="policyqa-")) / "policyqa-feedback.csv"
        feedback.export_csv(out)
        return gr.File(value=str(out), visible=True)

    with gr.Blocks(title="policyqa 政策文件问答") as demo:
        gr.Markdown("## 政策文件问答\n回答只依据已收录的政策文件，每个数字都标注出处；文件中没有的内容会明确说明。")
        status = gr.Markdown(_status_md(service), elem_id="pq-status")
        turns = gr.State([])
        sections = gr.State([])
        with gr.Tabs():
            with gr.Tab("问答"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="对话", height=520, elem_id="pq-chat",
                                             placeholder="请在下方输入问题，或点击示例问题。", buttons=["copy"])
                        with gr.Row():
                            question = gr.Textbox(show_label=False, scale=5, elem_id="pq-question", max_length=500,
                                                  placeholder="输入问题，例如：2025年全省新认定高新技术企业目标多少家？")
                            send = gr.Button("发送", variant="primary", scale=1, elem_id="pq-send")
                        gr.Examples(EXAMPLES, inputs=question, label="示例问题")
                        with gr.Accordion("按文件筛选", open=False):
                            with gr.Row():
                                region = gr.Dropdown([ALL], value=ALL, label="地区", allow_custom_value=True)
                                issuer = gr.Dropdown([ALL], value=ALL, label="发文机关", allow_custom_value=True)
                                year = gr.Dropdown([ALL], value=ALL, label="年份", allow_custom_value=True)
                                document = gr.Dropdown([ALL], value=ALL, label="文件", allow_custom_value=True)
                        with gr.Row():
                            new_chat = gr.Button("新对话")
                            export_btn = gr.Button("导出对话（Markdown）")
                        export_file = gr.File(label="导出的文件", interactive=False, visible=False)
                    with gr.Column(scale=2):
                        gr.Markdown("### 来源")
                        sources = gr.HTML(panel_html([]), elem_id="pq-sources")
            with gr.Tab("指标"):
                gr.Markdown("文件中写明的目标值和已达成数值，每条都链接到原文；同一指标有多个地区的目标时并列对比。")
                with gr.Row():
                    t_region = gr.Dropdown([ALL], value=ALL, label="地区", allow_custom_value=True, elem_id="pq-t-region")
                    t_indicator = gr.Textbox(label="指标关键词", placeholder="例如：高新技术企业、R&D、增加值占比",
                                             elem_id="pq-t-indicator")
                    t_kind = gr.Radio([ALL, "目标", "已达成"], value="目标", label="类型")
                    t_year = gr.Dropdown([ALL], value=ALL, label="年份", allow_custom_value=True)
                    t_btn = gr.Button("查询", variant="primary", elem_id="pq-t-go")
                t_out = gr.HTML('<div class="pq-empty">点击“查询”列出指标。</div>', elem_id="pq-t-out")
            with gr.Tab("政策匹配"):
                gr.Markdown("填写企业情况，列出文件中可能适用的扶持措施：每项写明已满足的条件、仍需确认的条件和原文出处。")
                with gr.Row():
                    with gr.Column(scale=2):
                        m_region = gr.Dropdown([ALL], value=ALL, label="所在地区", allow_custom_value=True,
                                               elem_id="pq-m-region")
                        m_types = gr.CheckboxGroup(list(VOCABULARY["types"]), label="企业类型与资质", elem_id="pq-m-types")
                        m_size = gr.Radio(["不清楚", *VOCABULARY["sizes"]], value="不清楚", label="企业规模")
                        m_acts = gr.CheckboxGroup(list(VOCABULARY["activities"]), label="正在开展的活动",
                                                  elem_id="pq-m-acts")
                        with gr.Row():
                            m_rd = gr.Number(None, label="研发投入占营收比重（%）", minimum=0, maximum=100)
                            m_rev = gr.Number(None, label="年营业收入（万元）", minimum=0)
                            m_emp = gr.Number(None, label="员工人数", minimum=0, precision=0)
                        m_cats = gr.CheckboxGroup(list(VOCABULARY["categories"]), label="只看这些类别（不选则全部）")
                        m_btn = gr.Button("匹配政策", variant="primary", elem_id="pq-m-go")
                    with gr.Column(scale=3):
                        m_out = gr.HTML('<div class="pq-empty">填写左侧信息后点击“匹配政策”。</div>', elem_id="pq-m-out")
            with gr.Tab("知识库"):
                gr.Markdown("管理已收录的文件需要管理员密码。")
                with gr.Row():
                    pw = gr.Textbox(type="password", label="管理员密码", elem_id="pq-password", scale=3)
                    unlock_btn = gr.Button("进入", scale=1)
                embed_shown = gr.State(None)  # the progress the tab last showed: [done, total, running]
                embed_timer = gr.Timer(EMBED_POLL_S, active=False)  # started by unlocking while vectors are pending
                with gr.Column(visible=False) as admin:
                    embed_progress = gr.HTML("", elem_id="pq-embedding")
                    docs = gr.Dataframe(
                        headers=DOCS_HEADERS, interactive=False, wrap=True, label="已收录的文件", elem_id="pq-docs",
                    )
                    files = gr.File(file_count="multiple", file_types=list(UPLOAD_SUFFIXES),
                                    label=f"上传文件（txt、md、pdf、docx、html，单个不超过 {settings.max_upload_mb:g} MB）")
                    upload_btn = gr.Button("上传并索引", variant="primary")
                    to_remove = gr.Dropdown([], multiselect=True, allow_custom_value=True, label="选择要删除的文件")
                    with gr.Row():
                        remove_btn = gr.Button("删除所选文件", variant="stop")
                        reingest_btn = gr.Button("重新索引全部文件")
                        feedback_btn = gr.Button("导出反馈（CSV）")
                    kb_log = gr.Markdown(elem_id="pq-kb-log")
                    feedback_file = gr.File(label="反馈下载", interactive=False, visible=False)

        chat_inputs = [question, chatbot, turns, sections, region, issuer, year, document]
        chat_outputs = [question, chatbot, turns, sections, sources]
        # The chat's own admission control answers overflow with a busy message, so
        # Gradio may run a few more handlers than there are generation slots.
        limit = settings.ui_concurrency + settings.ui_max_queue + 4
        send.click(respond, chat_inputs, chat_outputs, api_name="ask", concurrency_limit=limit)
        question.submit(respond, chat_inputs, chat_outputs, api_visibility="private", concurrency_limit=limit)
        chatbot.like(on_like, [turns], None, api_visibility="private")
        # The chat's own clear button must forget the turns and their sources too.
        chatbot.clear(lambda: ([], [], panel_html([])), None, [turns, sections, sources], api_visibility="private")
        new_chat.click(lambda: ([], [], [], panel_html([]), gr.File(value=None, visible=False)), None, [chatbot, turns, sections, sources, export_file],
                       api_visibility="private")
        export_btn.click(export, [turns], [export_file], api_name="export")
        progress_parts = [embed_progress, embed_shown, embed_timer]
        kb_outputs = [kb_log, docs, to_remove, status, region, issuer, year, document, *progress_parts]
        unlock_outputs = [admin, docs, to_remove, kb_log, *progress_parts]
        unlock_btn.click(unlock, [pw], unlock_outputs, api_name="unlock")
        pw.submit(unlock, [pw], unlock_outputs, api_visibility="private")
        # One tick at a time for the whole page: it is a manifest read, a table now and then.
        embed_timer.tick(embedding_tick, [pw, embed_shown], [embed_progress, docs, status, embed_shown, embed_timer],
                         api_visibility="private", concurrency_limit=1)
        upload_btn.click(upload, [pw, files], kb_outputs, api_name="upload", concurrency_limit=1)
        remove_btn.click(remove, [pw, to_remove], kb_outputs, api_name="remove", concurrency_limit=1)
        reingest_btn.click(reingest, [pw], kb_outputs, api_name="reingest", concurrency_limit=1)
        feedback_btn.click(export_feedback, [pw], [feedback_file], api_name="export_feedback")
        t_btn.click(targets, [t_region, t_indicator, t_kind, t_year], [t_out], api_name="targets")
        t_indicator.submit(targets, [t_region, t_indicator, t_kind, t_year], [t_out], api_visibility="private")
        m_btn.click(match, [m_region, m_types, m_size, m_acts, m_rd, m_rev, m_emp, m_cats], [m_out], api_name="match")
        def on_load() -> tuple:
            regions, issuers, years, documents = filter_updates()
            return _status_md(service), regions, issuers, years, documents, regions, regions, years

        demo.load(on_load, None, [status, region, issuer, year, document, m_region, t_region, t_year],
                  api_visibility="private")
    # Gradio's own queue only has to hold requests until the admission gate turns them
    # away with the Chinese busy message; its "Queue is full" is for floods alone.
    demo.queue(max_size=QUEUE_BACKSTOP, default_concurrency_limit=settings.ui_concurrency)
    return demo


def _error_turn(question: str, message: str) -> dict:
    return {"question": question, "answer": message, "refused": False, "citations": [], "error": True}


def admin_password(settings: Settings) -> tuple[str, bool]:
    """The configured password, or a fresh random one (True when generated)."""
    if settings.admin_password:
        return settings.admin_password, False
    return secrets.token_urlsafe(12), True


# Gradio keeps each visitor's session (turns, sources panel, a copy of every updated
# component: 0.3-1 MB per conversation here) until newer sessions push it out; its
# default of 10,000 sessions lets memory grow to gigabytes. Least recently used go first.
SESSIONS = 500


def launch(service: PolicyQA, host: str = "127.0.0.1", port: int = 7860, block: bool = True,
           sessions: int = SESSIONS) -> gr.Blocks:
    """Start the page over a built service (policyqa/app.py builds it). Listens on
    127.0.0.1 unless told otherwise, never shares, and serves no folder beyond
    Gradio's own upload cache."""
    settings = service.settings
    service.status()  # opens (and on a fresh clone builds) the index before the first visitor
    service.start_embedding()  # vectors an earlier ingest left to the background
    password, generated = admin_password(settings)
    if generated:
        print(f"knowledge-base tab password (set POLICYQA_ADMIN_PASSWORD to choose one): {password}",
              file=sys.stderr, flush=True)
    demo = build(service, password, FeedbackStore(settings.feedback_path()))
    demo.launch(
        server_name=host, server_port=port, share=False, inbrowser=False, show_error=False,
        max_file_size=f"{settings.max_upload_mb:g}mb", allowed_paths=[],
        blocked_paths=[str(settings.data_dir), str(settings.index_dir)],
        css=CSS, head=JS, theme=THEME, footer_links=["gradio"],
        prevent_thread_lock=not block, quiet=not block, state_session_capacity=sessions,
    )
    return demo
