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


# Claims the docs make about the code, each checked against it: a claim that stops being true fails here.

def sources(folder="Sources", skip=()):
    for path in (ROOT / folder).rglob("*.swift"):
        if not any(part in path.parts for part in skip):
            yield path, path.read_text(encoding="utf-8")


def test_constant_time_claims_name_the_file_that_compares():
    # A hop that says "constant time" names the file where the comparison is.
    for path, function in hops():
        row = next(line for line in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines()
                   if f"`{path}` | `{function}`" in line)
        if "constant time" in row:
            assert "constantTimeEquals" in (ROOT / path).read_text(encoding="utf-8"), row


def test_foundations_json_coders_only_in_the_emulator():
    # architecture.md: "Foundation's JSON coders are used only by the emulator".
    coder = re.compile(r"\b(JSONDecoder|JSONEncoder)\s*\(|\bJSONSerialization\.")
    found = [str(p.relative_to(ROOT)) for p, text in sources(skip=("JiraEmulator",)) if coder.search(text)]
    assert not found, found


def test_no_thread_waits_for_a_statement():
    # architecture.md and development.md: statements are async, and no thread waits for one.
    found = [str(p.relative_to(ROOT)) for p, text in sources() if re.search(r"\.wait\(\)", text)]
    assert not found, found


def test_tests_wait_only_through_eventually():
    # development.md: no Thread.sleep in Tests/, and Task.sleep only in `eventually` and the slow client.
    allowed = {"Tests/TestDatabases/Eventually.swift", "Tests/ServerTests/IntakeDefenseTests.swift"}
    threads = [str(p.relative_to(ROOT)) for p, text in sources("Tests") if "Thread.sleep" in text]
    tasks = {str(p.relative_to(ROOT)) for p, text in sources("Tests") if "Task.sleep" in text}
    assert not threads, threads
    assert tasks <= allowed, tasks - allowed
    assert sum(text.count("Task.sleep") for _, text in sources("Tests")) <= 3


def test_the_module_map_names_the_targets_there_are():
    package = (ROOT / "Package.swift").read_text(encoding="utf-8")
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text[text.index("## Module map"):text.index("`Sources/Server` by role")]
    targets = re.findall(r"^\| `([A-Za-z-]+)` \|", table, flags=re.M)
    assert len(targets) >= 6, targets
    for target in targets:
        assert f'name: "{target}"' in package, target


def test_the_server_folders_the_doc_lists_exist():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for folder in re.findall(r"^\| `([A-Za-z]+)/` \|", text, flags=re.M):
        assert (ROOT / "Sources" / "Server" / folder).is_dir(), folder
