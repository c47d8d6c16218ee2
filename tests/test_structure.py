"""ingest.structure and ingest.document: metadata, articles, document building."""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.clean import clean_text
from ingest.document import build_document, doc_id_for
from ingest.structure import extract_meta, split_articles
from policyqa.errors import IngestError
from policyqa.settings import SAMPLE_CORPUS
from policyqa.types import DocMeta, Document, RawDocument

from tests.support.corpus import ALL, BRIEF, LISHUI, NEWSPAPER, REPLY, SHAOXING  # noqa: F401


@cache
def doc(name: str) -> Document:
    text = (SAMPLE_CORPUS / name).read_text(encoding="utf-8")
    return build_document(RawDocument(source=name, text=text, path=str(SAMPLE_CORPUS / name), sha256="x"))


# ------------------------------------------------------------------ metadata of the samples

EXPECTED = {
    REPLY: DocMeta(
        title="浙江省科学技术厅关于省政协十三届三次会议第1号提案的答复",
        issuer="省科技厅",
        date="2025-09-18",
        doc_number="浙科提〔2025〕315号",
        region="浙江省",
        level="province",
        recipients="民建省委会",
        signed_date="2025-09-12",
    ),
    SHAOXING: DocMeta(
        title="2025年全市科技创新工作要点",
        issuer="市科技局",
        date="2025-03-11",
        region="绍兴市",
        level="city",
    ),
    LISHUI: DocMeta(
        title="科技创新赋能产业高质量发展三年行动方案(2024)",
        date="2024",
        region="丽水市",
        level="city",
        status="征求意见稿",  # the head line says （意见征求稿）
    ),
    BRIEF: DocMeta(
        title="2025年浙江省推动高新技术及产业化发展工作要点",
        issuer="省经信厅",
        region="浙江省",
        level="province",
    ),
    NEWSPAPER: DocMeta(
        title="浙江促进产业科技创新再加码",
        issuer="浙江省经信厅",
        region="浙江省",
        level="province",
    ),
}


@pytest.mark.parametrize("name", ALL)
def test_sample_metadata(name: str) -> None:
    assert doc(name).meta == EXPECTED[name]


def test_lishui_title_without_the_banner_comes_from_the_text() -> None:
    text = doc(LISHUI).text
    meta = extract_meta(text, {}, LISHUI)
    assert meta.title == "科技创新赋能产业高质量发展三年行动方案（意见征求稿）"
    assert (meta.region, meta.level) == ("丽水市", "city")


def test_reply_signature_used_when_no_header_rows() -> None:
    text = doc(REPLY).text
    body = text[text.index("浙江省科学技术厅关于") :]
    meta = extract_meta(body, {}, REPLY)
    assert meta.issuer == "浙江省科学技术厅"
    assert meta.date == "2025-09-12"
    assert meta.doc_number == "浙科提〔2025〕315号"
    assert (meta.region, meta.level) == ("浙江省", "province")


def test_given_metadata_wins() -> None:
    text = doc(REPLY).text
    meta = extract_meta(
        text,
        {"title": "自定标题", "issuer": "某单位", "date": "2025年3月1日", "doc_number": "浙科发[2024]7号", "region": "绍兴市", "other": "x"},
        REPLY,
    )
    assert meta == DocMeta(
        title="自定标题", issuer="某单位", date="2025-03-01", doc_number="浙科发〔2024〕7号", region="绍兴市", level="city",
        recipients="民建省委会", signed_date="2025-09-12",
    )
    # empty given values do not erase extraction
    assert extract_meta(text, {"title": "  ", "issuer": ""}, REPLY).title == EXPECTED[REPLY].title


def test_build_document_uses_given_meta_and_stable_id() -> None:
    raw = RawDocument(source="a/b.txt", text="某某通知\n正文内容。", meta={"title": "给定标题", "region": "杭州市"})
    d = build_document(raw)
    assert d.meta.title == "给定标题"
    assert (d.meta.region, d.meta.level) == ("杭州市", "city")
    assert d.doc_id == hashlib.sha1(b"a/b.txt").hexdigest()[:12] == doc_id_for("a/b.txt")
    assert build_document(raw).doc_id == d.doc_id
    assert d.articles == (build_document(raw).articles[0],)


def test_build_document_keeps_source_fields() -> None:
    d = doc(SHAOXING)
    assert d.source == SHAOXING
    assert d.path.endswith(SHAOXING)
    assert d.sha256 == "x"
    assert d.pages == ()


@pytest.mark.parametrize("text", ["", "   \n\n", "当前位置：首页\n分享：\n浏览次数：3"])
def test_build_document_rejects_empty_text(text: str) -> None:
    with pytest.raises(IngestError) as info:
        build_document(RawDocument(source="empty.txt", text=text))
    assert info.value.source == "empty.txt"


def test_doc_number_read_from_header_not_from_citations() -> None:
    text = "关于某事的通知\n浙政发〔2024〕3号\n根据《某办法》（国发〔2020〕9号）要求，现通知如下。"
    assert extract_meta(text, {}, "x").doc_number == "浙政发〔2024〕3号"
    cited_only = "关于某事的通知\n根据《某办法》（国发〔2020〕9号）要求，现通知如下。"
    assert extract_meta(cited_only, {}, "x").doc_number == ""


