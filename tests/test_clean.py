"""ingest.clean: chrome removal, line rejoining, spaces, punctuation, numbers."""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.clean import _drop_running_lines, clean_text, sharing_site_title
from policyqa.text.figures import extract_figures, normalise
from policyqa.settings import SAMPLE_CORPUS
from policyqa.types import Page

from tests.support.corpus import ALL, BRIEF, LISHUI, NEWSPAPER, REPLY, SHAOXING  # noqa: F401


@cache
def raw(name: str) -> str:
    return (SAMPLE_CORPUS / name).read_text(encoding="utf-8")


@cache
def cleaned(name: str) -> str:
    return clean_text(raw(name))[0]


def lines(name: str) -> list[str]:
    return cleaned(name).split("\n")


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


# ------------------------------------------------------------------ sample corpus


@pytest.mark.parametrize("name", ALL)
def test_no_chrome_left(name: str) -> None:
    text = cleaned(name)
    for chrome in ("当前位置", "分享:", "分享：", "字体:[", "字体：[", "浏览次数", "由会员分享", "上搜索", "珍藏版", "> 政务公开"):
        assert chrome not in text, chrome


@pytest.mark.parametrize("name", ALL)
def test_clean_text_is_tidy(name: str) -> None:
    text = cleaned(name)
    assert text == text.strip()
    assert "\r" not in text and "\u3000" not in text and "\t" not in text
    assert "\n\n\n" not in text
    assert all(line == line.strip() for line in text.split("\n"))


def test_shaoxing_keeps_the_publication_date_but_not_the_widgets() -> None:
    assert "发布日期：2025-03-11 14:51" in lines(SHAOXING)
    assert lines(SHAOXING)[0] == "2025年全市科技创新工作要点"
    assert "信息来源：市科技局" in lines(SHAOXING)


def test_lishui_banner_and_viewer_page_markers_removed() -> None:
    text = cleaned(LISHUI)
    assert not re.search(r"(?m)^\d、", text)
    assert "优知文库" not in text
    # page breaks fell mid-sentence and mid-number: `依托大院名校、` / `2、技术转移机构`,
    # `…给予研发后补助支持。202` / `5、4年，…`
    assert "依托大院名校、技术转移机构" in text
    assert "给予研发后补助支持。2024年，各县围绕产业链立项" in text
    assert "推动企业向高端智造转变。" in text
    assert "加快提升科技成果转化和产业化水平" in text


def test_lishui_flattened_headings_back_on_their_own_lines() -> None:
    ls = lines(LISHUI)
    assert ls[0] == "科技创新赋能产业高质量发展三年行动方案（意见征求稿）"
    assert "二、重点任务" in ls
    assert "三、保障措施" in ls
    assert any(line.startswith("（三）实施一批技术攻关项目。") for line in ls)
    assert any(line.startswith("一、工作目标") for line in ls)


def test_sharing_site_title() -> None:
    assert sharing_site_title(raw(LISHUI)) == "科技创新赋能产业高质量发展三年行动方案(2024)"
    assert sharing_site_title(raw(SHAOXING)) == ""


def test_newspaper_column_breaks_rejoined() -> None:
    text = cleaned(NEWSPAPER)
    assert "产\n业" not in text
    assert "推进科技创新和产业创新深度融合，加快提升浙江产业科技创新能力。" in text
    # across a blank line inside a column
    assert "梳理工作体系架构图和任务表" in text
    assert "浙江将加快发展壮大协同创新组织。" in text
    assert "浙江将着力“扩面提质”科技型企业。" in text
    # letter-spaced justification
    assert "制定和修订一批关键技术标准。聚焦“415X”先进制造业" in text
    # a full column line ending in `）` is still wrapped
    assert "一是支持MaaS（模型即服务）企业在京集聚发展。" in text
    assert "2025年辽宁省专精特新企业产融对接会" in text


def test_newspaper_headlines_and_bylines_keep_their_lines() -> None:
    ls = lines(NEWSPAPER)
    for own_line in (
        "浙江促进产业科技创新再加码",
        "北京八大举措支持信软企业",
        "加强人工智能应用服务能力",
        "辽宁举办",
        "2025年专精特新企业产融对接会",
        "安徽进一步完善",
        "智能网联汽车发展政策体系",
        "（京讯）",
        "（辽讯）",
        "（徽文）",
        "全面推进科技创新和产业创新深度融合",
    ):
        assert own_line in ls, own_line


