"""The production files (Dockerfile, compose.yaml, deploy/mentorbot.service) hold their essentials, and the compose
file's start-up commands work outside a container: `mentorbot db upgrade` on an empty PostgreSQL, then two
`mentorbot serve` replicas with the compose environment, both healthy, exactly one scheduler leader.

No container engine runs on the machines these tests run on (no Docker daemon), so the image is not built here.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from storage import db
from tests.test_two_instances import MENTORBOT, _free_port, _health, _wait

ROOT = Path(__file__).resolve().parent.parent
# `mentorbot` run from this checkout's code (the installed script may point at another checkout of the project).
CHECKOUT_MENTORBOT = [sys.executable, "-m", "bot.cli"]
CHECKOUT_PATH = {"PYTHONPATH": str(ROOT)}
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "KEY")


# --- Dockerfile ---------------------------------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continued lines joined."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, arguments = line.strip().partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def test_the_dockerfile_builds_a_wheel_and_runs_it_as_a_non_root_user_with_a_health_check() -> None:
    steps = dockerfile_instructions((ROOT / "Dockerfile").read_text())
    stages = [i for i, (instruction, _) in enumerate(steps) if instruction == "FROM"]
    assert len(stages) == 2, "a build stage and a run stage"
    assert steps[stages[0]][1].startswith("python:3.11-slim") and steps[stages[1]][1] == "python:3.11-slim"
    build, final = steps[stages[0] : stages[1]], steps[stages[1] :]
    assert any(i == "RUN" and "python -m build --wheel" in a for i, a in build)
    assert any(i == "COPY" and a.startswith("--from=build") and ".whl" in a for i, a in final)

    users = [a for i, a in final if i == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    health = " ".join(a for i, a in final if i == "HEALTHCHECK")
    assert "/health" in health and "CMD" in health
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(a for i, a in final if i == "ENV")))
    volumes = " ".join(a for i, a in final if i == "VOLUME")
    assert env["DATA_DIR"] in volumes
    assert env["HTTP_HOST"] == "0.0.0.0"  # reachable from outside the container
    assert [a for i, a in final if i == "CMD"][-1] == '["mentorbot", "serve"]'

    # Nothing secret baked in: no ENV or ARG names a secret, and the image copies no .env file.
    names = [name for i, a in steps if i in ("ENV", "ARG") for name in re.findall(r"(\w+)=", a) + [a.split("=")[0]]]
    assert not [name for name in names if any(word in name.upper() for word in SECRET_WORDS)]
    assert not [a for i, a in steps if i in ("COPY", "ADD") and ".env" in a]


def test_the_docker_build_context_leaves_out_secrets_and_local_data() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".mentorbot", "tests"} <= set(ignored)
    assert ".env" in (ROOT / ".gitignore").read_text().split()  # and `COPY` names only pyproject, README and the code


# --- compose.yaml -------------------------------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def interpolate(value: str, environment: dict[str, str]) -> str:
    """Compose's ${NAME:-default} and ${NAME:?message}, as `docker compose` reads them."""

    def one(match: re.Match) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if environment.get(name):
            return environment[name]
        if operator == ":?":
            raise KeyError(f"{name}: {rest}")
        return rest or ""

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, value)


def test_compose_runs_two_replicas_after_one_migration_on_a_healthy_postgres_with_named_volumes() -> None:
    services = compose()["services"]
    assert services["app"]["deploy"]["replicas"] == 2
    assert services["app"]["command"] == ["mentorbot", "serve"]
    assert services["migrate"]["command"] == ["mentorbot", "db", "upgrade"]
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])

    volumes = compose()["volumes"]
    pg_volume, _, pg_path = services["db"]["volumes"][0].partition(":")
    assert pg_volume in volumes and pg_path == "/var/lib/postgresql/data"
    data_volume, _, data_path = services["app"]["volumes"][0].partition(":")
    assert data_volume in volumes and data_path == services["app"]["environment"]["DATA_DIR"]
    assert services["migrate"]["volumes"] == services["app"]["volumes"]  # both replicas share DATA_DIR's secrets


