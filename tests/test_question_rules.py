"""Rules that read a question: several parts, a list, traditional characters."""

from __future__ import annotations

import pytest

from rag.evidence import asks_list, is_multipart
from rag.normalize import simplified


@pytest.mark.parametrize(("question", "expected"), [
    ("省里今年新认定的国家企业技术中心和省级企业技术中心，各打算搞多少家？", True),
    ("绍兴高新技术产业投资今年的增速和占固投的比重，分别定了多少？", True),
    ("省科创母基金眼下有多大盘子？今年准备扩到多少？", True),
    ("2025年全省新认定高新技术企业目标多少家？", False),
    ("浙科提〔2025〕315号是哪个单位发的？", False),
])
def test_is_multipart(question: str, expected: bool) -> None:
    assert is_multipart(question) is expected


@pytest.mark.parametrize(("question", "expected"), [
    ("省级制造业中试平台准备聚焦哪几个产业集群领域布局？", True),
    ("省里组建的专班下面分了哪几个组？", True),
    ("绍兴科技局今年说要对标学习哪些地方？", True),
    ("2025年全省新认定高新技术企业目标多少家？", False),
])
def test_asks_list(question: str, expected: bool) -> None:
    assert asks_list(question) is expected


@pytest.mark.parametrize(("question", "expected"), [
    ("紹興每萬名就業人員中R&D人員數的目標是多少？", "绍兴每万名就业人员中R&D人员数的目标是多少？"),
    ("省科技廳答覆第1號提案的聯繫人是誰？", "省科技厅答复第1号提案的联系人是谁？"),
    ("2025年全省新认定高新技术企业目标多少家？", "2025年全省新认定高新技术企业目标多少家？"),  # simplified stays
    ("", ""),
])
def test_simplified(question: str, expected: str) -> None:
    assert simplified(question) == expected