def test_newspaper_blank_line_after_full_stop_is_a_paragraph_break() -> None:
    assert "产业创新深度融合。\n\n一是加强统筹推进。" in cleaned(NEWSPAPER)
    assert "并推动落实。\n\n二是加强协调联络。" in cleaned(NEWSPAPER)


def test_brief_headings_not_joined_to_body() -> None:
    ls = lines(BRIEF)
    for heading in ("全面推进科技创新和产业创新深度融合", "加强统筹推进", "着力“扩面提质”科技型企业"):
        assert heading in ls
    assert cleaned(BRIEF).count("\n") == raw(BRIEF).strip().count("\n")


@pytest.mark.parametrize(
    ("name", "numbers"),
    [
        (NEWSPAPER, ["67.5%", "16%左右", "3.15%", "40%以上", "5000家", "1.2万家", "20家", "2027年、2030年、2035年", "4个“着力”", "80%", "240小时或1000公里", "15家银行", "1万人次"]),
        (BRIEF, ["67.5%", "16%左右", "5000家", "1.2万家", "5000项以上", "2025第九届"]),
        (SHAOXING, ["2025-03-11", "3.3%左右", "260人年", "1200家", "2.0", "(2025-2027年)".replace("(", "（").replace(")", "）"), "1-2个", "450亿元", "4.5%以上"]),
        (LISHUI, ["8%以上", "15%以上", "2024年4月前", "2024年6月", "85%", "90%", "5千万元", "1515"]),
        (REPLY, ["浙科提〔2025〕315号", "002482090/2025-00123", "2025-09-18", "1‰", "1%", "44.2%", "4.7万家", "12535家", "0571-87054045", "310006", "2025年9月12日", "1200亿元"]),
    ],
)
def test_numbers_intact(name: str, numbers: list[str]) -> None:
    text = cleaned(name)
    for number in numbers:
        assert number in text, number


def test_reply_header_rows_title_and_punctuation() -> None:
    ls = lines(REPLY)
    assert ls[0] == "索引号: | 002482090/2025-00123 | 发布机构: | 省科技厅 |"
    assert "浙江省科学技术厅关于省政协十三届三次会议第1号提案的答复" in ls
    assert "浙科提〔2025〕315号" in ls
    text = cleaned(REPLY)
    assert "作了深入的分析，对后续如何" in text  # ASCII comma between Chinese
    assert "省委金融办（省地方金融局）" in text  # ASCII parentheses around Chinese
    assert "（一）强化高质量科技供给，坚持筑牢" in text


@pytest.mark.parametrize("name", ALL)
def test_chinese_punctuation_kept_and_ascii_punctuation_between_chinese_converted(name: str) -> None:
    text = cleaned(name)
    assert not re.search(r"[\u4e00-\u9fff][,;][\u4e00-\u9fff]", text)
    assert "，" in text and "。" in text


@pytest.mark.parametrize("name", ALL)
def test_every_chinese_character_survives(name: str) -> None:
    """Cleaning drops chrome, spaces and markers; the prose itself is all there."""
    body = cleaned(name)
    for line in raw(name).splitlines():
        line = squash(line)
        if len(line) < 40 or "由会员分享" in line:
            continue
        probe = re.sub(r"^\d、", "", line)
        probe = "".join(c for c in probe if "\u4e00" <= c <= "\u9fff")[:12]
        assert probe in "".join(c for c in body if "\u4e00" <= c <= "\u9fff"), line[:30]


