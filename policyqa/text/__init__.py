"""The Chinese-text rules every stage shares, one module per concept: places
(`places.py`: also the scope words 全省/本市), sentences (`sentences.py`), Chinese
numerals (`numerals.py`), figures (`figures.py`), document numbers (`docnums.py`), dates
(`dates.py`), which characters a text is read in (`characters.py`: radicals, traditional
characters), instruction-like text (`injection.py`), and the word lists kept as data
files in `resources/` with their one reader (`lexicon.py`). This layer imports nothing
from `ingest`, `rag`, `ui` or `eval`."""
