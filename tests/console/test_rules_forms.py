"""The Rules page's decisions (pure functions, no server): the form's text as a wrapper, an
export as wrappers, a stored rule as text to edit, the API's problems; a refused rule's why in
the list; the CLI's import wrapper (shared in pdjira_common.rule_import)."""

from __future__ import annotations

import jinja2
import yaml
from pdjira_common.rule_import import import_wrapper, wrapper_of
from pdjira_console.context import TEMPLATES
from pdjira_console.pages.rules import (
    FormProblem,
    editable_text,
    exported_rules,
    parse_rule_text,
    problem_of,
)

RULE = {"name": "r", "enabled": True, "config": {"projects": [{"key": "OPS"}]}}


def test_the_form_text_is_yaml_or_json_a_bare_rule_or_a_wrapper() -> None:
    wrapped, problems = parse_rule_text("name: r\nenabled: true\nconfig: {}\n")
    assert problems == []
    assert wrapped == {"rule": {"name": "r", "enabled": True, "config": {}}}
    wrapped, problems = parse_rule_text('{"rule": {"name": "r"}, "resolution": "Done"}')
    assert problems == []
    assert wrapped == {"rule": {"name": "r"}, "resolution": "Done"}


def test_text_that_is_no_rule_says_what_is_wrong() -> None:
    assert parse_rule_text("  ") == (
        None,
        [FormProblem("", "the rule is empty: paste or write it as YAML or JSON")],
    )
    _, problems = parse_rule_text("rule: [unclosed")
    assert problems[0].message.startswith("neither YAML nor JSON")
    _, problems = parse_rule_text("- a list")
    assert problems[0].path == "$"
    _, problems = parse_rule_text("rule: 3")
    assert problems == [FormProblem("$.rule", "expected an object with name and config")]


def test_an_export_holds_one_rule_or_a_list() -> None:
    one, problems = exported_rules('{"rule": {"name": "r"}}')
    assert (one, problems) == ([{"rule": {"name": "r"}}], [])
    many, problems = exported_rules('{"rules": [{"name": "a"}, {"rule": {"name": "b"}}]}')
    assert problems == []
    assert many == [{"rule": {"name": "a"}}, {"rule": {"name": "b"}}]
    assert exported_rules('{"rules": []}')[1][0].message.startswith("the list is empty")
    assert exported_rules("[1]")[1][0].path == "$"
    assert exported_rules("")[1][0].message.startswith("paste PagerDuty's JSON")


def test_a_stored_rule_is_edited_without_its_id_extension_account_and_instance() -> None:
    stored = {
        "rule": {**RULE, "id": "R1", "pdjira": {"state": "active"}},
        "account": "main",
        "instance": "dc1",
        "resolution": "Done",
    }
    assert yaml.safe_load(editable_text(stored)) == {"rule": RULE, "resolution": "Done"}


def test_the_api_problems_are_split_into_path_and_message() -> None:
    assert problem_of("$.rule.config.x: status 'A' does not exist; statuses: B") == FormProblem(
        "$.rule.config.x", "status 'A' does not exist; statuses: B"
    )
    assert problem_of("no path: here") == FormProblem("", "no path: here")


def test_the_import_wrapper_takes_our_extension_and_the_chosen_account() -> None:
    listed = {"rule": {**RULE, "pdjira": {"account": "a1", "instance": "i1", "resolution": "X"}}}
    assert import_wrapper(listed)["account"] == "a1"
    assert import_wrapper(listed)["resolution"] == "X"
    chosen = import_wrapper(listed, "a2", "i2")
    assert (chosen["account"], chosen["instance"]) == ("a2", "i2")
    assert import_wrapper({**listed, "resolution": "Y"})["resolution"] == "Y"
    assert wrapper_of(RULE) == {"rule": RULE}


def test_the_list_shows_a_refused_rule_and_why() -> None:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    refused = {
        "id": "cfg-x",
        "name": "x <b>",
        "pdjira": {
            "kind": "simple",
            "state": "refused",
            "account": "main",
            "instance": "main",
            "config_path": "$.rules[0]",
            "refused": ["$.rules[0].on_resolve: status 'Finished' does not exist"],
        },
    }
    html = env.get_template("rules.html").render(
        rules=[refused], error="", nav=[], flash=None, csrf_field=lambda: ""
    )
    assert 'data-state="refused"' in html
    assert "status &#39;Finished&#39; does not exist" in html
    assert "x &lt;b&gt;" in html  # escaped
    assert "($.rules[0])" in html