# ------------------------------------------------------------------ rules


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("面向 2027 年、2030 年、\n", "面向2027年、2030年、"),
        ("制 定 和 修 订 一 批 关 键 技 术 标 准 。", "制定和修订一批关键技术标准。"),
        ("包括 4 个“着力”", "包括4个“着力”"),
        ("科技型中小企业 1.2 万家", "科技型中小企业1.2万家"),
        ("支持 MaaS（模型即服务）企业", "支持MaaS（模型即服务）企业"),
        ("Hello World 和 Open Source 社区", "Hello World和Open Source社区"),
        ("联系电话:0571-87054045 传 真:0571-87054677", "联系电话：0571-87054045 传真：0571-87054677"),
        ("１２３４５家，增长１２．５％", "12345家，增长12.5%"),
        ("ＡＩ大模型　应用", "AI大模型应用"),
        ("企业,政府;高校:院所", "企业，政府；高校：院所"),
        ("共1,200家企业", "共1,200家企业"),
        ("投入１，２００亿元", "投入1,200亿元"),  # a full-width thousands comma is kept a thousands comma
        ("第１，２，３条", "第1，2，3条"),
        ("比重达65%,高新技术", "比重达65%，高新技术"),
        ("Note: see a,b;c", "Note: see a,b;c"),
        ("(一)实施行动", "（一）实施行动"),
        ("企业(用户)+产业链", "企业（用户）+产业链"),
        ("行动方案(2024)", "行动方案(2024)"),
        ("浙科提〔2025〕315号", "浙科提〔2025〕315号"),
        ("占比16%左右，67.5%以上，1.2万家", "占比16%左右，67.5%以上，1.2万家"),
        ("全国第四，。，；：", "全国第四，。，；："),
        ("第一行\r\n第二行。\r第三行。", "第一行\n第二行。\n第三行。"),
        ("\ufeff\u200b正文。", "正文。"),
        ("第一段。\u3000\u3000第二段。", "第一段。\n第二段。"),
    ],
)
def test_rules(source: str, expected: str) -> None:
    assert clean_text(source)[0] == expected


def test_chrome_lines_dropped_and_metadata_kept() -> None:
    source = (
        "当前位置：首页\n> 政务公开 > 通知公告\n\n标题\n\n发布时间：2025-01-02 浏览次数：123 【字体：大 中 小】\n"
        "【打印本页】【关闭窗口】\n分享到：\n\n正文第一段。\n\n扫一扫在手机打开当前页\n返回顶部"
    )
    text = clean_text(source)[0]
    assert text == "标题\n\n发布时间：2025-01-02\n\n正文第一段。"


def test_pdf_page_number_lines_dropped() -> None:
    assert clean_text("正文第一段。\n— 3 —\n第 4 页 共 10 页\n正文第二段。")[0] == "正文第一段。\n正文第二段。"
    assert clean_text("共3页")[0] == "共3页"


def test_chrome_words_inside_prose_are_kept() -> None:
    text = "截至2月12日，防控专栏访问量累计已超119.4万次，其中移动端访问量超过117.6万次。"
    assert clean_text(text)[0] == text


def test_legit_numbered_list_kept() -> None:
    source = "主要任务：\n1、加强组织领导。\n2、强化协同推进。\n3、加大政策保障。"
    assert clean_text(source)[0] == source


def test_long_numbered_list_items_ending_in_full_stops_kept() -> None:
    item = "要按照工作任务要求组建工作专班和专家咨询组，高质量编制实施方案，明确推进的时间表、线路图，确保各项目标高质量实现。" * 3
    source = "\n".join(f"{i}、{item}" for i in range(1, 4))
    assert clean_text(source)[0] == source


def test_viewer_page_markers_detected_without_banner() -> None:
    body = "为认真贯彻落实省委省政府关于科技创新的决策部署，加快构建现代化产业体系，推动产业高质量发展，" * 4
    source = f"1、{body}到2026\n2、年，特色产业链产值年均增幅达到{body}依托大院\n3、名校，开展联合攻关。"
    text = clean_text(source)[0]
    assert "\n" not in text
    assert "到2026年，特色产业链" in text and "依托大院名校，开展联合攻关。" in text
    assert not text.startswith("1、")


def test_pages_follow_cleaning() -> None:
    page1 = "当前位置：首页\n第一页标题\n\n第一页正文。"
    page2 = "第二页 正文。\n"
    page3 = "浏览次数：5\n"
    page4 = "第四页正文。"
    text = page1 + "\n" + page2 + "\n" + page3 + "\n" + page4
    starts = [0, len(page1) + 1, len(page1) + len(page2) + 2, len(page1) + len(page2) + len(page3) + 3]
    pages = tuple(Page(number=i + 1, start=s) for i, s in enumerate(starts))
    out, new_pages = clean_text(text, pages)
    assert [p.number for p in new_pages] == [1, 2, 3, 4]
    assert out[new_pages[0].start :].startswith("第一页标题")
    assert out[new_pages[1].start :].startswith("第二页正文。")
    assert out[new_pages[3].start :].startswith("第四页正文。")
    assert new_pages[2].start == new_pages[3].start  # an emptied page starts where the next does
    assert clean_text("无页码文本")[1] == ()


