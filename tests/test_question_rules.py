"""Rules that read a question: several parts, a list, traditional characters, places."""

from __future__ import annotations

import pytest

from policyqa.text.places import divisions, province_of
from ingest.tokenize import Tokenizer
from rag.evidence import (
    EvidenceScorer,
    asks_date,
    asks_for_quantity,
    asks_list,
    expected_units,
    is_multipart,
    needs_figure,
    question_places,
)
from policyqa.text.characters import simplified


@pytest.mark.parametrize(("question", "expected"), [
    ("省里今年新认定的国家企业技术中心和省级企业技术中心，各打算搞多少家？", True),
    ("绍兴高新技术产业投资今年的增速和占固投的比重，分别定了多少？", True),
    ("省科创母基金眼下有多大盘子？今年准备扩到多少？", True),
    ("2025年全省新认定高新技术企业目标多少家？", False),
    ("浙科提〔2025〕315号是哪个单位发的？", False),
    ("浙科提〔2025〕315号是哪个单位发的？答复的是哪号提案？", True),  # two questions in one turn
    ("是吗？", False),
])
def test_is_multipart(question: str, expected: bool) -> None:
    assert is_multipart(question) is expected


@pytest.mark.parametrize(("question", "expected"), [
    ("省级制造业中试平台准备聚焦哪几个产业集群领域布局？", True),
    ("省里组建的专班下面分了哪几个组？", True),
    ("绍兴科技局今年说要对标学习哪些地方？", True),
    ("海关如何保障防控物资快速通关？", True),  # the steps follow their lead too
    ("2025年全省新认定高新技术企业目标多少家？", False),
])
def test_asks_list(question: str, expected: bool) -> None:
    assert asks_list(question) is expected


@pytest.mark.parametrize(("question", "quantity"), [
    ("湖北开放了几个方舱医院？", True),
    ("今年计划新认定多少家高新技术企业？", True),
    ("应急响应分为哪几个等级？", False),  # which ones: a list, not a count
    ("复工审批需要哪几项材料？", False),
    ("有哪些支持政策？", False),
])
def test_a_quantity_question_needs_a_figure(question: str, quantity: bool) -> None:
    assert asks_for_quantity(question) is quantity and needs_figure(question) is quantity


@pytest.mark.parametrize(("question", "units"), [
    ("港口连夜抢卸了多少吨物资？", {"吨"}),  # any measure word the figure rules know
    ("已经开放了多少张床位？", {"张"}),
    ("需要多少名志愿者？", {"人"}),  # 名 counts people
    ("临时号牌有效期是多少天？", {"天"}),
    ("补助多少万元？", {"元"}),
    ("每个县至少要立几个项目？", {"个", "项", "种", "类"}),  # generic measure words stand for one another
    ("几月几日开始申报？", set()),  # a date, not a count
    ("应急响应分为哪几个等级？", set()),
    ("有哪些支持政策？", set()),
])
def test_expected_units(question: str, units: set[str]) -> None:
    assert expected_units(question) == units


@pytest.mark.parametrize(("question", "expected"), [
    ("平台于什么时间正式上线？", True),
    ("申报截止时间是哪一天？", True),
    ("补贴标准是多少？", False),
])
def test_asks_date(question: str, expected: bool) -> None:
    assert asks_date(question) is expected


@pytest.mark.parametrize(("question", "terms"), [
    # interrogatives and colloquial fillers say how it is asked, not what about
    ("大家一直说的那个稳岗返还，到底怎么申请？", {"稳岗返还", "申请"}),
    ("咱们现在通过哪几个渠道办理社保业务？", {"通过", "渠道", "办理", "社保", "业务"}),
])
def test_question_terms_leave_out_how_it_is_asked(question: str, terms: set[str]) -> None:
    got = set(EvidenceScorer(Tokenizer()).terms(question))
    assert terms <= got and not got & {"大家", "一直", "说", "那个", "到底", "怎么", "咱们", "现在", "哪几个", "几个"}


def test_question_bigrams_keep_content_words_holding_a_filler_character() -> None:
    grams = EvidenceScorer(Tokenizer()).question_bigrams("咱们通过哪些渠道说明情况？")
    assert {"通过", "说明"} <= grams and "咱们" not in grams


@pytest.mark.parametrize(("question", "expected"), [
    ("紹興每萬名就業人員中R&D人員數的目標是多少？", "绍兴每万名就业人员中R&D人员数的目标是多少？"),
    ("省科技廳答覆第1號提案的聯繫人是誰？", "省科技厅答复第1号提案的联系人是谁？"),
    ("2025年全省新认定高新技术企业目标多少家？", "2025年全省新认定高新技术企业目标多少家？"),  # simplified stays
    ("", ""),
])
def test_simplified(question: str, expected: str) -> None:
    assert simplified(question) == expected


@pytest.mark.parametrize(("question", "places"), [
    ("本溪市对复工企业有哪些补贴？", ["本溪市"]),
    ("德阳有什么政务服务热线？", ["德阳市"]),  # any prefecture-level city, by its stem
    ("吉林省出台了哪些企业帮扶政策？", ["吉林省"]),  # the province, not also 吉林市
    ("绍兴和丽水的目标分别是多少？", ["绍兴市", "丽水市"]),
    ("来宾可以参加吗？", []),  # a city name that is also a word needs its 市
    ("来宾市的补贴是多少？", ["来宾市"]),
    ("2025年全省新认定高新技术企业目标多少家？", []),
])
def test_question_places(question: str, places: list[str]) -> None:
    assert question_places(question) == places


def test_the_gazetteer_knows_every_level() -> None:
    levels = {d.level for d in divisions()}
    assert levels == {"province", "city", "county"}
    assert province_of()["泰州市"] == "江苏省" and province_of()["本溪满族自治县"] == "辽宁省"
    assert len([d for d in divisions() if d.level == "city"]) > 300


@pytest.mark.parametrize(("question", "expected"), [
    ("How many new high-tech enterprises does Zhejiang plan to certify in 2025?", True),
    ("What is the R&D target?", True),
    ("2025年R&D经费占GDP比重目标是多少？", False),
    ("DCMM是什么？", False),
    ("2025?", False),
])
def test_foreign(question: str, expected: bool) -> None:
    from policyqa.text.characters import foreign
    assert foreign(question) is expected


@pytest.mark.parametrize(("question", "expected"), [
    ("听说丽水今年要新增800家科技型中小企业，是真的吗？", True),
    ("全省技术交易额目标是6000亿元吧？", True),
    ("我记得研发投入要增长20%，没记错吧？", True),
    ("2025年全省新认定高新技术企业目标多少家？", False),
    ("绍兴对企业研发费用有哪些扶持政策？", False),
])
def test_asks_confirmation(question: str, expected: bool) -> None:
    from rag.evidence import asks_confirmation

    assert asks_confirmation(question) is expected
