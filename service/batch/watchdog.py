"""A watchdog that stops a local Ray instance once its driver dies, however it died.

`ray.init()` without an address starts Ray's processes (GCS, raylet, workers) under the
driver; a driver killed with SIGKILL runs no cleanup, and they lived on (two workers were
alive 60 s after). The driver starts this process beside it (`start`); every `interval_s` it
notes the driver's descendants, and once the driver is gone it terminates those it noted
(each checked to be the same process, not a reused pid), then kills what is left after 5 s.

    python -m service.batch.watchdog DRIVER_PID
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

INTERVAL_S = 0.5


def start() -> subprocess.Popen[bytes]:
    """This process's watchdog, in its own session (a signal to the driver's group spares it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "service.batch.watchdog", str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def watch(driver_pid: int, interval_s: float = INTERVAL_S) -> None:
    """Note `driver_pid`'s descendants until it is gone; then end them."""
    import psutil

    try:
        driver = psutil.Process(driver_pid)
    except psutil.NoSuchProcess:
        return
    noted: dict[int, psutil.Process] = {}
    while _alive(driver):
        with contextlib.suppress(psutil.Error):
            noted.update({child.pid: child for child in driver.children(recursive=True)
                          if child.pid != os.getpid()})  # fmt: skip
        time.sleep(interval_s)
    left = [process for process in noted.values() if process.is_running()]
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(left, timeout=5)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()


def _alive(process: psutil.Process) -> bool:
    import psutil

    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


if __name__ == "__main__":
    watch(int(sys.argv[1]))
