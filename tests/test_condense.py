"""Follow-ups made standalone from the previous question, by rule."""

from __future__ import annotations

import pytest

from ingest.tokenize import Tokenizer
from rag.condense import Condenser


@pytest.fixture(scope="module")
def condenser() -> Condenser:
    return Condenser(Tokenizer())


@pytest.mark.parametrize(("previous", "follow_up", "expected"), [
    # a new subject replaces the old one
    ("绍兴2025年新认定高新技术企业多少家？", "那科技型中小企业呢？", "绍兴2025年新认定科技型中小企业多少家？"),
    # a new place or year replaces the old one
    ("全省2025年新认定高新技术企业多少家？", "那绍兴呢？", "绍兴2025年新认定高新技术企业多少家？"),
    ("2025年全省新认定高新技术企业多少家？", "2024年呢？", "2024年全省新认定高新技术企业多少家？"),
    # the province or the city as a whole replaces the place asked about before
    ("绍兴今年要新增多少家高新技术企业？", "那全省呢？", "全省今年要新增多少家高新技术企业？"),
    ("丽水市2024年规上企业研发活动覆盖率目标是多少？", "省里呢？", "全省2024年规上工业企业研发活动覆盖率目标是多少？"),
    ("青田县今年技术合同成交额目标多少？", "那全市呢？", "全市今年技术合同成交额目标多少？"),
    # not a follow-up: unchanged
    ("绍兴2025年新认定高新技术企业多少家？", "2025年全省新认定高新技术企业目标多少家？",
     "2025年全省新认定高新技术企业目标多少家？"),
])
def test_standalone(condenser: Condenser, previous: str, follow_up: str, expected: str) -> None:
    assert condenser.standalone(follow_up, [[previous, ""]]) == expected
