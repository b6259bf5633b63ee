"""Process management of `VLLMServer` with stand-in processes (the real vLLM: test_vllm.py)."""

import sys
import time
from pathlib import Path

import httpx
import pytest

from generators.errors import ServerStartError
from generators.server import VLLMServer, find_vllm_python, server_root
from tests.loopback import free_port

HEALTHY = """
import http.server, sys
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
print("listening", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""


def test_a_healthy_server_is_waited_for_and_stopped(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    server = VLLMServer([sys.executable, "-c", HEALTHY, str(port)], {}, tmp_path / "log")
    with server:
        assert server.wait_healthy(url, timeout_s=20) < 20
        assert server.running()
    assert not server.running()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health")
    assert "listening" in server.log_tail()


def test_a_server_that_dies_during_start_up_shows_its_log(tmp_path: Path) -> None:
    crash = "import sys; print('ValueError: no such model', flush=True); sys.exit(3)"
    server = VLLMServer([sys.executable, "-c", crash], {}, tmp_path / "log")
    with server, pytest.raises(ServerStartError) as raised:
        server.wait_healthy(f"http://127.0.0.1:{free_port()}/v1", timeout_s=20)
    assert "exited with code 3" in str(raised.value)
    assert "ValueError: no such model" in str(raised.value)


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    server = VLLMServer([sys.executable, "-c", "import time; time.sleep(60)"], {}, tmp_path / "l")
    started = time.monotonic()
    with server, pytest.raises(ServerStartError, match=r"not healthy at .* within 1 s"):
        server.wait_healthy(f"http://127.0.0.1:{free_port()}/v1", timeout_s=1)
    assert time.monotonic() - started < 30
    assert not server.running()


def test_finding_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ServerStartError, match="does not exist"):
        find_vllm_python(str(tmp_path / "nope" / "python"))
    monkeypatch.setenv("SXS_VLLM_PYTHON", sys.executable)
    assert find_vllm_python() == sys.executable
    assert server_root("http://h:1/v1/") == "http://h:1"
