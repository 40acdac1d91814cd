"""Hostile values in every field of every input path: refused clearly, or rendered harmlessly.

Issue 9 item 2. For each input path (AWS's XML, Generic text and strongSwan
download, an answers file, the questions the TUI and the plain prompts ask)
and for each field it has, hypothesis puts hostile text (line breaks, \\r,
NUL, quotes, `include /etc/shadow`, `#`, braces, YAML specials, `=`, U+2028,
U+0085...) around, inside or instead of the field's value. The outcome must
be a refusal that names where (the line or element, the key, the field) and
quotes nothing raw, or a setup whose plan, for every backend and persistence,
reads back with no directive the model did not call for (injection_support).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from injection_support import hostile, message_is_clear, refused_or_safe, vpc_for
from tally import tried

from wizard import aws
from wizard.answers import AnswersError, dump_answers, parse_answers, resolve
from wizard.model import Setup
from wizard.questions import QUESTIONS, Question

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
XML = (EXAMPLES / "aws-config.xml").read_text(encoding="utf-8")
GENERIC = (EXAMPLES / "aws-generic.txt").read_text(encoding="utf-8")
STRONGSWAN = (EXAMPLES / "aws-strongswan-seed.txt").read_text(encoding="utf-8")
EXAMPLES_PER_FIELD = 12 * max(1, int(os.environ.get("VPN_WIZARD_FUZZ", "1")))

Span = tuple[str, int, int]


def _spans(text: str, patterns: list[tuple[str, str]]) -> list[Span]:
    """(label, start, end) of each match's group 1, labelled by pattern and occurrence."""
    out: list[Span] = []
    seen: dict[str, int] = {}
    for label, pattern in patterns:
        for match in re.finditer(pattern, text, re.M):
            if not match.group(1).strip():
                continue
            key = f"{label}:{match.group(1)[:12]}" if "{}" not in label else label
            seen[key] = seen.get(key, 0) + 1
            out.append((f"{key}#{seen[key]}", match.start(1), match.end(1)))
    return out


def _xml_fields() -> list[Span]:
    body = XML[XML.index("<vpn_connection"):]
    offset = len(XML) - len(body)
    spans = _spans(body, [("id", r'<vpn_connection id="([^"]*)"'),
                          ("text", r"<([a-z_]+)>(?=[^<\s])")])
    fields: list[Span] = []
    for label, start, end in spans:
        if label.startswith("id"):
            fields.append((label, start + offset, end + offset))
            continue
        tag = body[start:end]
        close = body.index(f"</{tag}>", end)
        fields.append((f"{tag}#{label.rsplit('#', 1)[1]}", end + 1 + offset, close + offset))
    return fields


def _xml_escape(value: str) -> str:
    out = []
    for char in value:
        if char in "&<>\"'" or char in "\n\r\t":
            out.append(f"&#{ord(char)};")
        else:
            out.append(char)
    return "".join(out)


def _generic_fields() -> list[Span]:
    return _spans(GENERIC, [("dash", r"^\s*-\s*([^:\n]+?)\s*:\s*\S"),
                            ("value", r"^\s*-\s*[^:\n]+:\s*(\S[^\n]*?)\s*$"),
                            ("id", r"^Your [^:\n]+:\s*(\S+)\s*$"),
                            ("heading", r"^(IPsec Tunnel #[0-9]+)\s*$")])


def _strongswan_fields() -> list[Span]:
    return _spans(STRONGSWAN, [("conn", r"^conn ([^\s]+)"),
                               ("key", r"^\t([a-z]+)=\S"),
                               ("value", r"^\t[a-z]+=([^\n]+)$"),
                               ("psk", r':\s*PSK\s+"([^"\n]*)"'),
                               ("ids", r"^([0-9.]+ [0-9.]+) :"),
                               ("id", r"Your [^:\n]+:\s*(\S+)\s*$"),
                               ("ip", r"^\s*(?:sudo )?ip (?:addr|link) add ([^\n]+)$")])


def _imported_setup(imported: aws.Imported) -> Setup:
    setup = Setup(imported.connection)
    return replace(setup, choices=replace(setup.choices, vpc_cidrs=vpc_for(setup)))


BASE_SETUP = _imported_setup(aws.parse(GENERIC, "aws-generic.txt"))
ANSWERS = dump_answers(BASE_SETUP, include_secrets=True)


def _answers_fields() -> list[Span]:
    return _spans(ANSWERS, [("key", r'^([a-z_]+) = "'), ("{}", r'^[a-z_]+ = "([^"\n]*)"'),
                            ("{}", r'^[a-z_]+ = \[(?:"[^"\n]*", )*"([^"\n]*)"\]')])


