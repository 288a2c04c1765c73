"""A download killed (SIGKILL) at random moments, again and again, then finished: the file's
SHA-256 matches, every kill left a true prefix in the part and nothing at the destination."""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from app.sync.download import DownloadProgress, download
from tests.reliability.coordinator_site import FILES, Site
from tests.reliability.download_child import ROOT, command

KILLS = 8


@pytest.mark.slow
def test_killed_downloads_resume_and_end_with_the_right_hash(site: tuple[Site, list[Any]], tmp_path: Path) -> None:
    coordinator, asset, data = site[0], site[1][11]["asset"], FILES[11]
    dest, part = tmp_path / "killed.bin", tmp_path / "killed.bin.part"
    argv = command(coordinator.base_url, asset, dest, coordinator.contributor["Authorization"], "--pace-ms", "20")
    rng, kept = random.Random(9), [0]
    for _ in range(KILLS):
        child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "started"
        time.sleep(rng.uniform(0, 0.1))
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        child.stdout.close()
        assert not dest.exists()
        now = part.read_bytes()
        assert len(now) >= kept[-1] and now == data[:len(now)]  # grew, and only with the file's bytes
        kept.append(len(now))
    assert kept[-1] < len(data)  # every kill fell mid-download
    reports: list[DownloadProgress] = []
    download(requests.Session(), coordinator.base_url + asset["url"], dest, sha256=asset["sha256"],
             size=asset["size"], headers=coordinator.contributor, progress=reports.append)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == asset["sha256"]
    assert reports[0].resumed_from == kept[-1] and not part.exists()
