"""The project's own errors. The CLI and UI show their message and nothing else;
messages shown to users in the UI are Chinese, so each error carries one."""

from __future__ import annotations


class PolicyQAError(Exception):
    """Base class: anything the user can act on."""


class ConfigError(PolicyQAError):
    """A setting is missing or invalid."""


class IngestError(PolicyQAError):
    """One input file could not be ingested; the rest go on."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class IndexStoreError(PolicyQAError):
    """The index folder is missing, damaged, or built with other settings."""


class IndexLockedError(PolicyQAError):
    """Another ingest holds the index lock."""


class ModelError(PolicyQAError):
    """An embedding model or LLM could not be loaded or failed to run."""

