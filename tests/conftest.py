"""Settings for every test file, loaded by pytest before any of them.

The corpora are read from beside the checkout (`../shared/nltk_data`, as the Makefile does) unless NLTK_DATA
already names them; NLTK reads NLTK_DATA when it is first imported, so this is set before any test imports it.
"""
import os
from pathlib import Path

SHARED_NLTK = Path(__file__).resolve().parents[2] / "shared" / "nltk_data"
if "NLTK_DATA" not in os.environ and SHARED_NLTK.is_dir():
    os.environ["NLTK_DATA"] = str(SHARED_NLTK)
