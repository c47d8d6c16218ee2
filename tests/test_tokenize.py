from ingest.tokenize import Tokenizer


def test_domain_words_stay_whole_and_aliases_fold_to_canonical_terms() -> None:
    tk = Tokenizer()
    assert "高新技术企业" in tk.tokens("全省新认定高新技术企业5000家")
    assert "高新技术企业" in tk.tokens("今年高企目标多少家")
    assert "科技型中小企业" in tk.tokens("科小呢")
    assert "研发费用加计扣除" in tk.tokens("落实企业研发费用加计扣除政策")


def test_stopwords_and_punctuation_are_dropped_numbers_kept() -> None:
    toks = Tokenizer().tokens("比重超过67.5%，的、和。")
    assert "67.5%" in toks
    assert not {"的", "和", "，", "。", "、"} & set(toks)
