"""The README and the guides cannot drift from the code: every relative link and image they name
exists, every `manage.py <command>` they name is a real management command, every command line
in their code blocks parses with that command's own options, and every guide that tells the
reader to type `python manage.py` says how to get Django on the path in a fresh shell."""

import re
import shlex
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
IMAGES = ROOT / "docs" / "images"

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
COMMAND_NAME = re.compile(r"manage\.py\s+([a-z][a-z0-9_]*)|make manage ARGS=\"([a-z][a-z0-9_]*)")
FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
# A shell substitution ($(date ...)) stands for one argument; a date is what the guides use.
SUBSTITUTION = re.compile(r"\$\((?:[^()]|\([^()]*\))*\)")
# Lines showing a command's shape rather than a command: [--optional], <placeholder>, "…".
PLACEHOLDER = re.compile(r"\[--|<[a-zA-Z ]+>|…|\.\.\.")
ACTIVATE = (". .venv/bin/activate", "make manage ARGS=")
# `python manage.py` as typed in a shell; `.venv/bin/python manage.py` runs as written.
BARE_PYTHON = re.compile(r"(?<![/\w])python manage\.py")


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def links(document: Path) -> list[str]:
    return LINK.findall(document.read_text())


def is_external(target: str) -> bool:
    return "://" in target or target.startswith(("mailto:", "#"))


def command_lines(document: Path) -> list[str]:
    """Each `python manage.py …` line of the document's code blocks, from `manage.py` on."""
    found = []
    for block in FENCE.findall(document.read_text()):
        for line in block.splitlines():
            start = line.find("manage.py ")
            if start >= 0 and "python" in line[:start]:
                found.append(line[start:])
    return found


def test_the_documents_are_found():
    names = {relative(document) for document in DOCUMENTS}
    assert {
        "README.md",
        "docs/reviewer-guide.md",
        "docs/authority.md",
        "docs/compliance-guide.md",
    } <= names


@pytest.mark.parametrize("document", DOCUMENTS, ids=relative)
def test_every_relative_link_and_image_resolves(document):
    missing = []
    for target in links(document):
        if is_external(target):
            continue
        path = (document.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            missing.append(target)
    assert missing == [], f"{relative(document)} links to files that do not exist"


def test_the_link_check_sees_links_images_and_titles(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        'See [the API](api.md#keys), ![a queue](images/queue.png "My queue"), '
        "<https://example.com> and [home](https://example.com/x)."
    )
    assert links(page) == ["api.md#keys", "images/queue.png", "https://example.com/x"]


def test_every_picture_in_docs_images_is_shown_by_a_document():
    shown = {
        (document.parent / target).resolve()
        for document in DOCUMENTS
        for target in links(document)
        if not is_external(target)
    }
    unused = [relative(png) for png in sorted(IMAGES.rglob("*.png")) if png.resolve() not in shown]
    assert unused == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=relative)
def test_every_named_management_command_exists(document):
    commands = get_commands()
    named = {a or b for a, b in COMMAND_NAME.findall(document.read_text())}
    assert sorted(named - set(commands)) == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=relative)
def test_every_command_line_parses_with_the_commands_options(document):
    commands = get_commands()
    refused = []
    for line in command_lines(document):
        if PLACEHOLDER.search(line):
            continue
        words = shlex.split(SUBSTITUTION.sub("2026-01-01", line), comments=True)
        name, arguments = words[1], words[2:]
        command = load_command_class(commands[name], name) if name in commands else None
        if command is None:
            refused.append(f"{line}: no such command")
            continue
        try:
            command.create_parser("manage.py", name).parse_args(arguments)
        except Exception as error:  # CommandError: unknown or missing options
            refused.append(f"{line}: {error}")
    assert refused == []


def test_the_command_line_check_refuses_an_unknown_option(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\npython manage.py authority_report --as-at 2026-01-01 --out a.pdf\n```\n"
    )
    (line,) = command_lines(page)
    words = shlex.split(line)
    with pytest.raises(Exception, match="required: --as-of"):
        load_command_class("oversight", words[1]).create_parser("manage.py", words[1]).parse_args(
            words[2:]
        )


@pytest.mark.parametrize("document", DOCUMENTS, ids=relative)
def test_a_document_with_python_manage_py_says_how_to_run_it_in_a_fresh_shell(document):
    text = document.read_text()
    if not BARE_PYTHON.search(text):
        return
    assert any(way in text for way in ACTIVATE), (
        f"{relative(document)} shows `python manage.py` without saying that it needs "
        "`. .venv/bin/activate` (or `make manage ARGS=…`)"
    )