@pytest.mark.parametrize(
    ("text", "region", "level"),
    [
        ("新昌县科技局关于做好2025年项目申报的通知\n全县各乡镇：请做好申报工作。", "新昌县", "county"),
        ("国务院办公厅关于进一步优化营商环境的意见\n各省、自治区、直辖市人民政府：现提出意见。", "全国", "national"),
        ("湘潭市人民政府关于支持中小企业发展的若干意见\n各县市区人民政府：现提出意见。", "湘潭市", "city"),
        ("关于开展科技攻关的通知\n各设区市科技局：全省要加快推进。浙江将加大投入。", "浙江省", "province"),
        ("市科技局关于印发工作要点的通知\n全市各单位：宁波要加快建设，宁波各区县积极推进。", "宁波市", "city"),
        ("北京市经济和信息化局印发行动方案\n为加快发展，北京市推出措施。", "北京市", "province"),
        ("一段没有地名的文字。", "", ""),
    ],
)
def test_region_and_level(text: str, region: str, level: str) -> None:
    meta = extract_meta(text, {}, "x")
    assert (meta.region, meta.level) == (region, level)


# ------------------------------------------------------------------ articles


def test_newspaper_splits_into_four_articles() -> None:
    d = doc(NEWSPAPER)
    arts = d.articles
    assert [(a.title, a.region, a.level) for a in arts] == [
        ("浙江促进产业科技创新再加码", "浙江省", "province"),
        ("北京八大举措支持信软企业加强人工智能应用服务能力", "北京市", "province"),
        ("辽宁举办2025年专精特新企业产融对接会", "辽宁省", "province"),
        ("安徽进一步完善智能网联汽车发展政策体系", "安徽省", "province"),
    ]
    assert [a.issuer for a in arts] == [
        "浙江省经信厅",
        "北京市经济和信息化局",
        "辽宁省工业和信息化厅",
        "安徽省工业和信息化厅、安徽省公安厅、安徽省交通运输厅",
    ]


def test_newspaper_article_spans() -> None:
    d = doc(NEWSPAPER)
    zj, bj, ln, ah = (d.text[a.start : a.end] for a in d.articles)
    # the Beijing headline printed after its byline belongs to Beijing
    assert "（京讯）\n\n北京八大举措支持信软企业\n\n加强人工智能应用服务能力" in bj
    assert ln.rstrip().endswith("辽宁举办\n\n2025年专精特新企业产融对接会")
    assert ah.startswith("图为浙江宁波前湾新区") or ah.startswith("安徽进一步完善")
    assert "安徽进一步完善\n\n智能网联汽车发展政策体系\n\n本报讯" in ah
    # the Zhejiang pull-quote boxes stay with Zhejiang
    assert "4个“着力”强化企业创新主体地位" in zj
    assert "全效提升高新技术产业发展能级" in zj
    assert zj.startswith("地方新闻")
    for other in (bj, ln, ah):
        assert "浙江将" not in other
    assert "MaaS" not in zj and "MaaS" in bj
    assert "辽宁" not in zj + bj and "安徽" not in zj + bj + ln


@pytest.mark.parametrize("name", ALL)
def test_articles_cover_the_text_contiguously(name: str) -> None:
    d = doc(name)
    assert d.articles[0].start == 0
    assert d.articles[-1].end == len(d.text)
    for a, b in zip(d.articles, d.articles[1:]):
        assert a.end == b.start
    assert all(a.start < a.end for a in d.articles)


@pytest.mark.parametrize("name", [BRIEF, SHAOXING, LISHUI, REPLY])
def test_ordinary_documents_are_one_article(name: str) -> None:
    d = doc(name)
    (art,) = d.articles
    assert (art.title, art.region, art.level, art.issuer) == (d.meta.title, d.meta.region, d.meta.level, d.meta.issuer)


def test_headline_before_body_goes_to_next_item_without_byline() -> None:
    text = (
        "杭州加快科技创新\n\n本报讯 杭州市科技局近日发布方案，推进创新。\n\n更多内容。\n\n"
        "宁波出台新政\n\n本报讯 宁波市经信局日前印发意见，支持企业。"
    )
    cleaned, _ = clean_text(text)
    meta = extract_meta(cleaned, {}, "x")
    arts = split_articles(cleaned, meta)
    assert [a.title for a in arts] == ["杭州加快科技创新", "宁波出台新政"]
    assert [a.region for a in arts] == ["杭州市", "宁波市"]
    assert cleaned[arts[1].start :].startswith("宁波出台新政")


_NEWSY = st.lists(
    st.sampled_from(
        ["本报讯", "（京 讯）", "浙江出台新政", "北京发布方案", "\n", "\n\n", "企业发展。", "推进创新，", "图为现场", "2025年"]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(_NEWSY)
def test_articles_always_cover_the_text(text: str) -> None:
    cleaned, _ = clean_text(text)
    arts = split_articles(cleaned, extract_meta(cleaned, {}, "x"))
    assert arts[0].start == 0 and arts[-1].end == len(cleaned)
    assert all(a.end == b.start for a, b in zip(arts, arts[1:]))
    assert all(a.start < a.end for a in arts) or cleaned == ""