# ------------------------------------------------------------------ properties

_ASCII = st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=126, exclude_characters="\x0b\x0c"), max_size=400)


@settings(max_examples=300, deadline=None)
@given(_ASCII)
def test_ascii_digit_sequences_unchanged(text: str) -> None:
    out = clean_text(text)[0]
    assert re.findall(r"\d+", out) == re.findall(r"\d+", text)


_FULLWIDTH_DIGITS = {0xFF10 + i: str(i) for i in range(10)}
_MIXED = st.lists(
    st.sampled_from(
        list("科技创新产业发展企业政策万元家年月日省市")
        + list("，。；：“”（）《》%.,:;()")
        + list("0123456789")
        + list("０１２３")
        + [" ", "\u3000", "\n", "\n\n", "a", "B", "12", "2025年", "一、", "（二）"]
    ),
    max_size=150,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_MIXED)
def test_mixed_text_digit_sequences_unchanged(text: str) -> None:
    out = clean_text(text)[0]
    assert re.findall(r"\d+", out) == re.findall(r"\d+", text.translate(_FULLWIDTH_DIGITS))
    assert "".join(re.findall(r"[\u4e00-\u9fff]", out)) == "".join(re.findall(r"[\u4e00-\u9fff]", text))


@settings(max_examples=200, deadline=None)
@given(_MIXED)
def test_clean_is_idempotent_on_its_output_shape(text: str) -> None:
    out = clean_text(text)[0]
    assert out == out.strip()
    assert "\n\n\n" not in out


# Figures as the answer check reads them: a phrase, a figure written any way the
# sources write it (full-width, spaced, Chinese numerals, ranges, codes), a phrase,
# a separator (which may be a line break or a heading).
_WORDS = ["全省", "新认定", "高新技术企业", "研发投入", "增长", "占比", "达到", "超过", "以上", "左右", "约", "MaaS",
          "(全省)", "（试行）"]
_FIGURES = ["5000家", "1.2万家", "67.5%", "１２．５％", "１，２００亿元", "2025年", "2025 年", "3月11日", "1-2个",
            "450 亿元", "4.5%以上", "百分之十五", "一万二千人", "浙科发〔2025〕1号", "(2025)12号", "第3届",
            "0571-87054045", "2025-03-11", "1,200家", "3.3% 左右", "２０２５年", "二〇二五年", "1 200家",
            "12,535 家", "１．２万家", "50 万元", "1‰"]
_GAPS = ["", " ", "  ", "\u3000", "\t"]
_SEPARATORS = ["，", "。", "；", "、", "：", ",", ";", ":", " ", "\n", "。\n\n", "\n一、", "\n（二）"]
_FIGURE_TEXT = st.lists(
    st.tuples(*(st.sampled_from(x) for x in (_WORDS, _GAPS, _FIGURES, _GAPS, _WORDS, _SEPARATORS))).map("".join),
    max_size=12,
).map("".join)


def _figure_keys(text: str) -> list[tuple[float, str]]:
    return [normalise(f) for f in extract_figures(text)]


@settings(max_examples=300, deadline=None)
@given(_FIGURE_TEXT)
def test_figures_survive_cleaning(text: str) -> None:
    """Every figure of the source reads the same (value and unit) after cleaning:
    the figure check compares answers with cleaned passages."""
    assert _figure_keys(clean_text(text)[0]) == _figure_keys(text)


