"""The docker files, checked without a Docker engine (none runs on the project's machines).

The images install the project with the Makefile's install command (the one README gives),
parse as Dockerfiles, run JupyterLab on port 8888 as a non-root user, and the compose file
mounts nbs/.
"""
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
                "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER"}
PIP_INSTALL = re.compile(r"pip install (?:--quiet )?-e '\.\[(?P<extras>[^\]]*)\]'")


def instructions(path: Path) -> list[tuple[str, str]]:
    "(INSTRUCTION, arguments) pairs of a Dockerfile, continuation lines joined, comments dropped."
    logical, current = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")): continue
        if current and stripped.startswith("#"): continue  # comment inside a continued instruction
        current += " " + stripped
        if current.endswith("\\"):
            current = current[:-1]
            continue
        logical.append(" ".join(current.split())); current = ""
    assert not current, f"{path.name}: the last instruction ends with a line continuation"
    return [(l.split(None, 1)[0], l.split(None, 1)[1] if " " in l else "") for l in logical]


def makefile_install_extras() -> str:
    "The extras of the Makefile's `pip install -e '.[...]'` line (what README's commands install)."
    found = PIP_INSTALL.findall((ROOT / "Makefile").read_text())
    assert len(found) == 1, f"expected one editable install in the Makefile, found {found}"
    return found[0]


DOCKERFILES = {"Dockerfile": makefile_install_extras, "Dockerfile.cuda": lambda: makefile_install_extras() + ",cuda"}


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_dockerfile_parses(name):
    steps = instructions(DOCKER / name)
    keywords = [k.upper() for k, _ in steps]
    assert keywords[0] == "FROM", f"{name} must start with FROM, starts with {keywords[0]}"
    assert set(keywords) <= INSTRUCTIONS, f"unknown instructions in {name}: {set(keywords) - INSTRUCTIONS}"
    assert all(k == k.upper() for k, _ in steps), "instructions are written in capitals"
    assert steps[0][1].startswith("python:3.11"), "the image uses the Python README asks for"


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_dockerfile_runs_lab_as_a_user_on_8888(name):
    steps = instructions(DOCKER / name)
    users = [args.split(":")[0] for k, args in steps if k == "USER"]
    assert users and users[-1] not in ("root", "0"), f"{name} must end as a non-root user, USER lines: {users}"
    exposed = [port for k, args in steps if k == "EXPOSE" for port in args.split()]
    assert "8888" in exposed
    cmd = [args for k, args in steps if k == "CMD"][-1]
    assert cmd.startswith("["), "CMD in exec form, so signals reach JupyterLab"
    assert "lab" in cmd and "--port=8888" in cmd and "--notebook-dir=nbs" in cmd and "--ip=0.0.0.0" in cmd


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_dockerfile_installs_like_the_makefile(name):
    runs = " ".join(args for k, args in instructions(DOCKER / name) if k == "RUN")
    expected = f"pip install -e '.[{DOCKERFILES[name]()}]'"
    assert expected in runs, f"{name} should install with `{expected}`"
    assert "python -m venv .venv" in runs, "the same virtual environment as the Makefile"
    assert f"pip install -e '.[{makefile_install_extras()}]'" in (ROOT / "README.md").read_text(), \
        "README gives the same install command"


def test_instructions_parser_sees_continuations(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("# comment\nFROM python:3.11-slim\nRUN a \\\n    # inner comment\n    && b\nUSER x\n")
    assert instructions(dockerfile) == [("FROM", "python:3.11-slim"), ("RUN", "a && b"), ("USER", "x")]
    dockerfile.write_text("FROM x\nRUN a \\\n")
    with pytest.raises(AssertionError, match="continuation"):
        instructions(dockerfile)


def test_compose_mounts_the_notebooks():
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert {"lab", "lab-cuda"} <= set(services)
    for name, service in services.items():
        dockerfile = DOCKER / service["build"]["context"] / service["build"]["dockerfile"]
        assert dockerfile.resolve().is_file(), f"{name} builds from {dockerfile}, which is missing"
        mounts = [v.split(":") for v in service["volumes"]]
        assert any(host == "../nbs" and target.endswith("/nbs") for host, target, *_ in mounts), \
            f"{name} does not mount nbs/: {service['volumes']}"
        assert "8888:8888" in service["ports"]
    assert services["lab-cuda"]["build"]["dockerfile"].endswith("Dockerfile.cuda")


def test_cuda_extra_is_jax_cuda12():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(dep.startswith("jax[cuda12]") for dep in project["optional-dependencies"]["cuda"])
    assert not any(shlex.split(dep)[0].split("[")[0].lower() in ("tensorflow", "torch", "trax")
                   for dep in project["dependencies"])
