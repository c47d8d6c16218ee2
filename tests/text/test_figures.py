"""policyqa.text.figures: finding figures in Chinese policy text and checking them against passages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyqa.text.figures import (
    Figure,
    extract_figures,
    is_date_like,
    normalise,
    supported,
    unsupported_figures,
)


def keys(text: str) -> list[tuple[float, str]]:
    return [normalise(f) for f in extract_figures(text)]


def one(text: str) -> Figure:
    figs = extract_figures(text)
    assert len(figs) == 1, figs
    return figs[0]


# --------------------------------------------------------------------------------
# extraction: real phrases from the corpus


def test_enterprise_counts_with_wan():
    text = "全省新认定高新技术企业5000家、科技型中小企业1.2万家、技术先进型服务企业20家"
    figs = extract_figures(text)
    assert [(f.value, f.unit) for f in figs] == [(5000, "家"), (12000, "家"), (20, "家")]
    assert [f.text for f in figs] == ["5000家", "1.2万家", "20家"]
    for f in figs:
        assert text[f.start : f.end] == f.text
        assert f.kind == "quantity"


def test_percentage_with_comparator():
    f = one("占规上工业比重超过67.5%")
    assert (f.value, f.unit, f.comparator, f.text) == (67.5, "%", ">", "67.5%")


def test_percentage_approx_suffix():
    f = one("占固定资产比重16%左右")
    assert (f.value, f.unit, f.comparator) == (16, "%", "~")


def test_person_years_and_rate_denominator_skipped():
    # 每万名 is a denominator, not a figure; 人年 is one unit, not 人 + 年
    f = one("每万名就业人员中R&D人员数达260人年")
    assert (f.value, f.unit) == (260, "人年")


def test_spaced_multiplier_and_compound_unit():
    f = one("年度培训 1 万人次")
    assert (f.value, f.unit, f.text) == (10000, "人次", "1 万人次")


def test_multiplier_unit_broken_across_lines():
    f = one("科技型中小企业 1.2 万\n家")
    assert (f.value, f.unit) == (12000, "家")


def test_document_number_skipped():
    assert extract_figures("浙科提〔2025〕315号") == []
    assert extract_figures("浙政办发(2025)12号") == []


def test_session_and_proposal_ordinals_skipped():
    assert extract_figures("省政协十三届三次会议第1号提案的答复") == []


@pytest.mark.parametrize(
    "phrase",
    ["一批", "打造一批科创平台", "三位一体", "“三位一体”科技成果转化体系", "一体推进", "统一",
     "第一", "全国第一方阵", "一是加强统筹推进", "二是加强协调联络", "两新深度融合", "“两新”政策",
     "十大创新基地", "“十五五”发展规划", "位居全国第四", "数量居全国第2", "第九届", "十链百场万企",
     "一、前期工作情况", "（三）加快科技成果转化应用", "(1)", "一校一策", "一站式"],
)  # fmt: skip
def test_words_with_numerals_are_not_figures(phrase):
    assert extract_figures(phrase) == []


def test_headings_skipped_but_body_figures_kept():
    text = "1. 深化教科人一体改革。\n2、优化产教协同育人机制，新建平台10家。\n12. 全链条加强关键技术攻关"
    assert keys(text) == [(10, "家")]


def test_citation_markers_skipped():
    assert keys("全省新认定高新技术企业5000家[1]。") == [(5000, "家")]
    assert keys("增加值占比超过67.5%［2］【3】") == [(67.5, "%")]


def test_clock_time_skipped_iso_date_kept():
    figs = extract_figures("发布日期:2025-03-11 14:51 浏览次数:")
    assert [(f.value, f.unit, f.kind) for f in figs] == [(2025, "年", "year"), (311, "月日", "date")]


# --------------------------------------------------------------------------------
# numbers, multipliers, Chinese numerals


@pytest.mark.parametrize(
    "text,value,unit",
    [
        ("1,200家", 1200, "家"),
        ("１２００家", 1200, "家"),
        ("１，２００家", 1200, "家"),
        ("67.5％", 67.5, "%"),
        ("６７．５％", 67.5, "%"),
        ("百分之五", 5, "%"),
        ("百分之六十七点五", 67.5, "%"),
        ("百分之百", 100, "%"),
        ("千分之三", 3, "‰"),
        ("ESI全球前1‰", 1, "‰"),
        ("1.2万家", 12000, "家"),
        ("5000万元", 50_000_000, "元"),
        ("5千万元以上", 50_000_000, "元"),
        ("2亿元", 200_000_000, "元"),
        ("1万亿元", 1e12, "元"),
        ("4.67万亿元", 4.67e12, "元"),
        ("五千家", 5000, "家"),
        ("三百亿元", 3e10, "元"),
        ("两百家", 200, "家"),
        ("十五家", 15, "家"),
        ("一万二千", 12000, ""),
        ("一点二万家", 12000, "家"),
        ("两篇大文章", 2, "篇"),
        ("2个百分点以上", 2, "百分点"),
        ("两个百分点", 2, "百分点"),
        ("互聘科研人员540名", 540, "人"),
        ("认定人才4.2万名", 42000, "人"),
        ("100MW光伏", 100, "MW"),
        ("40周岁以下", 40, "周岁"),
        ("6个月", 6, "个月"),
        ("增长2倍", 2, "倍"),
    ],
)
def test_value_and_unit(text, value, unit):
    f = one(text)
    assert f.value == pytest.approx(value)
    assert f.unit == unit
    assert normalise(f) == (pytest.approx(value), unit)


def test_bare_yi_is_an_article_but_yi_wan_is_a_figure():
    assert extract_figures("建设一个平台，打造一批企业") == []
    assert keys("一万家") == [(10000, "家")]


def test_vague_chinese_quantities_skipped():
    assert extract_figures("数十家、几十家、三四家、二三十家、七八个") == []
    assert [(f.value, f.comparator) for f in extract_figures("十余家")] == [(10, ">")]


def test_chinese_numeral_needs_a_unit():
    assert extract_figures("三大科创带、五大科技城") == []
    assert keys("三张引导清单") == [(3, "张")]


def test_codes():
    figs = extract_figures("“415X”先进制造业集群、5G网络、Qwen3")
    assert [(f.value, f.kind) for f in figs] == [(415, "code"), (5, "code"), (3, "code")]
    assert all(f.unit == "" for f in figs)


# --------------------------------------------------------------------------------
# comparators


@pytest.mark.parametrize(
    "text,cmp",
    [("不低于80%", ">="), ("100项以上", ">="), ("不超过5辆", "<="), ("低于3%", "<"), ("超13万家", ">"),
     ("300余人", ">"), ("2500多次", ">"), ("近2000项", "~"), ("260亿元左右", "~"), ("5000家", ""),
     ("不低于\n80%", ">=")],
)  # fmt: skip
def test_comparators(text, cmp):
    assert one(text).comparator == cmp


# --------------------------------------------------------------------------------
# ranges


def test_range_two_figures_sharing_unit():
    figs = extract_figures("概念验证中心10-20家")
    assert [(f.value, f.unit) for f in figs] == [(10, "家"), (20, "家")]
    assert [f.text for f in figs] == ["10", "20家"]


def test_range_shares_multiplier_and_suffix():
    figs = extract_figures("补助1-2万元，中试基地3-4家左右")
    assert [(f.value, f.unit, f.comparator) for f in figs] == [
        (10000, "元", ""),
        (20000, "元", ""),
        (3, "家", "~"),
        (4, "家", "~"),
    ]


def test_year_range():
    figs = extract_figures("行动方案(2025-2027年)、(2025—2027年)、2025至2027年")
    assert [(f.value, f.kind) for f in figs] == [(2025, "year"), (2027, "year")] * 3


def test_range_without_unit():
    assert keys("新建省级创新联合体1-2。") == [(1, ""), (2, "")]


# --------------------------------------------------------------------------------
# years and dates


def test_years_are_figures_flagged_date_like():
    figs = extract_figures("明确面向 2027 年、2030年、二〇三五年的重点任务，实施三年行动")
    assert [(f.value, f.unit) for f in figs] == [(2027, "年"), (2030, "年"), (2035, "年"), (3, "年")]
    assert [is_date_like(f) for f in figs] == [True, True, True, False]


def test_dates():
    figs = extract_figures("2025年9月12日印发，3月11日起施行，三月十一日，到2024年6月前")
    got = [(f.value, f.unit, f.kind) for f in figs]
    assert got == [
        (2025, "年", "year"),
        (912, "月日", "date"),
        (311, "月日", "date"),
        (311, "月日", "date"),
        (2024, "年", "year"),
        (6, "月", "date"),
    ]
    assert all(is_date_like(f) for f in figs)


def test_is_date_like_for_hand_built_figures():
    assert is_date_like(Figure("2025年", 2025, "年", 0, 5))
    assert not is_date_like(Figure("5000家", 5000, "家", 0, 5))
    assert not is_date_like(Figure("3年", 3, "年", 0, 2))


# --------------------------------------------------------------------------------
# normalise


def test_normalise_folds_multiplier_units():
    assert normalise(Figure("2亿元", 2, "亿元", 0, 3)) == (2e8, "元")
    assert normalise(Figure("10万人", 10, "万人", 0, 3)) == (1e5, "人")
    assert normalise(Figure("1万人次", 1, "万人次", 0, 4)) == (1e4, "人次")
    assert normalise(Figure("2个百分点", 2, "个百分点", 0, 5)) == (2, "百分点")
    assert normalise(Figure("2百分点", 2, "百分点", 0, 4)) == (2, "百分点")
    assert normalise(Figure("67.5％", 67.5, "％", 0, 5)) == (67.5, "%")


def test_normalise_rounds_float_noise():
    assert normalise(Figure("x", 0.1 + 0.2, "%", 0, 1)) == (0.3, "%")
    assert normalise(Figure("x", 1.2, "万家", 0, 1)) == (12000, "家")


# --------------------------------------------------------------------------------
# supported / unsupported_figures


@pytest.mark.parametrize(
    "answer,passage,ok",
    [
        ("1.2万家", "科技型中小企业1.2 万家", True),
        ("1.2万家", "科技型中小企业12000家", True),
        ("12000家", "科技型中小企业1.2万家", True),
        ("1.2万家", "科技型中小企业 1.2 万\n家", True),
        ("5000家", "新认定高新技术企业500家", False),
        ("500家", "新认定高新技术企业5000家", False),
        ("67.5%", "占比超过67.5％", True),
        ("67.5%", "占比超过百分之六十七点五", True),
        ("65%", "占比超过67.5%", False),
        ("5000家", "新认定高新技术企业五千家", True),
        ("5000项", "新认定高新技术企业5000家", False),
        ("5000", "新认定高新技术企业5000家", True),
        ("5000万元", "研发投入5千万元以上", True),
        ("0.5亿元", "研发投入5000万元", True),
        ("1亿元", "安排1亿元财政支持55个先导区项目", True),
        ("260人年", "R&D人员数达260人年", True),
        ("260人", "R&D人员数达260人年", False),
        ("10000人次", "年度培训 1 万人次", True),
        ("20家", "概念验证中心10-20家", True),
        ("10家", "概念验证中心10-20家", True),
        ("15家", "概念验证中心10-20家", False),
        ("2025年", "2025年,全市科技工作", True),
        ("2025年", "发布日期:2025-03-11", True),
        ("2026年", "2025年,全市科技工作", False),
        ("3月11日", "发布日期:2025-03-11", True),
        ("3月", "2025年3月11日", True),
        ("2030年", "明确面向 2027 年、203\n0 年", True),
        ("240小时", "合计不少于240小\n时或1000公里", True),
        ("1个", "培育一个示范平台", True),
        ("100人", "引进培育100名", True),
        ("1.2万家", "", False),
    ],
)
def test_supported(answer, passage, ok):
    assert supported(one(answer), passage) is ok


def test_supported_ignores_comparator():
    assert supported(one("超过67.5%"), "占比67.5%左右")


def test_unsupported_figures():
    passages = [
        "全省新认定高新技术企业5000家、科技型中小企业1.2万家、技术先进型服务企业20家。",
        "2025年，全省高新技术产业增加值占规上工业比重超过67.5%。",
    ]
    sentence = "2025年浙江将新认定高新技术企业5000家、科技型中小企业1.2万家，占比超过65%[1]。"
    bad = unsupported_figures(sentence, passages)
    assert [(f.text, f.value, f.unit) for f in bad] == [("65%", 65, "%")]
    assert unsupported_figures("2026年新认定500家。", passages) == extract_figures("2026年新认定500家。")
    assert unsupported_figures("技术先进型服务企业20家[1]", passages) == []
    assert unsupported_figures("统一推进一批项目。", []) == []


def test_unsupported_figures_accepts_a_single_passage_string():
    assert unsupported_figures("新认定5000家", "新认定5000家") == []


def test_doc_number_in_answer_is_not_checked():
    passages = ["浙江省科学技术厅关于省政协十三届三次会议第1号提案的答复"]
    assert unsupported_figures("据浙科提〔2025〕315号答复[1]，见第1号提案。", passages) == []


def test_corpus_files_are_reflexively_supported():
    from policyqa.settings import SAMPLE_CORPUS

    files = sorted(SAMPLE_CORPUS.glob("*.txt"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        figs = extract_figures(text)
        assert figs
        for f in figs:
            assert text[f.start : f.end] == f.text
            assert supported(f, text)


# --------------------------------------------------------------------------------
# properties

UNITS = ["家", "项", "个", "人次", "人年", "元", "%", "台", "所", "年"]
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

integers = st.integers(min_value=0, max_value=10**12)


def written(n: int, style: str) -> str:
    if style == "ascii":
        return str(n)
    if style == "fullwidth":
        return str(n).translate(FULLWIDTH)
    if style == "thousands":
        return f"{n:,}"
    return f"{n:,}".translate(FULLWIDTH).replace(",", "，")


styles = st.sampled_from(["ascii", "fullwidth", "thousands", "fullwidth-thousands"])


@given(n=integers, unit=st.sampled_from(UNITS), style=styles)
def test_integer_with_unit_normalises_to_n(n, unit, style):
    f = one(f"全省新认定企业{written(n, style)}{unit}，同比增长")
    assert normalise(f) == (n, unit)
    assert f.value == n


@given(n=integers, unit=st.sampled_from(UNITS), a=styles, b=styles)
def test_integer_supported_in_any_writing(n, unit, a, b):
    f = one(f"新认定{written(n, a)}{unit}")
    assert supported(f, f"全年共{written(n, b)} {unit}。")


@given(n=integers, m=integers, unit=st.sampled_from(UNITS))
def test_different_integer_not_supported(n, m, unit):
    if n == m:
        return
    assert not supported(one(f"新认定{n}{unit}"), f"全年共{m}{unit}。")


@given(n=st.integers(min_value=1, max_value=99_999), unit=st.sampled_from(["家", "元", "人次"]))
def test_wan_folding(n, unit):
    wan = f"{n / 10:g}"  # e.g. 1.2 for 12 -> 1.2万 == 12000
    f = one(f"{wan}万{unit}")
    assert normalise(f) == (n * 1000, unit)
    assert supported(f, f"共{n * 1000}{unit}")


ALPHABET = list("0123456789０１２３４５６７８９.,，%％-—~至 \n") + list(
    "零〇一二三四五六七八九十两百千万亿点分之第届号年月日家项个人次元亿〔〕[]()（）、。超过以上左右余多XG"
)
texts = st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join)


@settings(max_examples=400)
@given(text=texts)
def test_every_extracted_figure_supports_itself(text):
    figs = extract_figures(text)
    prev_end = 0
    for f in figs:
        assert text[f.start : f.end] == f.text
        assert f.start >= prev_end  # sorted, never overlapping
        prev_end = f.end
        assert f.value >= 0
        assert supported(f, text)
    assert unsupported_figures(text, [text]) == []


@given(text=texts, filler=st.sampled_from(["", "。", "，同比增长", "\n"]))
def test_extraction_is_total(text, filler):
    # never raises, whatever the input
    extract_figures(text + filler)
    extract_figures(filler + text)
