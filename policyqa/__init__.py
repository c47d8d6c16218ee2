"""policyqa: cited question answering over Chinese government policy documents."""

__version__ = "0.1.0"
