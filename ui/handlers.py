"""What the page's events do: each handler is a method of `ChatHandlers`, called by
Gradio with the event's inputs in order and returning one value per output.

Gradio reads the methods' type hints at run time (a `gr.LikeData` argument is filled
in from the event, a `gr.Progress()` default gets the progress bar), so every name in
a handler's signature must be importable here, not only under TYPE_CHECKING.
"""

from __future__ import annotations

import hmac
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from rag.service import Answer, Filters, PolicyQA, PolicyQAError
from ui.feedback import FeedbackStore
from ui.messages import report_zh
from ui.render import (
    answer_markdown,
    conversation_markdown,
    docs_rows,
    embedding_html,
    embedding_status,
    escape_markdown,
    match_html,
    panel_html,
    sources_html,
    streaming_markdown,
    targets_html,
    turn_record,
)

BUSY = "当前提问的人较多，系统繁忙，请稍后再试。"
WRONG_PASSWORD_DELAY_S = 0.25
ALL = "全部"
# Added to a refusal while some chunks have no vector yet: those are found by keyword only.
KEYWORD_ONLY_NOTE = "部分新收录文件的向量仍在后台计算，这些文件目前只能按关键词检索；可换用文件中的原词提问，或稍后再试。"


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


def with_pending_note(answer: Answer, pending: int) -> Answer:
    """A refusal given while chunks wait for their vectors says so: "not found" then
    means "not found by keyword" for those files."""
    if not answer.refused or not pending or KEYWORD_ONLY_NOTE in answer.notes:
        return answer
    return replace(answer, notes=answer.notes + (KEYWORD_ONLY_NOTE,))


def _error_turn(question: str, message: str) -> dict:
    return {"question": question, "answer": message, "refused": False, "citations": [], "error": True}


