"""The wheel works: built from the repository, installed with ``pip install`` (not ``-e``) into
a fresh virtual environment outside it, it ingests a memo, answers a question about it and
serves the API.

Installing torch and the other dependencies again would download gigabytes, so the new
environment sees the ones this environment already has, through a folder of links to them
(every distribution except this project's own editable install). ``pip install --no-index``
then resolves the wheel's declared dependencies against those: one that is declared but not
installed fails the install, as it would for a user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MEMO, ROOT, free_port, stop, wait_for

pytestmark = pytest.mark.slow

#: What a source checkout holds that is no part of the product's source.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "brief-data",
    "artifacts",
    ".env",
)
#: The product's package folders.
PACKAGES = ("assistant", "ingest", "prompts")
#: Run in the new venv: where the product is imported from, and what the wheel put there.
PROBE = """
import json
from pathlib import Path
import app, assistant, assistant.briefing, assistant.index, ingest.loaders, prompts
from assistant.answering.prompts import load
site = Path(assistant.__file__).parents[1]
files = {
    name: sorted(
        str(p.relative_to(site / name))
        for p in (site / name).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    for name in ("assistant", "ingest", "prompts")
}
print(json.dumps({
    "assistant": assistant.__file__, "app": app.__file__, "prompt": bool(load("answer")),
    "files": files,
}))
"""
#: A question the memo answers, and the figure the answer must quote from it.
QUESTION = "How much would the new depot cost?"
FIGURE = "38 million pounds"


def build_wheel(out: Path) -> Path:
    """Build the project's wheel into ``out`` from a copy of the checkout (so no build files
    land in the shared working tree) and return its path."""
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet"]
    built = subprocess.run(
        [*pip, "-w", str(out / "wheels"), str(source)], capture_output=True, text=True, cwd=out
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (out / "wheels").glob("briefing_assistant-*.whl")
    return wheel


def installed_elsewhere(folder: Path, leave_out: tuple[str, ...] = ()) -> Path:
    """A folder of links to every distribution installed here, except this project itself
    (its editable install would put the repository back on the path) and the names in
    ``leave_out``."""
    folder.mkdir()
    ours = {*PACKAGES, "app.py"}
    sites = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    for site in map(Path, sites):
        for entry in site.iterdir():
            name = entry.name
            if (
                name in ours
                or name.startswith(("briefing_assistant", "__editable__", *leave_out))
                or entry.suffix == ".pth"  # read only in site folders, not on the path
            ):
                continue
            link = folder / entry.name
            if not link.exists():
                link.symlink_to(entry)
    return folder


def fresh_venv(path: Path, shared: Path) -> Path:
    """A new virtual environment at ``path`` whose path also holds ``shared``; returns its
    Python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "shared-dependencies.pth").write_text(f"{shared}\n")
    return python


def pip_install(python: Path, wheel: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``pip install --no-index wheel`` into ``python``'s environment (pip itself comes from
    this one, through ``--python``)."""
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    return subprocess.run(
        [*pip, "install", "--no-index", "--no-cache-dir", str(wheel)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_env(python.parent),
    )


def clean_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a user of the new venv: its ``bin`` first on ``PATH``, nothing that
    points back at this one or at the repository, offline."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith("BRIEF_")
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(bin_dir.parent),
        PYTHONNOUSERSITE="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        GRADIO_ANALYTICS_ENABLED="False",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Iterator[Path]:
    """A fresh venv outside the repository with the wheel installed; yields its ``bin``."""
    home = tmp_path_factory.mktemp("user")
    assert ROOT not in home.parents
    python = fresh_venv(home / "venv", installed_elsewhere(home / "shared"))
    done = pip_install(python, wheel, home)
    assert done.returncode == 0, done.stdout + done.stderr
    yield python.parent


def test_the_wheel_holds_every_module_and_data_file(installed: Path, tmp_path: Path) -> None:
    probe = subprocess.run(
        [str(installed / "python"), "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(installed),
    )
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    venv = installed.parent
    assert Path(found["assistant"]).is_relative_to(venv), found  # the wheel's copy, not ours
    assert Path(found["app"]).is_relative_to(venv), found
    assert found["prompt"]
    assert found["files"] == product_files(ROOT)


def product_files(root: Path) -> dict[str, list[str]]:
    """Every file of the packages under ``root``, by package folder, without caches."""
    return {
        name: sorted(
            str(p.relative_to(root / name))
            for p in (root / name).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
        for name in PACKAGES
    }


def test_the_installed_brief_ingests_answers_and_serves(installed: Path, tmp_path: Path) -> None:
    brief = installed / "brief"
    assert brief.exists(), "the wheel installs no brief command"
    memo = tmp_path / "depot-memo.txt"
    shutil.copy(MEMO, memo)
    env = clean_env(installed, BRIEF_DATA_DIR=str(tmp_path / "data"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(brief), *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300
        )

    ingested = run("ingest", str(memo))
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    assert "1 ingested" in ingested.stdout + ingested.stderr

    asked = run("ask", "--json", QUESTION)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert not answer["abstained"], answer
    quotes = [c["quote"] for c in answer["citations"]]
    memo_text = " ".join(MEMO.read_text().split())
    assert any(FIGURE in q for q in quotes), quotes
    assert all(" ".join(q.split()) in memo_text for q in quotes), quotes  # verbatim

    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [str(brief), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-samples"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}/api/v1/health"
            health = wait_for(
                server,
                lambda: (r := httpx.get(url, timeout=5)).status_code == 200 and r,
                log_path,
                timeout=180,
                what="brief serve from the wheel",
            )
            assert health.status_code == 200 and health.json()["documents"] == 1
        finally:
            stop(server)