def _label_answers(spans: list[Span]) -> list[Span]:
    """Label each answers span by the key of its line and the table it is in."""
    out = []
    for label, start, end in spans:
        line_start = ANSWERS.rfind("\n", 0, start) + 1
        key = ANSWERS[line_start:ANSWERS.index(" ", line_start)]
        table = ANSWERS.rfind("\n[", 0, start)
        section = ANSWERS[table + 1:ANSWERS.index("\n", table + 1)]
        tunnel = ANSWERS.count("[[tunnels]]", 0, start)
        out.append((f"{section}{tunnel or ''}.{key}.{label.split('#')[0]}#{label.split('#')[1]}",
                    start, end))
    return out


def _run(family: str, document: str, span: Span, value: str,
         read: Callable[[str], Setup]) -> None:
    _, start, end = span
    tried(f"injection-{family}")
    text = document[:start] + value + document[end:]
    try:
        setup = read(text)
    except aws.AwsFileError as exc:
        message_is_clear(str(exc))
        return
    except AnswersError as exc:
        message_is_clear(str(exc))
        assert exc.key or exc.path
        return
    refused_or_safe(setup)


def _import(text: str) -> Setup:
    return _imported_setup(aws.parse(text, "aws-file"))


def _answers(text: str) -> Setup:
    resolved = resolve(parse_answers(text, "answers.toml"), None).setup
    return resolved


@pytest.mark.parametrize("span", _xml_fields(), ids=lambda s: s[0])
def test_injection_xml(span: Span) -> None:
    @settings(max_examples=EXAMPLES_PER_FIELD)
    @given(value=hostile(XML[span[1]:span[2]]))
    def check(value: str) -> None:
        _run("xml", XML, span, _xml_escape(value), _import)

    check()


@pytest.mark.parametrize("span", _generic_fields(), ids=lambda s: s[0])
def test_injection_generic(span: Span) -> None:
    @settings(max_examples=EXAMPLES_PER_FIELD)
    @given(value=hostile(GENERIC[span[1]:span[2]]))
    def check(value: str) -> None:
        _run("generic", GENERIC, span, value, _import)

    check()


@pytest.mark.parametrize("span", _strongswan_fields(), ids=lambda s: s[0])
def test_injection_strongswan(span: Span) -> None:
    @settings(max_examples=EXAMPLES_PER_FIELD)
    @given(value=hostile(STRONGSWAN[span[1]:span[2]]))
    def check(value: str) -> None:
        _run("strongswan", STRONGSWAN, span, value, _import)

    check()


@pytest.mark.parametrize("span", _label_answers(_answers_fields()), ids=lambda s: s[0])
def test_injection_answers(span: Span) -> None:
    @settings(max_examples=EXAMPLES_PER_FIELD)
    @given(value=hostile(json.loads('"' + ANSWERS[span[1]:span[2]] + '"')))
    def check(value: str) -> None:
        # json's escapes (\n, \u2028, \"...) are TOML's: the parser receives `value` itself.
        escaped = json.dumps(value)[1:-1]
        _run("answers", ANSWERS, span, escaped, _answers)

    check()


_ASKED = [q for q in QUESTIONS if q.kind in ("text", "secret", "select", "multi")]


@pytest.mark.parametrize("question", _ASKED, ids=lambda q: q.id)
def test_injection_questions(question: Question) -> None:
    """The TUI and the plain prompts both hand the typed text to `Question.apply`."""
    current = question.read(BASE_SETUP)
    original = current if isinstance(current, str) else " ".join(current)  # type: ignore[arg-type]

    @settings(max_examples=EXAMPLES_PER_FIELD)
    @given(value=hostile(str(original)), as_list=st.booleans())
    def check(value: str, as_list: bool) -> None:
        tried("injection-questions")
        answer: object = value
        if question.kind == "multi" and as_list:
            answer = tuple(value.split(","))
        try:
            setup = question.apply(BASE_SETUP, answer)  # type: ignore[arg-type]
        except ValueError as exc:
            message_is_clear(str(exc))
            return
        refused_or_safe(setup)

    check()


def test_every_input_path_has_fields() -> None:
    """The field finders above found what they should (a broken regex would test nothing)."""
    assert len(_xml_fields()) >= 50
    assert len(_generic_fields()) >= 60
    assert len(_strongswan_fields()) >= 50
    assert len(_answers_fields()) >= 20
    assert len(_ASKED) >= 25
    assert refused_or_safe(BASE_SETUP) == "planned"