def test_compose_takes_every_secret_from_the_environment_and_bakes_none_in() -> None:
    services = compose()["services"]
    secrets = {
        (service, name): value
        for service, spec in services.items()
        for name, value in spec.get("environment", {}).items()
        if any(word in name for word in SECRET_WORDS)
    }
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SMTP_PASSWORD", "POSTGRES_PASSWORD"} <= {name for _, name in secrets}
    for (service, name), value in secrets.items():
        assert re.fullmatch(r"\$\{" + name + r"(:-|:\?[^}]+)\}", value), f"{service}.{name} = {value!r} is not taken from the environment"
    # The database password is required, not defaulted, and reaches the URL only by interpolation.
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(services["app"]["environment"]["DATABASE_URL"], {})
    assert interpolate(services["app"]["environment"]["DATABASE_URL"], {"POSTGRES_PASSWORD": "s3cret"}).startswith("postgresql+psycopg://mentorbot:s3cret@db:5432/")


# --- deploy/mentorbot.service -------------------------------------------------------------------------------------

UNIT_KEYS = {
    "Unit": {"Description", "After", "Wants", "Requires", "Documentation"},
    "Service": {
        "Type", "User", "Group", "EnvironmentFile", "Environment", "ExecStartPre", "ExecStart", "Restart", "RestartSec",
        "TimeoutStopSec", "StateDirectory", "StateDirectoryMode", "WorkingDirectory", "UMask", "NoNewPrivileges",
        "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules",
        "ProtectControlGroups", "RestrictSUIDSGID", "RestrictNamespaces", "LockPersonality", "RestrictAddressFamilies",
        "CapabilityBoundingSet", "SystemCallArchitectures",
    },
    "Install": {"WantedBy"},
}  # fmt: skip