_PAGE = st.lists(st.sampled_from(["当前位置：首页", "第 3 页 共 10 页", "浏览次数：5"]) | _MIXED, max_size=4).map("\n".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PAGE, min_size=1, max_size=5))
def test_page_starts_point_at_each_page_s_cleaned_text(pages: list[str]) -> None:
    """A PDF's page starts, mapped through cleaning, point at the first character of
    that page's own cleaned text (without the running lines it shares with the other
    pages); an emptied page starts where the next text does."""
    text = "\n".join(pages)
    starts = [sum(len(p) + 1 for p in pages[:k]) for k in range(len(pages))]
    out, mapped = clean_text(text, tuple(Page(k + 1, s) for k, s in enumerate(starts)))
    assert [p.number for p in mapped] == list(range(1, len(pages) + 1))
    assert [p.start for p in mapped] == sorted(p.start for p in mapped)
    own_pages = _drop_running_lines([text[s:e] for s, e in zip(starts, [*starts[1:], len(text)])])
    for k, page in enumerate(mapped):
        assert 0 <= page.start <= len(out)
        own = clean_text(own_pages[k])[0]
        if own:
            assert page.start == 0 or out[page.start - 1] == "\n"
            assert out[page.start :].startswith(own)
        else:
            later = [p.start for p in mapped[k + 1 :]]
            assert page.start == (later[0] if later else len(out))


@pytest.mark.parametrize(
    ("extracted", "typed"),
    [
        ("2025年全市科技创新⼯作要点", "2025年全市科技创新工作要点"),  # Kangxi radicals (NFKC)
        ("⼈员、项⽬、⼀流、⾼新、⾦额", "人员、项目、一流、高新、金额"),
        ("⻔户、⻚面、⻋辆、⻓期、⻛险、⻜机、⻬全、⻰头、⻩河", "门户、页面、车辆、长期、风险、飞机、齐全、龙头、黄河"),  # supplement (data file)
        ("⻳、⺟", "龟、母"),
        ("\uf900\ufa10", "豈塚"),  # compatibility ideographs
        ("项目人员工作。", "项目人员工作。"),  # ordinary text unchanged
    ],
)
def test_radicals_become_ideographs(extracted: str, typed: str) -> None:
    text, _ = clean_text(extracted)
    assert text == typed


def test_radicals_keep_page_offsets() -> None:
    # one character for one: a page still starts where it did
    page1, page2 = "⾦华市⼈才政策第⼀页内容。", "第⼆页：⾼层次⼈才补贴100万元。"
    text, pages = clean_text(page1 + "\n" + page2, (Page(1, 0), Page(2, len(page1) + 1)))
    assert text[pages[1].start:].startswith("第二页：高层次人才补贴100万元")


_GONGWEN_PAGE = """浙江省科学技术厅文件
浙科发高〔2025〕12号
一、评价条件
参加评价的企业应同时满足以下条件：在中国境内注册的居民企
业；职工总数不超过500人、年销售收入不超过2亿元、资产
总额不超过2亿元；企业提供的产品和服务不属于国家规定的禁
止、限制和淘汰类。
二、评价时间
企业自主登录全国科技型中小企业信息服务平台填报信息，填报
时间为2025年4月1日至6月30日。各市科技局应在企业提交
后20个工作日内完成形式审查。
三、工作要求
各地要加强政策宣传和培训辅导，引导企业如实填报。对存在弄虚作假
行为的企业，撤销其入库登记编号，3年内不得再次参加评价。
四、联系方式
省科技厅高新技术处，联系电话：0571-87054321
。"""


@pytest.mark.parametrize(
    "line",
    [
        "参加评价的企业应同时满足以下条件：在中国境内注册的居民企业；职工总数不超过500人、年销售收入不超过2亿元、"
        "资产总额不超过2亿元；企业提供的产品和服务不属于国家规定的禁止、限制和淘汰类。",
        "企业自主登录全国科技型中小企业信息服务平台填报信息，填报时间为2025年4月1日至6月30日。"
        "各市科技局应在企业提交后20个工作日内完成形式审查。",
        "省科技厅高新技术处，联系电话：0571-87054321。",  # a line cannot start with 。
        "浙科发高〔2025〕12号",
        "二、评价时间",
    ],
)
def test_a_hard_wrapped_gongwen_page_is_rejoined(line: str) -> None:
    # Headings, the 文号 and the masthead make the median line short; the full lines
    # are still the wrapped ones.
    assert line in cleaned_lines(_GONGWEN_PAGE)


def cleaned_lines(text: str) -> list[str]:
    return clean_text(text)[0].splitlines()
