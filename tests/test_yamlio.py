"""Front matter reading and writing: YAML 1.2 core semantics, line numbers, round trips."""

import pytest

from livret.store.yamlio import FrontMatterError, dump_yaml, load_yaml, parse_front_matter, render_front_matter


def test_times_dates_and_yes_stay_text():
    doc = parse_front_matter("---\nat: 10:00\nday: 2026-03-01\nflag: no\non: yes\nn: 3\nx: 1.5\nb: true\n---\nBody\n")
    assert doc.data == {"at": "10:00", "day": "2026-03-01", "flag": "no", "on": "yes", "n": 3, "x": 1.5, "b": True}
    assert doc.body == "Body\n"


def test_lines_are_file_lines():
    doc = parse_front_matter("---\nid: a\ncompetencies:\n  - code: C1\n    level: 2\n---\n")
    assert doc.line_of(("id",)) == 2
    assert doc.line_of(("competencies", 0, "level")) == 5
    assert doc.line_of(("competencies", 0, "unknown")) == 4  # deepest known key
    assert doc.line_of(("nowhere",)) == 2


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("no front matter\n", 1, "pas d'en-tête"),
        ("---\ntitle: x\n", 1, "non fermé"),
        ("---\ntitle: [unclosed\n---\n", 2, "YAML invalide"),
        ("---\n- a\n- b\n---\n", 2, "dictionnaire"),
        ("---\ntitle: a\ntitle: b\n---\n", 3, "en double"),
    ],
)
def test_broken_front_matter_names_the_line(text, line, words):
    with pytest.raises(FrontMatterError) as err:
        parse_front_matter(text)
    assert err.value.line == line
    assert words in err.value.message


def test_writer_keeps_order_and_quotes_what_yaml11_misreads():
    data = {"z": "10:00", "a": "yes", "date": "2026-03-01T10:00:00+01:00", "n": "12", "multi": "a\nb"}
    text = render_front_matter(data, "Texte")
    assert text.index("z:") < text.index("a:")
    assert "z: '10:00'" in text and "a: 'yes'" in text and "n: '12'" in text
    assert "date: 2026-03-01T10:00:00+01:00" in text
    import yaml  # a YAML 1.1 reader reads the same texts back

    assert yaml.safe_load(dump_yaml(data))["z"] == "10:00"
    assert parse_front_matter(text).data == data


def test_empty_front_matter_is_an_empty_mapping():
    assert load_yaml("").data == {}
