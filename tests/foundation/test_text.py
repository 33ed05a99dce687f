"""``foundation.text.printable``: what reaches a terminal obeys no control sequence."""

from __future__ import annotations

import re

from foundation.text import printable

#: Anything a terminal acts on: C0 (tab aside), DEL, C1.
CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def test_escape_and_osc_sequences_are_shown_not_obeyed():
    forged = "denied\x1b]0;owned\x07\x1b[2J\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
    shown = printable(forged)
    assert not CONTROL.search(shown)
    assert shown.startswith("denied\\x1b]0;owned\\x07\\x1b[2J")


def test_c1_del_and_line_breaks_are_escaped_in_one_line():
    shown = printable("a\x9b31mb\x7fc\rd\ne\u2028f\u202eg")
    assert shown == "a\\x9b31mb\\x7fc\\x0dd\\x0ae\\u2028f\\u202eg"


def test_plain_text_tabs_and_non_ascii_stay_as_they_are():
    text = "Vault\tkv-contoso: tenant Zürich, 東京 ok"
    assert printable(text) == text


def test_a_table_keeps_its_line_breaks_only_when_asked():
    assert printable("a\nb\x1b", keep_newlines=True) == "a\nb\\x1b"
