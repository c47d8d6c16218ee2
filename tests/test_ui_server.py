"""The web page as a client sees it: a real Gradio server on 127.0.0.1, driven with
gradio_client. Ask, follow up, get citations; upload a file, ask about it, remove
it; anonymous clients cannot change the knowledge base."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from tests.support.corpus import SHAOXING
from tests.support.openai_stub import OpenAIStub
from tests.support.ui_server import PASSWORD, Server, start_server

ALL = "全部"
UPLOAD = "青田县2026年科技工作要点\n青田县2026年新认定科技型中小企业88家，培育省级研发机构12家。\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = start_server(tmp_path_factory.mktemp("ui"))
    yield srv
    srv.close()


def _ask(client: Client, question: str, chat: list | None = None, **filters: str) -> tuple[str, list, str]:
    f = [filters.get(k, ALL) for k in ("region", "issuer", "year", "document")]
    return client.predict(question, chat or [], *f, api_name="/ask")


def _text(message: dict) -> str:
    content = message["content"]
    return "".join(p.get("text", "") for p in content) if isinstance(content, list) else str(content)


def _index_files(srv: Server) -> dict[str, bytes]:
    return {str(p.relative_to(srv.settings.index_dir)): p.read_bytes()
            for p in sorted(srv.settings.index_dir.rglob("*")) if p.is_file() and p.name != "LOCK"}


def test_ask_and_follow_up_with_citations(server: Server) -> None:
    client = Client(server.url, verbose=False)
    _, chat, sources = _ask(client, "2025年全省新认定高新技术企业目标多少家？")
    answer = _text(chat[-1])
    assert "5000" in answer and "(#cite-1-1)" in answer
    assert re.search(r'<mark class="pq-span">[^<]*5000[^<]*</mark>', sources)
    _, chat, sources = _ask(client, "绍兴呢？", chat)
    assert len(chat) == 4
    assert "(#cite-2-1)" in _text(chat[-1])
    assert 'id="turn-2"' in sources and SHAOXING in sources.split('id="turn-1"')[0]
    out = client.predict(api_name="/export")
    exported = Path(out["value"] if isinstance(out, dict) else out).read_text(encoding="utf-8")
    assert "## 问 1：2025年全省新认定高新技术企业目标多少家？" in exported and "## 问 2：绍兴呢？" in exported
    assert "5000" in exported and "“" in exported  # quotes of the cited passages


def test_filters_restrict_the_documents(server: Server) -> None:
    client = Client(server.url, verbose=False)
    _, chat, sources = _ask(client, "高新技术企业培育目标是多少？", document=SHAOXING)
    cited = re.findall(r'<div class="pq-meta">([^<]*)</div>', sources.split('id="near-')[0])
    assert cited and all(SHAOXING in m for m in cited)


def test_question_not_in_documents_is_refused_with_nearest_passages(server: Server) -> None:
    client = Client(server.url, verbose=False)
    _, chat, sources = _ask(client, "2025年西藏自治区新认定高新技术企业目标多少家？")
    assert _text(chat[-1]).startswith("文件中未找到")
    assert "最接近的段落" in sources


def test_anonymous_clients_cannot_change_the_knowledge_base(server: Server, tmp_path: Path) -> None:
    client = Client(server.url, verbose=False)
    before = _index_files(server)
    doc = tmp_path / "evil.txt"
    doc.write_text(UPLOAD, encoding="utf-8")
    for call in (
        lambda: client.predict("", api_name="/unlock"),
        lambda: client.predict("guess", [handle_file(str(doc))], api_name="/upload"),
        lambda: client.predict("guess", [SHAOXING], api_name="/remove"),
        lambda: client.predict("guess", api_name="/reingest"),
        lambda: client.predict("", api_name="/export_feedback"),
    ):
        with pytest.raises(Exception, match="管理员密码错误"):
            call()
    assert _index_files(server) == before


def test_upload_ask_remove(server: Server, tmp_path: Path) -> None:
    client = Client(server.url, verbose=False)
    good = tmp_path / "qingtian-2026.txt"
    good.write_text(UPLOAD, encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    log, table, *_ = client.predict(PASSWORD, [handle_file(str(good)), handle_file(str(empty))], api_name="/upload")
    assert "新增 1 个" in log
    assert "empty.txt" in log and "空的" in log  # the bad file is named, with its reason
    assert "已可按关键词检索" in log and "向量正在后台计算" in log
    assert "qingtian-2026.txt" in [row[0] for row in table["data"]]
    vector = table["headers"].index("向量")
    # The background thread fills the vectors in: every file ends 就绪 and the bar gives way.
    deadline = time.monotonic() + 60
    while True:
        table, _, _, progress, *_ = client.predict(PASSWORD, api_name="/unlock")
        if {row[vector] for row in table["data"]} == {"就绪"}:
            break
        assert "<progress" in progress and time.monotonic() < deadline, (progress, table["data"])
        time.sleep(0.2)
    assert "全部文件已就绪" in progress

    _, chat, sources = _ask(client, "青田县2026年新认定科技型中小企业多少家？")
    assert "88" in _text(chat[-1]) and "qingtian-2026.txt" in sources

    log, table, *_ = client.predict(PASSWORD, ["qingtian-2026.txt"], api_name="/remove")
    assert "已删除 qingtian-2026.txt" in log
    assert "qingtian-2026.txt" not in [row[0] for row in table["data"]]
    _, chat, _ = _ask(client, "青田县2026年新认定科技型中小企业多少家？")
    assert _text(chat[-1]).startswith("文件中未找到")

    out = client.predict(PASSWORD, api_name="/export_feedback")
    header = Path(out["value"] if isinstance(out, dict) else out).read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("id,created,rating,question,answer")


def test_index_and_settings_are_not_served(server: Server) -> None:
    manifest = next(server.settings.index_dir.rglob("manifest.json"))
    for route in (f"gradio_api/file={manifest}", f"file={manifest}", "gradio_api/file=../../index/CURRENT"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server.url + route, timeout=10)
        assert err.value.code in (403, 404)


def test_answers_stream_piece_by_piece(tmp_path: Path) -> None:
    def reply(messages: list[dict]) -> str:
        user = messages[-1]["content"]
        n = next(m.group(1) for m in re.finditer(r"\[(\d+)\][^\[]*", user) if "5000家" in m.group(0))
        return f"全省新认定高新技术企业5000家[{n}]。"

    with OpenAIStub(reply) as stub:
        srv = start_server(tmp_path, llm="openai", openai_base_url=stub.base_url, openai_model="stub")
        try:
            client = Client(srv.url, verbose=False)
            job = client.submit("2025年全省新认定高新技术企业目标多少家？", [], ALL, ALL, ALL, ALL, api_name="/ask")
            final = job.result()
            partials = [_text(out[1][-1]) for out in job.outputs()[:-1] if out[1]]
        finally:
            srv.close()
    assert any(p.endswith("▌") for p in partials)  # shown while it was being written
    assert "5000" in _text(final[1][-1]) and "(#cite-1-1)" in _text(final[1][-1])


def test_policy_matching_form(server: Server) -> None:
    client = Client(server.url, verbose=False)
    html = client.predict("绍兴市", ["规上工业企业"], "不清楚", ["研发投入"], 3.0, None, None, [], api_name="/match")
    cards = re.findall(r'<details class="pq-card" id="match-\d+"', html)
    assert cards, html[:300]
    assert SHAOXING in html and "lishui" not in html  # a Shaoxing enterprise sees no Lishui programme
    assert "✔" in html and '<mark class="pq-span">' in html  # criteria met, and the cited span
    with pytest.raises(Exception, match="不存在的类型"):  # refused, not matched as nothing
        client.predict("绍兴市", ["不存在的类型"], "不清楚", [], None, None, None, [], api_name="/match")


def test_targets_table_and_comparison(server: Server) -> None:
    client = Client(server.url, verbose=False)
    html = client.predict(ALL, "高新技术产业增加值", "目标", ALL, api_name="/targets")
    assert "各地区目标对比" in html
    compare = html.split('class="pq-table pq-compare"')[1].split("</table>")[0]
    assert "浙江省" in compare and "绍兴市" in compare
    assert "67.5%" in compare and "65%" in compare
    # Every row links to a card whose marked span states the row's value.
    rows = re.findall(r'<tr><td>[^<]*</td><td>([^<]*)</td>.*?href="#tgt-(\d+)"', html)
    assert rows
    for value, i in rows:
        card = html.split(f'id="tgt-{i}"')[1].split("</details>")[0]
        assert value in re.search(r'<mark class="pq-span">([^<]*)</mark>', card).group(1)
    only = client.predict("绍兴市", "", "目标", ALL, api_name="/targets")
    assert "绍兴市" in only and "<td>丽水市</td>" not in only
