"""The chat web page (Gradio 6): streamed, cited answers with a sources panel, filters,
feedback, export, and a password-protected knowledge-base tab.

This module lays the page out and wires its events; what the events do is in
`ui/handlers.py`. Everything either knows about documents and answers comes through
`rag.service.PolicyQA`.
"""

from __future__ import annotations

import secrets
import sys

import gradio as gr

from rag.service import UPLOAD_SUFFIXES, VOCABULARY, PolicyQA, Settings
from ui.feedback import FeedbackStore
from ui.handlers import ALL, BUSY, KEYWORD_ONLY_NOTE, Admission, ChatHandlers, with_pending_note
from ui.render import DOCS_HEADERS, panel_html

# Other modules and the tests import these from here.
__all__ = ["ALL", "BUSY", "KEYWORD_ONLY_NOTE", "SESSIONS", "Admission", "admin_password", "build", "launch",
           "with_pending_note"]

EXAMPLES = [
    "2025年全省新认定高新技术企业目标多少家？",
    "绍兴对企业研发费用有哪些扶持政策？",
    "浙江省和绍兴市的高新技术产业增加值占比目标分别是多少？",
    "丽水在企业数字化智能化改造方面有什么支持？",
]
QUEUE_BACKSTOP = 1000
EMBED_POLL_S = 3.0  # how often an open knowledge-base tab looks at the vector progress

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


def build(service: PolicyQA, password: str, feedback: FeedbackStore) -> gr.Blocks:
    settings = service.settings
    h = ChatHandlers(service, password, feedback, Admission(settings.ui_concurrency, settings.ui_max_queue))
    with gr.Blocks(title="policyqa 政策文件问答") as demo:
        gr.Markdown("## 政策文件问答\n回答只依据已收录的政策文件，每个数字都标注出处；文件中没有的内容会明确说明。")
        status = gr.Markdown(h.status_md(), elem_id="pq-status")
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
        send.click(h.respond, chat_inputs, chat_outputs, api_name="ask", concurrency_limit=limit)
        question.submit(h.respond, chat_inputs, chat_outputs, api_visibility="private", concurrency_limit=limit)
        chatbot.like(h.on_like, [turns], None, api_visibility="private")
        chatbot.clear(h.clear_chat, None, [turns, sections, sources], api_visibility="private")
        new_chat.click(h.new_chat, None, [chatbot, turns, sections, sources, export_file], api_visibility="private")
        export_btn.click(h.export, [turns], [export_file], api_name="export")
        progress_parts = [embed_progress, embed_shown, embed_timer]
        kb_outputs = [kb_log, docs, to_remove, status, region, issuer, year, document, *progress_parts]
        unlock_outputs = [admin, docs, to_remove, kb_log, *progress_parts]
        unlock_btn.click(h.unlock, [pw], unlock_outputs, api_name="unlock")
        pw.submit(h.unlock, [pw], unlock_outputs, api_visibility="private")
        # One tick at a time for the whole page: it is a manifest read, a table now and then.
        embed_timer.tick(h.embedding_tick, [pw, embed_shown], [embed_progress, docs, status, embed_shown, embed_timer],
                         api_visibility="private", concurrency_limit=1)
        upload_btn.click(h.upload, [pw, files], kb_outputs, api_name="upload", concurrency_limit=1)
        remove_btn.click(h.remove, [pw, to_remove], kb_outputs, api_name="remove", concurrency_limit=1)
        reingest_btn.click(h.reingest, [pw], kb_outputs, api_name="reingest", concurrency_limit=1)
        feedback_btn.click(h.export_feedback, [pw], [feedback_file], api_name="export_feedback")
        t_btn.click(h.targets, [t_region, t_indicator, t_kind, t_year], [t_out], api_name="targets")
        t_indicator.submit(h.targets, [t_region, t_indicator, t_kind, t_year], [t_out], api_visibility="private")
        m_btn.click(h.match, [m_region, m_types, m_size, m_acts, m_rd, m_rev, m_emp, m_cats], [m_out], api_name="match")
        demo.load(h.on_load, None, [status, region, issuer, year, document, m_region, t_region, t_year],
                  api_visibility="private")
    # Gradio's own queue only has to hold requests until the admission gate turns them
    # away with the Chinese busy message; its "Queue is full" is for floods alone.
    demo.queue(max_size=QUEUE_BACKSTOP, default_concurrency_limit=settings.ui_concurrency)
    return demo


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
