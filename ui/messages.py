"""Chinese wording for what the page reports about files. Loader reasons are written
in English for the CLI and logs; the page shows them in Chinese, with the English
detail kept in brackets for whoever debugs."""

from __future__ import annotations

from rag.service import IngestError, IngestReport

# (English fragment of a loader/pipeline reason, Chinese explanation), first match wins.
REASONS = (
    ("file not found", "文件不存在"),
    ("empty file", "文件是空的"),
    ("too large", "文件超过大小上限"),
    ("binary content", "文件是二进制内容，不是文本"),
    ("binary or garbled", "文件内容是二进制或乱码，不是可读的文本"),
    ("cannot decode", "无法识别文本编码"),
    ("encrypted PDF", "PDF 已加密，需要密码"),
    ("cryptography", "PDF 已加密，缺少解密组件"),
    ("pages not read", "扫描件有页面未做 OCR 识别（超过页数或时间上限），其余页面已导入"),
    ("OCR is not available", "PDF 没有可用的文字层，且 OCR 组件不可用"),
    ("OCR is turned off", "PDF 没有可用的文字层，且 OCR 已关闭（POLICYQA_OCR_MAX_PAGES=0）"),
    ("no text layer", "PDF 没有文字层（可能是扫描件），需要先做 OCR"),
    ("text layer is garbled", "PDF 文字层是乱码（字体缺少 Unicode 映射），需要 OCR"),
    ("took longer", "PDF 解析超时，已停止"),
    ("CPU time", "PDF 解析超时，已停止"),
    ("MB of memory", "PDF 解析所需内存超过上限"),
    ("pages, over the limit", "PDF 页数超过上限"),
    ("parser process", "PDF 解析进程出错"),
    ("corrupt PDF", "PDF 文件已损坏"),
    (".doc file", "这是旧版 Word .doc 文件，请另存为 .docx"),
    ("zip bomb", "DOCX 解压后过大，疑似压缩炸弹"),
    ("corrupt DOCX", "DOCX 文件已损坏"),
    ("DOCX has no text", "DOCX 中没有文字"),
    ("cannot parse HTML", "无法解析 HTML"),
    ("HTML has no text", "HTML 中没有正文"),
    ("unsupported file type", "不支持的文件类型（支持 txt、md、pdf、docx、html）"),
    ("no text left", "清洗后没有正文"),
    ("清洗后没有", "清洗后没有正文"),
    ("duplicate source", "与同一批中的另一文件同名"),
    ("prompt injection", "含有疑似指令注入的段落：已作为普通内容索引，不会被当作指令执行"),
)


def reason_zh(error: IngestError) -> str:
    for fragment, zh in REASONS:
        if fragment.lower() in error.reason.lower():
            return f"{zh}（{error.reason}）"
    return f"无法导入（{error.reason}）"


def report_zh(report: IngestReport) -> str:
    """An ingest report as the knowledge-base tab shows it (Markdown, names escaped)."""
    from ui.render import escape_markdown as esc

    lines = [
        f"新增 {len(report.added)} 个、更新 {len(report.replaced)} 个、未变 {len(report.unchanged)} 个、"
        f"失败 {len(report.skipped)} 个文件；新增 {report.chunks_added} 个段落。"
        f"索引现有 {report.total_documents} 个文件、{report.total_chunks} 个段落。"
    ]
    if report.chunks_pending:  # saved without vectors: found by keyword until the background embedder is done
        lines[0] += (
            f"新增或更新的文件现在已可按关键词检索；知识库中 {report.chunks_pending} 个段落的向量正在后台计算，"
            "完成前这些段落不参与语义检索（进度见上方，完成后“向量”一栏显示“就绪”）。"
        )
    lines += [f"- ❌ {esc(e.source)}：{esc(reason_zh(e))}" for e in report.skipped]
    lines += [f"- ⚠️ {esc(e.source)}：{esc(reason_zh(e))}" for e in report.warnings]
    return "\n".join(lines)
