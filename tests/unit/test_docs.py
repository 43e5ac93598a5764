"""The documentation names only what exists: every file path, make target, environment variable, command and page
URL that README.md and docs/ mention, so the docs cannot drift from the code again."""

from __future__ import annotations

import ast
import re
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_CODE = re.compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.S)
_TOP_LEVEL = ("streamlit_app.py", "pages", "backend", "lambdas", "workflow.asl.json", "infra", "tests", "bench", "docs",
              "localaws", "deploy", ".streamlit", ".ci", "Makefile", "requirements", "pyproject.toml")  # fmt: skip
_PATH = re.compile(r"(?<![\w/.-])((?:" + "|".join(map(re.escape, _TOP_LEVEL)) + r")[\w./*-]*)")
_MAKE = re.compile(r"\bmake(?: -C (infra))? ([a-z][\w-]*)")
_VARIABLE = re.compile(r"\bORDERS_[A-Z0-9_]+\b")
_BACKEND_COMMAND = re.compile(r"python -m backend ([a-z]+)((?: --?[a-z-]+)*)")
_LOCALAWS_FLAG = re.compile(r"python -m localaws((?: --?[a-z-]+)*)")
_PAGE_URL = re.compile(r"^/([a-z]+)(?:\?[a-z_]+=.*)?$")


def code_of(path: Path) -> list[str]:
    """The code spans and blocks of a Markdown file: what the doc presents as names to type or read."""
    text = path.read_text(encoding="utf-8")
    return [block or span for block, span in _CODE.findall(text)]


def mentioned(pattern: re.Pattern[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(document, match groups) for every match of pattern in the docs' code."""
    found = []
    for doc in DOCS:
        for code in code_of(doc):
            found += [(doc.name, match.groups()) for match in pattern.finditer(code)]
    return found


@cache
def known_variables() -> frozenset[str]:
    """Every ORDERS_* variable the code reads: settings classes' fields under their prefix, and literal names."""
    from backend.settings import Settings
    from localaws.config import LocalAwsOptions

    names = {f"ORDERS_{field.upper()}" for field in Settings.model_fields}
    names |= {f"ORDERS_LOCAL_{field.upper()}" for field in LocalAwsOptions.model_fields}
    for source in ROOT.glob("**/*.py"):
        if ".venv" not in source.parts and "node_modules" not in source.parts:
            names |= set(_VARIABLE.findall(source.read_text(encoding="utf-8")))
    return frozenset(names)


def make_targets(makefile: Path) -> set[str]:
    """The targets a Makefile defines (a rule may name several: `deploy delete:`)."""
    rules = re.findall(r"^([a-z][\w -]*):(?!=)", makefile.read_text(encoding="utf-8"), re.M)
    return {target for rule in rules for target in rule.split()}


def cli_commands() -> dict[str, set[str]]:
    """python -m backend's subcommands and each one's flags, read from its parser."""
    from backend.cli import parser

    commands: dict[str, set[str]] = {}
    for action in parser()._subparsers._group_actions:  # type: ignore[union-attr]
        for name, subparser in action.choices.items():
            commands[name] = {flag for option in subparser._actions for flag in option.option_strings}
    return commands


def made_paths() -> list[str]:
    """The places .gitignore names (anchored patterns such as .streamlit/secrets.toml or infra/.aws-sam/): files a run
    or the user makes, which a doc may name although a checkout does not hold them."""
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().rstrip("/") for line in lines if "/" in line.strip().rstrip("/") and not line.startswith("#")]


def is_made(path: str) -> bool:
    return any(fnmatch(path, pattern) or fnmatch(path, f"{pattern}/*") for pattern in made_paths())


def page_urls() -> set[str]:
    """The url paths of the app's pages, from the st.Page calls of streamlit_app.py and pages/, and the pages listed
    as Entry("pages/<name>.py", ...) in the menu (pages/ui/menu.py), which the router serves at their file's name."""
    urls: set[str] = set()
    for source in [ROOT / "streamlit_app.py", *(ROOT / "pages").rglob("*.py")]:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if called == "Entry" and node.args and isinstance(node.args[0], ast.Constant):
                urls.add(Path(str(node.args[0].value)).stem)
            if called == "Page":
                keywords = {k.arg: k.value for k in node.keywords}
                target = node.args[0] if node.args else keywords.get("page")
                if "url_path" in keywords and isinstance(keywords["url_path"], ast.Constant):
                    urls.add(str(keywords["url_path"].value))
                elif isinstance(target, ast.Constant) and isinstance(target.value, str):
                    urls.add(Path(target.value).stem)
    return urls


def test_there_are_docs_to_check() -> None:
    assert len(DOCS) >= 7
    assert (ROOT / "README.md").read_text(encoding="utf-8").count("\n") <= 250


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: doc.name)
def test_every_file_path_named_exists(doc: Path) -> None:
    missing = []
    for code in code_of(doc):
        for (path,) in (match.groups() for match in _PATH.finditer(code)):
            path = path.rstrip(".").split("::")[0]
            if path.startswith("requirements") and not path.endswith(".txt"):
                continue
            module = path.replace(".", "/")  # a module named as Python does: pages.ui.frame
            if (ROOT / module).is_dir() or (ROOT / f"{module}.py").exists():
                continue
            if not any(ROOT.glob(path)) and not (ROOT / path).exists() and not is_made(path):
                missing.append(path)
    assert missing == [], f"{doc.name} names paths that do not exist"


def test_every_make_target_named_exists() -> None:
    targets = {"": make_targets(ROOT / "Makefile"), "infra": make_targets(ROOT / "infra" / "Makefile")}
    missing = [f"{doc}: make {'-C infra ' if where else ''}{target}" for doc, (where, target) in mentioned(_MAKE)
               if target not in targets[where or ""]]  # fmt: skip
    assert missing == []


def test_every_orders_variable_named_is_read_by_the_code() -> None:
    missing = sorted({f"{doc}: {name}" for doc in DOCS for code in code_of(doc) for name in _VARIABLE.findall(code)
                      if name not in known_variables()})  # fmt: skip
    assert missing == []


def test_every_command_named_exists_with_its_flags() -> None:
    commands = cli_commands()
    wrong = [f"{doc}: python -m backend {command}{flags}" for doc, (command, flags) in mentioned(_BACKEND_COMMAND)
             if command not in commands or not set(flags.split()) <= commands[command]]  # fmt: skip
    from localaws.__main__ import parser as localaws_parser

    localaws_flags = {flag for option in localaws_parser()._actions for flag in option.option_strings}
    wrong += [f"{doc}: python -m localaws{flags}" for doc, (flags,) in mentioned(_LOCALAWS_FLAG)
              if not set(flags.split()) <= localaws_flags]  # fmt: skip
    assert wrong == []


def test_every_page_url_named_is_a_page() -> None:
    pages = page_urls()
    assert pages, "no st.Page found"
    wrong = [f"{doc.name}: {code}" for doc in DOCS for code in code_of(doc)
             if (match := _PAGE_URL.match(code.strip())) and match.group(1) not in pages]  # fmt: skip
    assert wrong == []
