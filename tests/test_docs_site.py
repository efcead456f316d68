"""The documentation: the MkDocs site under docs/ builds with --strict (a broken link, anchor, snippet or a page
left out of the nav fails it), and the README, which is not part of the site, links to files that exist, shows
a spec that builds, and gives the set-up commands that .ci/run runs."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import yaml

from metricgen.compiler import generate_from_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner about its successor, on every build


def build_site(project: Path, site: Path) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of the project's mkdocs.yml, run from the project's root as a developer would
    (the README snippets' paths are relative to it)."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=project,
        env=QUIET,
        capture_output=True,
        text=True,
        timeout=300,
    )


def nav_pages(config: dict) -> list[str]:
    """Every page the nav names, depth first."""
    pages = []

    def walk(entries):
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            if isinstance(value, list):
                walk(value)
            else:
                pages.append(value)

    walk(config["nav"])
    return pages


def test_the_site_builds_strictly_with_every_page(tmp_path):
    built = build_site(ROOT, tmp_path / "site")
    assert built.returncode == 0, built.stderr
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs" and config["strict"] is True
    assert sorted(nav_pages(config)) == sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    for page in nav_pages(config):
        html = "index.html" if page == "index.md" else f"{page.removesuffix('.md')}/index.html"
        assert (tmp_path / "site" / html).is_file(), page
    # the home page takes the README's quick start as it is written, and the schema specs point at is published
    home = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "metricgen new macro_f1 --from F1Score" in re.sub(r"<[^>]+>", "", home)
    assert (tmp_path / "site" / "spec.schema.json").read_bytes() == (ROOT / "docs" / "spec.schema.json").read_bytes()


def test_a_broken_link_anchor_or_snippet_fails_the_build(tmp_path):
    """The strict build is what catches them: a copy of the docs with each mistake does not build."""
    mistakes = {
        "a page that does not exist": ("limits.md", "See [nowhere](nowhere.md).", "'nowhere.md'"),
        "an anchor that does not exist": ("limits.md", "See [it](workflow.md#no-such-part).", "'#no-such-part'"),
        "a README section that does not exist": ("index.md", '--8<-- "README.md:no_such_part"', "no_such_part"),
    }
    for name, (page, text, named) in mistakes.items():
        copy = tmp_path / name.replace(" ", "_")
        copy.mkdir()
        shutil.copy(ROOT / "mkdocs.yml", copy)
        shutil.copy(README, copy)
        shutil.copytree(ROOT / "docs", copy / "docs")
        with open(copy / "docs" / page, "a", encoding="utf-8") as broken:
            broken.write(f"\n{text}\n")
        built = build_site(copy, copy / "site")
        assert built.returncode != 0, name
        assert named in built.stderr, (name, built.stderr)


def test_a_page_left_out_of_the_nav_fails_the_build(tmp_path):
    shutil.copy(ROOT / "mkdocs.yml", tmp_path)
    shutil.copy(README, tmp_path)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "docs" / "orphan.md").write_text("# Orphan\n", encoding="utf-8")
    built = build_site(tmp_path, tmp_path / "site")
    assert built.returncode != 0
    assert "orphan.md" in built.stderr


def test_the_readmes_links_name_files_that_exist():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8"))
    local = [link for link in links if "://" not in link]
    assert "docs/language.md" in local and "docs/workflow.md" in local
    assert [link for link in local if not (ROOT / link).exists()] == []


def test_the_readmes_spec_builds():
    readme = README.read_text(encoding="utf-8")
    spec = re.search(r"A spec looks like this:\n\n```yaml\n(.*?)```", readme, re.S)[1]
    source = generate_from_text(spec, "specs/dice.yaml")
    assert "class DiceCoefficient(" in source


@pytest.mark.parametrize("average", ["micro", "none"])
@pytest.mark.parametrize("ignore_index", [None, 2])
def test_the_readmes_language_example_matches_numpy(average, ignore_index):
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## More of the language, by example", 1)[1]
    spec = re.search(r"```yaml\n(.*?)```", section, re.S)[1]
    module = types.ModuleType("readme_top_k_hits")
    exec(compile(generate_from_text(spec, "specs/top_k_hits.yaml", "keras"), "top_k_hits.py", "exec"), module.__dict__)
    with pytest.raises(ValueError, match="got 5 and 4"):
        module.TopKHits(num_classes=4, top_k=5)
    rng = np.random.default_rng(1)
    y_true, y_pred, w = rng.integers(0, 4, 40), rng.random((40, 4)).astype(np.float32), rng.random(40)
    metric = module.TopKHits(num_classes=4, top_k=2, average=average, ignore_index=ignore_index)
    metric.update_state(y_true[:25], y_pred[:25], sample_weight=w[:25])
    metric.update_state(y_true[25:], y_pred[25:], sample_weight=w[25:])
    kept = y_true != ignore_index
    hit = (np.argsort(-y_pred, axis=1)[:, :2] == y_true[:, None]).any(axis=1) & kept
    if average == "micro":
        expected = np.sum(w * hit) / np.sum(w * kept)
    else:
        expected = [np.sum((w * hit)[y_true == c]) / np.sum((w * kept)[y_true == c]) for c in range(4)]
        expected = np.where(np.arange(4) == ignore_index, 0.0, expected)  # a class left out reads 0
    np.testing.assert_allclose(np.asarray(metric.result()), expected, rtol=1e-5)


def readme_steps(marker: str) -> list[list[str]]:
    """The steps (split at `&&`, then into words) of the README's one set-up command that contains `marker`."""
    section = README.read_text(encoding="utf-8").split("\n## Set-up", 1)[1].split("\n## ", 1)[0]
    (command,) = [c for c in re.findall(r"```bash\n(.*?)\n```", section, re.S) if marker in c]
    return [shlex.split(step) for step in command.split("&&")]


def after(words: list[str], word: str) -> list[str]:
    return words[words.index(word) + 1 :]


def test_the_readmes_test_command_is_what_ci_runs():
    """The README's second set-up command installs what .ci/run installs and runs the suite as .ci/run does."""
    venv, install, run = readme_steps("pytest")
    ci = [shlex.split(line, comments=True) for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    (ci_install,) = [line for line in ci if line[:4] == ["python", "-m", "pip", "install"] and "-e" in line]
    assert venv == ["python3", "-m", "venv", ".venv"]
    assert after(install, "install") == [w for w in after(ci_install, "install") if w != "--quiet"]
    assert ["python", "-m", "pytest", "-q"] in ci
    assert run == [".venv/bin/python", "-m", "pytest", "-q"]


def test_the_readmes_build_command_builds_the_shipped_specs_for_every_target():
    """`metricgen build` with no paths in this repository reads [tool.metricgen]: every target, as the set-up
    says."""
    venv, install, build = readme_steps("metricgen build")
    assert (venv, install, build) == (
        ["python3", "-m", "venv", ".venv"],
        [".venv/bin/pip", "install", "-e", "."],
        [".venv/bin/metricgen", "build"],
    )
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["metricgen"]
    assert table == {"specs": ["specs"], "targets": ["tf", "keras", "torchmetrics", "jax"], "out": "generated"}