class ChatHandlers:
    """One instance serves every visitor: per-visitor state (turns, sources panel) comes
    in and goes out through the arguments, so nothing here may hold it."""

    def __init__(self, service: PolicyQA, password: str, feedback: FeedbackStore, admission: Admission) -> None:
        self.service = service
        self.feedback = feedback
        self.admission = admission
        self._password = password

    # -- shared by several handlers --------------------------------------------------------
    def status_md(self) -> str:
        s = self.service.status()
        model = f"（{s.model}）" if s.model else ""
        return (f"**回答方式：** {s.backend_label}{model} · **检索模型：** {s.embedding} · **知识库：** {s.documents} 个文件，"
                f"{s.chunks} 个段落{embedding_status(self.service.embedding_progress())}")

    def password_ok(self, pw: str | None) -> bool:
        if not self._password or not hmac.compare_digest((pw or "").encode(), self._password.encode()):
            time.sleep(WRONG_PASSWORD_DELAY_S)  # slows guessing down
            return False
        return True

    def authorised(self, pw: str | None) -> None:
        if not self.password_ok(pw):
            raise gr.Error("管理员密码错误。", print_exception=False)

    def filter_updates(self) -> tuple[Any, ...]:
        docs = self.service.documents()
        return (
            gr.update(choices=_choices({d.region for d in docs})),
            gr.update(choices=_choices({d.issuer for d in docs})),
            gr.update(choices=_choices({d.date[:4] for d in docs})),
            gr.update(choices=[ALL] + [d.source for d in docs]),
        )

    def progress_outputs(self) -> tuple:
        """The vector progress bar, the last state it showed, and the timer that polls it:
        running while vectors are pending, stopped otherwise."""
        p = self.service.embedding_progress()
        return embedding_html(p), [p.done, p.total, p.running], gr.Timer(active=p.pending > 0)

    def kb_changed(self, message: str) -> tuple:
        documents = self.service.documents()
        return (message, docs_rows(documents), gr.update(choices=[d.source for d in documents], value=[]),
                self.status_md(), *self.filter_updates(), *self.progress_outputs())

    # -- the chat tab ----------------------------------------------------------------------
    def on_load(self) -> tuple:
        regions, issuers, years, documents = self.filter_updates()
        return self.status_md(), regions, issuers, years, documents, regions, regions, years

    def respond(self, question: str, chat: list, turns: list, sections: list, region: str, issuer: str, year: str,
                document: str) -> Iterator[tuple]:
        question = (question or "").strip()
        if not question:
            yield gr.update(), chat, turns, sections, gr.update()
            return
        chat = chat + [{"role": "user", "content": escape_markdown(question)},
                       {"role": "assistant", "content": "正在检索文件…"}]
        yield "", chat, turns, sections, gr.update()
        turn_no = len(turns) + 1
        with self.admission.enter() as admitted:
            if not admitted:
                chat[-1] = {"role": "assistant", "content": BUSY}
                yield "", chat, turns + [_error_turn(question, BUSY)], sections, gr.update()
                return
            history = [[t["question"], t["answer"]] for t in turns if not t.get("error")]
            final: Answer | None = None
            partial = ""
            try:
                for event in self.service.ask(question, history, _filters(region, issuer, year, document)):
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
            final = with_pending_note(final, self.service.embedding_progress().pending)
        chat[-1] = {"role": "assistant", "content": answer_markdown(final, turn_no)}
        sections = sections + [sources_html(final, turn_no, self.service.chunk, self.service.document_text)]
        yield "", chat, turns + [turn_record(final)], sections, panel_html(sections)

    def on_like(self, turns: list, data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = int(index) // 2
        if 0 <= turn < len(turns) and not turns[turn].get("error"):
            self.feedback.add("useful" if data.liked is True or data.liked == "Like" else "wrong", turns[turn])
            gr.Info("谢谢反馈，已记录。")

    def clear_chat(self) -> tuple:
        """The chat's own clear button must forget the turns and their sources too."""
        return [], [], panel_html([])

    def new_chat(self) -> tuple:
        return [], [], [], panel_html([]), gr.File(value=None, visible=False)

    def export(self, turns: list) -> gr.File:
        if not turns:
            raise gr.Error("还没有对话可以导出。")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path(tempfile.mkdtemp(prefix="policyqa-")) / f"policyqa-对话-{stamp}.md"
        path.write_text(conversation_markdown([t for t in turns if not t.get("error")]), encoding="utf-8")
        return gr.File(value=str(path), visible=True)

    # -- the targets and matching tabs -----------------------------------------------------
    def match(self, region: str, types: list[str], size: str, activities: list[str], rd_ratio: float | None,
              revenue: float | None, employees: float | None, categories: list[str]) -> str:
        profile = {
            "region": _chosen(region), "types": types or [], "activities": activities or [],
            # An empty number field arrives as None or 0: both mean "not stated".
            "size": "" if not size or size == "不清楚" else size, "rd_ratio": rd_ratio or None, "revenue": revenue or None,
            "employees": int(employees) if employees else None, "closed": True,
        }
        try:
            results = self.service.match(profile, categories or ())
        except PolicyQAError as exc:
            raise gr.Error(str(exc)) from exc
        return match_html(results, self.service.chunk, self.service.document_text)

    def targets(self, region: str, indicator: str, kind: str, year: str) -> str:
        kinds = {"目标": "target", "已达成": "achievement"}
        records = self.service.targets(region=_chosen(region), indicator=(indicator or "").strip(),
                                       kind=kinds.get(kind, ""), year=_chosen(year))
        return targets_html(records, self.service.chunk, self.service.document_text)

    # -- the knowledge-base tab: every handler checks the password itself ------------------
    def unlock(self, pw: str) -> tuple:
        self.authorised(pw)
        documents = self.service.documents()
        return (gr.update(visible=True), docs_rows(documents), gr.update(choices=[d.source for d in documents]), "",
                *self.progress_outputs())

    def embedding_tick(self, pw: str, shown: list | None) -> tuple:
        """Every few seconds while the tab is open and vectors are pending: the bar, the
        table and the status line, refreshed only when the progress moved (a look at
        the manifest otherwise). The timer stops once nothing is pending."""
        if not self.password_ok(pw):  # the password field changed since the tab was opened
            return gr.skip(), gr.skip(), gr.skip(), shown, gr.Timer(active=False)
        p = self.service.embedding_progress()
        timer = gr.skip() if p.pending else gr.Timer(active=False)
        state = [p.done, p.total, p.running]
        if state == shown:
            return gr.skip(), gr.skip(), gr.skip(), shown, timer
        return embedding_html(p), docs_rows(self.service.documents()), self.status_md(), state, timer

    def upload(self, pw: str, files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple:
        self.authorised(pw)
        if not files:
            raise gr.Error("请先选择要上传的文件。")
        parts = []
        for i, f in enumerate(files):
            progress(i / len(files), desc=f"正在索引 {Path(f).name}（{i + 1}/{len(files)}）")
            try:
                parts.append(report_zh(self.service.add_files([Path(f)])))
            except PolicyQAError as exc:
                parts.append(f"- ❌ {escape_markdown(Path(f).name)}：{escape_markdown(str(exc))}")
        progress(1.0, desc="完成")
        return self.kb_changed("\n\n".join(parts))

    def remove(self, pw: str, sources: list[str] | None) -> tuple:
        self.authorised(pw)
        if not sources:
            raise gr.Error("请先选择要删除的文件。")
        try:
            removed = self.service.remove(list(sources))
        except PolicyQAError as exc:
            raise gr.Error(str(exc)) from exc
        return self.kb_changed("\n".join(f"- 已删除 {escape_markdown(s)}（{n} 个段落）" for s, n in removed.items()))

    def reingest(self, pw: str) -> tuple:
        self.authorised(pw)
        return self.kb_changed(report_zh(self.service.reingest()))

    def export_feedback(self, pw: str) -> gr.File:
        self.authorised(pw)
        out = Path(tempfile.mkdtemp(prefix="policyqa-")) / "policyqa-feedback.csv"
        self.feedback.export_csv(out)
        return gr.File(value=str(out), visible=True)
