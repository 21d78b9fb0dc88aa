"""The built wheel installs into a fresh virtual environment and runs there: `mentorbot demo`, then `mentorbot serve`
with /health, the admin stylesheet and sign-in page answering, from a folder with no checkout.

Full scale (`./dev reliability`) is the real thing: `python -m venv`, `pip install mentorbot-*.whl` with every
dependency from the package index, `mentorbot demo` on the shipped roster, then `mentorbot serve` on the demo's
database. The quick scale of the default run installs the same wheel with pip into a fresh venv but borrows the
dependencies from this environment (a .pth line to its site-packages, where nothing of mentorbot's own is read), and
serves a fresh database (migrated from the wheel's migrations); tests/test_package.py runs the demo there.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.releasekit import build_release, project_version
from tests.reliability.conftest import Scale


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_venv(where: Path, wheel: Path, *, full: bool) -> None:
    """A fresh virtual environment with the wheel installed by pip (dependencies from the index when `full`)."""
    if full:
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
        subprocess.run([where / "bin" / "python", "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=1800)
        return
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    (venv_site,) = (where / "lib").glob("python3*/site-packages")
    # Dependencies from this environment: a plain path line, so its .pth files (the editable install) are not run.
    (venv_site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(where / "bin" / "python"), "install", "-q", "--no-deps", str(wheel)],
        check=True, timeout=300,
    )  # fmt: skip


def test_a_fresh_venv_installs_the_wheel_and_runs_demo_and_serve(
    tmp_path: Path, scale: Scale, record_figure: Callable[..., None]
) -> None:
    release = build_release(tmp_path / "release")
    venv = tmp_path / "venv"
    started = time.perf_counter()
    make_venv(venv, release.wheel, full=scale.full)
    install_seconds = time.perf_counter() - started
    mentorbot = venv / "bin" / "mentorbot"
    elsewhere = tmp_path / "elsewhere"  # no checkout, no .env
    elsewhere.mkdir()
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(tmp_path), "LANG": "C.UTF-8"}

    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import bot, storage; print(bot.__file__); print(storage.__file__)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert all(Path(path).is_relative_to(venv) for path in where), where
    version = subprocess.run([mentorbot, "--version"], check=False, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == f"mentorbot {project_version()}", version.stderr

    data, demo_seconds = tmp_path / "data", 0.0
    if scale.full:  # tests/test_package.py runs the demo (from the unpacked wheel) in the default run
        started = time.perf_counter()
        demo = subprocess.run(
            [mentorbot, "demo"], check=False, cwd=elsewhere, env={**env, "DATA_DIR": str(tmp_path / "data")},
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        demo_seconds = time.perf_counter() - started
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "Where to see everything" in demo.stdout and "pairing notices among them" in demo.stdout
        data = tmp_path / "data" / "demo"

    port = free_port()
    server = subprocess.Popen(
        [mentorbot, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=elsewhere,
        env={**env, "DATA_DIR": str(data)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline, health = time.monotonic() + 90, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"{base}/health", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None, f"serve never answered: {server.poll()}"
        assert health.status_code == 200, health.text
        body = health.json()
        assert body["status"] == "ok" and body["database"]["backend"] == "sqlite" and body["database"]["schema"]
        stylesheet = httpx.get(f"{base}/admin/static/admin.css", timeout=10)  # a static file shipped in the wheel
        assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")
        assert len(stylesheet.content) > 100
        login = httpx.get(f"{base}/admin/login", timeout=10)  # a template shipped in the wheel
        assert login.status_code == 200 and "<html" in login.text.lower()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert server.returncode == 0, output
    tried = "venv + pip install (deps from the index) + demo + serve" if scale.full else "venv + pip install (deps borrowed) + serve"
    record_figure(
        "clean install of the wheel", tried=tried, count=1, held="/health 200, admin sign-in page and stylesheet served",
        wheel_bytes=release.wheel.stat().st_size, sdist_bytes=release.sdist.stat().st_size,
        build_seconds=round(release.seconds, 1), install_seconds=round(install_seconds, 1), demo_seconds=round(demo_seconds, 1),
    )  # fmt: skip
