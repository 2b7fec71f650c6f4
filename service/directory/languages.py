"""Language names as written in 211 exports -> ISO 639 codes (the API filters on codes)."""

from __future__ import annotations

import re

LANGUAGE_CODES = {
    "english": "en",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "spanish": "es",
    "creole": "ht",
    "haitian creole": "ht",
    "haitian-creole": "ht",
    "portuguese": "pt",
    "hebrew": "he",
    "russian": "ru",
    "arabic": "ar",
    "italian": "it",
    "greek": "el",
    "yiddish": "yi",
    "german": "de",
    "chinese": "zh",
    "mandarin": "zh",
    "cantonese": "yue",
    "punjabi": "pa",
    "tamil": "ta",
    "urdu": "ur",
    "hindi": "hi",
    "tagalog": "tl",
    "filipino": "tl",
    "vietnamese": "vi",
    "korean": "ko",
    "japanese": "ja",
    "polish": "pl",
    "ojibwe": "oj",
    "ojibway": "oj",
    "cree": "cr",
    "oji-cree": "ojs",
    "inuktitut": "iu",
    "somali": "so",
    "farsi": "fa",
    "persian": "fa",
    "dari": "prs",
    "bengali": "bn",
    "gujarati": "gu",
    "ukrainian": "uk",
    "amharic": "am",
    "tigrinya": "ti",
    "turkish": "tr",
    "american sign language": "ase",
    "asl": "ase",
    "langue des signes québécoise": "fcs",
}

_QUALIFIER = re.compile(r"\s*\(.*\)\s*$")


def language_code(name: str | None) -> str | None:
    """ISO code for a language name; None when the text is not (only) a language name,
    e.g. "other languages available upon request"."""
    if not name:
        return None
    key = _QUALIFIER.sub("", name).strip().lower()  # "Spanish (limited)" -> "spanish"
    if len(key) in (2, 3) and key.isalpha() and key in LANGUAGE_CODES.values():
        return key
    return LANGUAGE_CODES.get(key)