def unit_file(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections of a systemd unit, each key with all its values (systemd allows a key more than once)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, equals, value = line.partition("=")
        assert equals and current is not None, f"not a key=value line in a section: {line!r}"
        current.setdefault(key, []).append(value)
    return sections


def test_the_systemd_unit_runs_as_its_own_user_with_secrets_in_a_file_restarts_and_is_hardened() -> None:
    unit = unit_file((ROOT / "deploy" / "mentorbot.service").read_text())
    assert set(unit) == set(UNIT_KEYS)
    for section, keys in unit.items():
        assert set(keys) <= UNIT_KEYS[section], f"unknown keys in [{section}]: {set(keys) - UNIT_KEYS[section]}"
    service = {key: values[-1] for key, values in unit["Service"].items()}
    assert service["User"] not in ("root", "0")
    assert service["EnvironmentFile"].startswith("/etc/")
    assert service["Restart"] in ("on-failure", "always")
    assert service["ExecStartPre"].endswith("mentorbot db upgrade") and service["ExecStart"].endswith("mentorbot serve")
    assert service["NoNewPrivileges"] == "true" and service["ProtectSystem"] == "strict" and service["ProtectHome"] == "true"
    assert service["CapabilityBoundingSet"] == ""  # no capabilities at all
    # DATA_DIR is the state directory, the one place ProtectSystem=strict lets the service write.
    assert f"DATA_DIR=/var/lib/{service['StateDirectory']}" in unit["Service"]["Environment"]
    assert not [v for values in unit["Service"].values() for v in values if re.search(r"(TOKEN|SECRET|PASSWORD)=\S", v)]


def test_systemd_itself_accepts_the_unit(tmp_path: Path) -> None:
    """`systemd-analyze verify`, where systemd is installed, with the install path pointed at this machine's mentorbot."""
    analyze = shutil.which("systemd-analyze")
    text = (ROOT / "deploy" / "mentorbot.service").read_text().replace("/opt/mentorbot/bin/mentorbot", MENTORBOT)
    unit = tmp_path / "mentorbot.service"
    unit.write_text(text)
    if analyze is None:  # no systemd here: the key check above still holds
        assert unit_file(text)["Service"]["ExecStart"] == [f"{MENTORBOT} serve"]
        return
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "mentorbot.service" not in result.stderr, result.stderr


# --- the start-up commands, outside a container -------------------------------------------------------------------


def test_replicas_migrating_an_empty_postgres_at_once_all_succeed(empty_postgres_url: str, tmp_path: Path) -> None:
    """Three `mentorbot db upgrade` processes at once: without the migration lock, some fail on tables another just made."""
    environment = os.environ | CHECKOUT_PATH | {"DATABASE_URL": empty_postgres_url, "DATA_DIR": str(tmp_path)}
    processes = [
        subprocess.Popen([*CHECKOUT_MENTORBOT, "db", "upgrade"], env=environment, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outcomes = [(process.wait(timeout=120), *process.communicate()) for process in processes]
    assert [code for code, _, _ in outcomes] == [0, 0, 0], [err for _, _, err in outcomes]
    assert all(f"Database at revision {db.head_revision()}" in out for _, out, _ in outcomes)


def test_the_compose_start_up_commands_give_two_healthy_replicas_and_one_scheduler_leader(empty_postgres_url: str, tmp_path: Path) -> None:
    services = compose()["services"]
    secrets_unset = {"POSTGRES_PASSWORD": "unused-here"}  # every other ${NAME:-} stays empty, as in a bare `compose up`
    environment = {name: interpolate(str(value), secrets_unset) for name, value in services["app"]["environment"].items()}
    environment |= {"DATABASE_URL": empty_postgres_url, "DATA_DIR": str(tmp_path / "data"), "HTTP_HOST": "127.0.0.1"}
    environment |= {"SWEEP_SECONDS": "1", "LEADER_SECONDS": "1", "LOG_LEVEL": "WARNING"} | CHECKOUT_PATH
    base = {key: value for key, value in os.environ.items() if key not in environment and not key.startswith(("SLACK_", "SMTP_", "IMAP_"))}

    def command(service: str) -> list[str]:
        name, *arguments = services[service]["command"]
        assert name == "mentorbot"
        return [*CHECKOUT_MENTORBOT, *arguments]

    migrated = subprocess.run(command("migrate"), env=base | environment, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert migrated.returncode == 0, migrated.stderr
    assert f"Database at revision {db.head_revision()}" in migrated.stdout

    replicas, urls = [], []
    try:
        for _ in range(services["app"]["deploy"]["replicas"]):
            port = _free_port()
            replicas.append(subprocess.Popen(
                command("app"), env=base | environment | {"HTTP_PORT": str(port)}, cwd=tmp_path,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            ))  # fmt: skip
            urls.append(f"http://127.0.0.1:{port}")
        _wait(lambda: all(_health(url) for url in urls), seconds=90)
        _wait(lambda: any(_health(url)["scheduler"]["leader"] for url in urls), seconds=20)
        healths = [_health(url) for url in urls]
        assert [h["status"] for h in healths] == ["ok", "ok"]
        assert {h["database"]["backend"] for h in healths} == {"postgresql"}
        assert {h["database"]["schema"] for h in healths} == {db.head_revision()}
        assert sorted(h["scheduler"]["leader"] for h in healths) == [False, True]
        assert healths[0]["slack"].startswith("disabled")  # empty ${SLACK_BOT_TOKEN:-} means no Slack, not a crash
        # With EMAIL_TOKEN_SECRET empty, both replicas sign reply addresses with the one secret made in the shared DATA_DIR.
        assert [p.name for p in (tmp_path / "data").iterdir() if "secret" in p.name] == ["email-token-secret"]
        assert len((tmp_path / "data" / "email-token-secret").read_text().strip()) >= 48
    finally:
        for process in replicas:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=20)
    assert [process.returncode for process in replicas] == [0, 0]  # a clean stop on SIGTERM, as `docker stop` sends


def test_the_documented_rollback_takes_the_schema_back_one_release_and_forward_again(empty_postgres_url: str, tmp_path: Path) -> None:
    """docs/deployment.md: `mentorbot db downgrade <previous>`, `mentorbot db current`, then `mentorbot db upgrade`."""
    from alembic.script import ScriptDirectory

    previous = ScriptDirectory(str(db.MIGRATIONS_DIR)).get_revision(db.head_revision()).down_revision
    environment = os.environ | CHECKOUT_PATH | {"DATABASE_URL": empty_postgres_url, "DATA_DIR": str(tmp_path)}

    def mentorbot(*arguments: str) -> str:
        result = subprocess.run([*CHECKOUT_MENTORBOT, *arguments], env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert f"Database at revision {db.head_revision()}" in mentorbot("db", "upgrade")
    assert f"Database at revision {previous}" in mentorbot("db", "downgrade", previous)
    assert f"revision {previous}" in mentorbot("db", "current")
    assert f"Database at revision {db.head_revision()}" in mentorbot("db", "upgrade")
    assert f"mentorbot db downgrade {previous}" in (ROOT / "docs" / "deployment.md").read_text()  # the page names today's step
