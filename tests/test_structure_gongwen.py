"""ingest.structure: the 公文 head and tail (GB/T 9704) and the 施行/有效期 a policy
states of itself, read into DocMeta by extract_meta. Each text goes through
clean_text first, as ingest does."""

from __future__ import annotations

import dataclasses

import pytest

from ingest.clean import clean_text
from ingest.structure import extract_meta, official_facts
from policyqa.types import DocMeta

from tests.support.gongwen import DRAFT, MEASURES, NOTICE, REPORT

_BLANK = DocMeta()


@pytest.mark.parametrize(("text", "expected"), [
    (REPORT, DocMeta(
        title="关于2024年度全省科技创新工作情况的报告", issuer="浙江省科学技术厅", date="2025-01-20",
        doc_number="浙科发〔2025〕12号", region="浙江省", level="province",
        signer="王建国、李华", recipients="省人民政府", signed_date="2025-01-20")),
    (NOTICE, DocMeta(
        title="浙江省科学技术厅关于做好2025年度高新技术企业认定工作的通知", issuer="浙江省科学技术厅",
        date="2025-03-12", doc_number="浙科发高〔2025〕15号", region="浙江省", level="province",
        recipients="各市、县（市、区）科技局，省级有关单位", signed_date="2025-03-12",
        attachments="2025年度高新技术企业认定工作日程安排；高新技术企业认定申报材料清单",
        cc="科技部火炬中心，省财政厅，国家税务总局浙江省税务局",
        printed_by="浙江省科学技术厅办公室", printed_date="2025-03-14")),
    (MEASURES, DocMeta(
        title="浙江省科学技术厅浙江省财政厅关于印发《浙江省科技创新券管理办法》的通知",
        issuer="浙江省科学技术厅、浙江省财政厅", date="2025-03-20", doc_number="浙科发〔2025〕20号",
        region="浙江省", level="province", recipients="各市、县（市、区）科技局、财政局", signed_date="2025-03-20",
        valid_from="2025-04-01", valid_until="2027-12-31")),
    (DRAFT, DocMeta(
        title="浙江省科技企业孵化器管理办法", region="浙江省", level="province", status="征求意见稿",
        valid_from="2025-07-01", valid_until="2030-06-30")),
], ids=["report-with-signer", "notice-with-tail", "issuing-notice-with-term", "draft-with-years"])
def test_gongwen_fields(text: str, expected: DocMeta) -> None:
    cleaned, _ = clean_text(text)
    assert extract_meta(cleaned, {}, "x.txt") == expected


def test_each_fact_spans_the_text_that_states_it() -> None:
    cleaned, _ = clean_text(NOTICE)
    facts = official_facts(cleaned)
    assert {name: cleaned[s.start : s.end] for name, s in facts.items()} == {
        "recipients": "各市、县（市、区）科技局，\n省级有关单位",
        "signed_date": "2025年3月12日",
        "attachments": "附件：1.2025年度高新技术企业认定工作日程安排\n2.高新技术企业认定申报材料清单",
        "cc": "科技部火炬中心，省财政厅，\n国家税务总局浙江省税务局",
        "printed_by": "浙江省科学技术厅办公室",
        "printed_date": "2025年3月14日",
    }
    assert facts["printed_date"].said == "2025年3月14日" and facts["printed_date"].value == "2025-03-14"


