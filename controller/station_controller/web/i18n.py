"""Language choice (zh-CN default, English) and label tables ``key → (zh-CN, English)`` for every page."""

from __future__ import annotations

from collections.abc import Callable, Mapping

LANGS = ("zh", "en")
LANG_COOKIE = "sf_lang"

Translator = Callable[[str], str]
LabelTable = Mapping[str, tuple[str, str]]


def pick_lang(query_lang: str | None, cookie_lang: str | None) -> str:
    """``?lang=`` wins over the cookie; anything unknown falls back to zh."""
    for value in (query_lang, cookie_lang):
        if value in LANGS:
            return value
    return LANGS[0]


def table_translator(table: LabelTable, lang: str) -> Translator:
    """A ``t(key)`` over ``table``; an unknown key shows itself so a gap is visible, not fatal."""
    index = LANGS.index(lang) if lang in LANGS else 0

    def t(key: str) -> str:
        pair = table.get(key)
        return pair[index] if pair else key

    return t
