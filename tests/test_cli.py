"""The command line: the `search --batch` contract the evaluation tools depend on,
listing and removing documents, and errors shown as one clear line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from policyqa import cli
from policyqa.settings import SAMPLE_CORPUS


@pytest.fixture()
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.setenv("POLICYQA_DATA_DIR", str(tmp_path / "data"))
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    idx = tmp_path / "index"
    assert cli.main(["ingest", str(corpus), "--index", str(idx), "--embedding", "hash", "--quiet", "--wait"]) == 0
    return idx


def test_ingest_summary_names_the_bad_file(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = capsys.readouterr().out
    assert "5 added" in out and "skipped broken.pdf:" in out


def test_search_batch_contract(index: Path, tmp_path: Path) -> None:
    inp, out = tmp_path / "q.jsonl", tmp_path / "hits.jsonl"
    inp.write_text('{"id": "a", "question": "2025年全省新认定高新技术企业多少家"}\n{"id": 7, "question": "绍兴技术交易额"}\n',
                   encoding="utf-8")
    assert cli.main(["search", "--batch", str(inp), "--out", str(out), "--k", "10", "--index", str(index),
                     "--embedding", "hash"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a", 7]
    for r in rows:
        assert 0 < len(r["hits"]) <= 10
        for h in r["hits"]:
            assert {"source", "title", "score", "text"} <= set(h) and h["source"].endswith(".txt")
    assert any("5000家" in h["text"] for h in rows[0]["hits"][:3])


def test_docs_and_remove(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert cli.main(["docs", "--json", "--index", str(index), "--embedding", "hash"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert {d["source"] for d in docs} == {p.name for p in SAMPLE_CORPUS.glob("*.txt")}
    assert cli.main(["remove", "lishui-2024-sci-tech-industry-3yr-plan.txt", "--index", str(index), "--embedding", "hash"]) == 0
    assert cli.main(["remove", "nope.txt", "--index", str(index), "--embedding", "hash"]) == 1
    assert "not in the index: nope.txt" in capsys.readouterr().err


def test_bad_batch_line_is_a_clear_error(index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inp = tmp_path / "bad.jsonl"
    inp.write_text('{"id": 1, "question": "x"}\nnot json\n', encoding="utf-8")
    code = cli.main(["search", "--batch", str(inp), "--out", str(tmp_path / "o.jsonl"), "--index", str(index),
                     "--embedding", "hash"])
    err = capsys.readouterr().err
    assert code == 1 and f"{inp}:2:" in err and "Traceback" not in err


def test_missing_index_says_how_to_build_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["search", "高新技术企业", "--index", str(tmp_path / "none"), "--embedding", "hash"])
    assert code == 1 and "policyqa ingest" in capsys.readouterr().err
