"""The Chinese-text rules every stage shares, one module per concept: places
(`places.py`), sentences (`sentences.py`), figures and numerals (`figures.py`),
document numbers and dates (`docnums.py`), instruction-like text (`injection.py`), and
the word lists kept as data files in `resources/` with their one reader
(`lexicon.py`). This layer imports nothing from `ingest`, `rag`, `ui` or `eval`."""