@pytest.mark.parametrize(("text", "fields"), [
    # a web page's rows
    ("关于某事的通知\n有效性：已废止\n正文。", {"status": "已废止"}),
    ("关于某事的通知\n[废止日期] 2023-06-30\n正文。", {"status": "已废止"}),
    ("关于某事的通知\n[实施日期] ----\n[有效性] 有效\n正文。", {"status": "现行有效"}),
    ("关于某事的通知\n[成文日期] 2020-02-03\n各区人民政府：\n正文。",
     {"signed_date": "2020-02-03", "recipients": "各区人民政府"}),
    ("杭州市科技型中小企业认定管理办法（试行）\n第一条 为规范管理，制定本办法。", {"status": "试行"}),
    # the document's own term, in the words policies use
    ("某办法\n本办法自印发之日起施行，有效期两年。", {}),  # no date to count the years from
    ("某措施\n以上措施自2020年2月1日起实施，有效期一年。", {"valid_from": "2020-02-01", "valid_until": "2021-01-31"}),
    ("某通知\n本通知自2020年2月1日起执行，有效期至2020年底。", {"valid_from": "2020-02-01", "valid_until": "2020-12-31"}),
    ("某意见\n本意见自发布之日起施行。有效期至2026年3月31日。", {"valid_until": "2026-03-31"}),
    ("某意见\n本意见自印发之日起施行，有效期至疫情解除。", {}),  # stated, but not as a date
    # dates the text gives for something else
    ("某通知\n《公告》自2020年1月1日起施行。许可证有效期延长至2020年6月30日。", {}),
    ("某通知\n对有效期于2020年3月底前届满的许可，延长有效期至6月底。", {}),
    # flattened web text: the title and the 文号 glued onto the addressee list
    ("关于做好申报工作的通知浙科发〔2025〕3号各市科技局：为做好申报工作，现通知如下。",
     {"doc_number": "", "recipients": "各市科技局"}),
    # a colon in the body names no addressee
    ("关于某事的通知\n各地要做到以下几点：\n一、加强领导。", {}),
    ("关于某事的通知\n为加强管理，现通知各有关单位：\n一、加强领导。", {}),
    # a 抄送 inside a sentence is the body's
    ("关于某事的通知\n考核结果抄送市委组织部。\n某市人民政府\n2025年1月2日", {"signed_date": "2025-01-02"}),
])
def test_single_rules(text: str, fields: dict[str, str]) -> None:
    cleaned, _ = clean_text(text)
    meta = extract_meta(cleaned, {}, "x.txt")
    official = ("signer", "recipients", "signed_date", "printed_by", "printed_date", "valid_from", "valid_until",
                "attachments", "cc", "status")
    got = {k: v for k, v in dataclasses.asdict(meta).items() if k in official and v}
    assert got == {k: v for k, v in fields.items() if k in official and v}
    if "doc_number" in fields:
        assert meta.doc_number == fields["doc_number"]


def test_a_term_without_a_date_is_still_there_to_quote() -> None:
    facts = official_facts("某办法\n本办法自印发之日起施行，有效期至新冠肺炎疫情解除。")
    assert (facts["valid_from"].value, facts["valid_from"].said) == ("", "自印发之日起施行")
    assert (facts["valid_until"].value, facts["valid_until"].said) == ("", "至新冠肺炎疫情解除")


def test_a_masthead_names_the_issuer_and_is_no_title() -> None:
    text = "浙江省科学技术厅文件\n浙科发〔2025〕9号\n关于开展科技下乡活动的通知\n各市科技局：\n请做好活动组织工作。"
    meta = extract_meta(text, {}, "x.txt")
    assert (meta.title, meta.issuer, meta.doc_number) == ("关于开展科技下乡活动的通知", "浙江省科学技术厅", "浙科发〔2025〕9号")


def test_an_issuer_line_above_the_title_names_the_issuer_and_the_region() -> None:
    # a scanned notice: no `文件` masthead, no 落款 read
    text = "丽水市经济和信息化局\n关于支持企业技术改造的若干意见\n一、对技术改造项目给予补助。\n二、申报截止时间为2025年9月30日。"
    meta = extract_meta(text, {}, "scan.pdf")
    assert (meta.title, meta.issuer, meta.region, meta.level) == (
        "关于支持企业技术改造的若干意见", "丽水市经济和信息化局", "丽水市", "city")


def test_old_metadata_still_builds() -> None:
    # DocMeta made before the 公文 fields existed (positional or by keyword) still works
    assert DocMeta("标题", "机构", "2025-01-02") == DocMeta(title="标题", issuer="机构", date="2025-01-02")
    assert DocMeta().signer == DocMeta().valid_until == _BLANK.status == ""
