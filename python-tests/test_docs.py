"""docs/architecture.md walks one webhook through the code: every file and function it names must exist."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
HOP = re.compile(r"^\|\s*\d+\s*\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|")


def hops():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return [HOP.match(line).groups() for line in text.splitlines() if HOP.match(line)]


def test_the_walk_names_many_hops():
    assert len(hops()) >= 30


def test_every_named_file_and_function_exists():
    missing = []
    for path, function in hops():
        source = ROOT / path
        if not source.is_file():
            missing.append(f"{path} does not exist")
            continue
        text = source.read_text(encoding="utf-8")
        name = function.split(".")[-1].split("(")[0]
        pattern = r"\binit\s*[(<]" if name == "init" else rf"\bfunc\s+{re.escape(name)}\s*[(<]"
        if not re.search(pattern, text):
            missing.append(f"{path} has no function {name}")
    assert not missing, "\n".join(missing)


def test_every_source_file_the_doc_names_exists():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for name in set(re.findall(r"`((?:Sources|Tests)/[^`]+)`", text)):
        assert (ROOT / name).exists(), name
