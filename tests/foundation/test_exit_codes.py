"""The README's exit-code table is the enum's documentation: same codes, same words."""

from __future__ import annotations

from pathlib import Path

from foundation.errors import EXIT_CODES, ExitStatus, SecureAppError

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table() -> dict[int, str]:
    section = README.read_text().split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].isdigit():
            rows[int(cells[0])] = cells[1]
    return rows


def test_the_readme_table_lists_exactly_the_enums_codes_with_its_words() -> None:
    assert readme_table() == {int(status): EXIT_CODES[status] for status in ExitStatus}


def test_every_error_class_exits_with_a_documented_status() -> None:
    def subclasses(cls: type[SecureAppError]) -> list[type[SecureAppError]]:
        return [cls] + [s for sub in cls.__subclasses__() for s in subclasses(sub)]

    for cls in subclasses(SecureAppError):
        assert isinstance(cls.exit_code, ExitStatus), cls
