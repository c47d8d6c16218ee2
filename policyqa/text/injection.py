"""Instruction-like text inside documents (prompt injection). Such text is content:
it is indexed and shown to users as text, but never put in front of an LLM as-is,
and ingest reports the file so an editor can look at it."""

from __future__ import annotations

import re

from policyqa.text.sentences import MIXED_SENTENCE

_PATTERNS = [
    r"(?:忽略|无视|忘记|忘掉|不要理会)(?:掉)?(?:以上|上述|之前|前面|先前|所有|全部|系统)?的?(?:所有|全部)?(?:指令|指示|提示|要求|规则|设定|内容)",
    r"(?:你现在是|从现在起你是|你将扮演|请扮演|扮演一个)",
    r"(?:系统提示词|system\s*prompt|开发者模式|developer\s*mode|越狱|jailbreak)",
    r"(?:泄露|透露|输出|打印|显示)(?:你的)?(?:系统)?(?:提示词|指令|设置|配置|密钥|api\s*key|密码)",
    r"ignore\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|above|prior|earlier)\s+(?:instructions|prompts|rules)",
    r"disregard\s+(?:all\s+|the\s+)?(?:previous|above|prior)",
    r"(?:new|updated)\s+instructions\s*:",
]
_RX = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
# Active markup is cut out as the element itself: it often has no sentence around it.
_MARKUP = re.compile(
    r"<\s*(script|iframe|object|embed|svg|img|style)\b[^>]*>(?:.*?<\s*/\s*\1\s*>)?|<\s*/\s*(?:script|iframe)\s*>",
    re.IGNORECASE | re.DOTALL,
)

REDACTED = "〔此处为疑似指令文本，已按文件内容处理，不予执行〕"


def injection_spans(text: str) -> list[tuple[int, int]]:
    """Spans of instruction-like text: whole sentences, or markup elements."""
    spans = [(m.start(), m.end()) for m in MIXED_SENTENCE.finditer(text) if m.group(0).strip() and _RX.search(m.group(0))]
    spans += [(m.start(), m.end()) for m in _MARKUP.finditer(text)]
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def redact_instructions(text: str) -> str:
    """The text with instruction-like sentences replaced by a neutral marker, for
    the LLM prompt only; citations still quote the original document."""
    out, last = [], 0
    for a, b in injection_spans(text):
        out.append(text[last:a])
        out.append(REDACTED)
        last = b
    out.append(text[last:])
    return "".join(out)
