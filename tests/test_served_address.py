"""One source of truth for the served address: links (admin-link, guides, unsubscribe) name the port the server
listens on, whether it came from HTTP_PORT or `mentorbot serve --port`, unless PUBLIC_BASE_URL says otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.settings import (
    SERVED_AT,
    Settings,
    record_served_address,
    running_base_url,
    served_base_url,
    serving_settings,
)
from tests.emailkit import free_port
from tests.test_cli import MENTORBOT, ROOT, run

NOW = "2026-11-23T17:00:00"


@pytest.fixture(autouse=True)
def _no_address_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PUBLIC_BASE_URL", "HTTP_PORT", "HTTP_HOST", "ADMIN_SECRET"):
        monkeypatch.delenv(name, raising=False)


def _link(tmp_path: Path, *, real_clock: bool = False, **env: str) -> str:
    result = run(tmp_path, *(() if real_clock else ("--now", NOW)), "admin-link", extra_env=env)
    assert result.returncode == 0, result.stderr
    return next(line for line in result.stdout.splitlines() if line.startswith("http"))


def test_unset_the_public_address_follows_the_port_and_set_it_wins() -> None:
    assert Settings(_env_file=None).public_base_url == "http://127.0.0.1:8000"
    assert Settings(_env_file=None, http_port=8080).public_base_url == "http://127.0.0.1:8080"
    assert Settings(_env_file=None, http_host="0.0.0.0", http_port=9000).public_base_url == "http://127.0.0.1:9000"
    assert served_base_url("::", 8001) == "http://[::1]:8001" and served_base_url("fe80::1", 80) == "http://[fe80::1]:80"
    assert Settings(_env_file=None, http_port=8080, public_base_url="https://mentoring.district.example").public_base_url == "https://mentoring.district.example"
    # `serve --port` moves an unset address along, and leaves one set by hand alone.
    assert serving_settings(Settings(_env_file=None), host="127.0.0.1", port=9100).public_base_url == "http://127.0.0.1:9100"
    kept = serving_settings(Settings(_env_file=None, public_base_url="https://m.example"), host="0.0.0.0", port=9100)
    assert kept.public_base_url == "https://m.example" and kept.http_port == 9100


def test_admin_link_names_http_port_a_running_server_and_public_base_url_in_that_order(tmp_path: Path) -> None:
    assert _link(tmp_path, HTTP_PORT="8123").startswith("http://127.0.0.1:8123/admin/link/")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    # A server started with --port 9555 on this DATA_DIR (this process stands in for it: it is alive).
    record_served_address(serving_settings(settings, host="127.0.0.1", port=9555))
    assert _link(tmp_path, HTTP_PORT="8123").startswith("http://127.0.0.1:9555/admin/link/")
    assert _link(tmp_path, PUBLIC_BASE_URL="https://mentoring.district.example/").startswith("https://mentoring.district.example/admin/link/")
    # A note left by a server that is gone (killed, so it could not remove it) is not believed.
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    (tmp_path / "data" / SERVED_AT).write_text(json.dumps({"url": "http://127.0.0.1:9555", "pid": int(gone.stdout)}), encoding="utf-8")
    assert running_base_url(Settings(_env_file=None, data_dir=tmp_path / "data", http_port=8123)) == "http://127.0.0.1:8123"
    (tmp_path / "data" / SERVED_AT).write_text("{not json", encoding="utf-8")
    assert _link(tmp_path).startswith("http://127.0.0.1:8000/admin/link/")


def test_the_link_admin_link_prints_opens_on_a_server_started_with_port(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATA_DIR", "PUBLIC_BASE_URL", "HTTP_PORT", "HTTP_HOST", "ADMIN_SECRET")}
    env.update({"DATA_DIR": str(data), "PYTHONPATH": str(ROOT), "SCHEDULER_ENABLED": "false", "HTTP_WORKERS": "1"})
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([MENTORBOT, "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text(errors="replace")
            time.sleep(0.1)
        url = _link(tmp_path, real_clock=True)  # the server checks the link's expiry on its own clock
        assert url.startswith(f"http://127.0.0.1:{port}/admin/link/")
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and 'name="token"' in page.text, page.text
        assert f"Serving at http://127.0.0.1:{port}" in (tmp_path / "serve.log").read_text(errors="replace")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert not (data / SERVED_AT).exists()  # a server that stopped takes its note with it
    assert _link(tmp_path).startswith("http://127.0.0.1:8000/")
