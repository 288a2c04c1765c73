"""A download that cannot be stored: a full disk (a file-size limit in a child process) gives a
clear error, leaves a correct prefix and nothing at the destination, and resumes once space
returns; a read-only folder is refused in words. Against the live coordinator on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from app.sync.download import DownloadProgress, download
from tests.reliability.coordinator_site import FILES, Site
from tests.reliability.download_child import ROOT, command



def _child(site: tuple[Site, list[dict[str, Any]]], index: int, dest: Path, *prefix: str,
           fsize_limit: int | None = None) -> dict[str, Any]:
    """Run `download_child` for asset `index`; its JSON outcome."""
    options = () if fsize_limit is None else ("--fsize-limit", str(fsize_limit))
    argv = command(site[0].base_url, site[1][index]["asset"], dest, site[0].contributor["Authorization"], *options)
    done = subprocess.run([*prefix, *argv], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_full_disk_is_reported_and_the_download_resumes_when_space_returns(
        site: tuple[Site, list[Any]], tmp_path: Path) -> None:
    dest, data = tmp_path / "big.bin", FILES[10]
    outcome = _child(site, 10, dest, fsize_limit=700_000)
    assert outcome["error"] == "DownloadDiskFull" and not outcome["retryable"], outcome
    assert "the file-size limit is reached" in outcome["message"] and "resumes once space is freed" in outcome["message"]
    part = dest.with_name("big.bin.part").read_bytes()
    assert not dest.exists() and 0 < len(part) <= 700_000 and part == data[:len(part)]  # a true prefix
    reports: list[DownloadProgress] = []
    download(requests.Session(), site[0].base_url + site[1][10]["asset"]["url"], dest, sha256=site[1][10]["asset"]["sha256"],
             size=len(data), headers=site[0].contributor, progress=reports.append)
    assert dest.read_bytes() == data and reports[0].resumed_from == len(part)
    assert reports[-1].fetched == len(data) - len(part)


def test_a_read_only_folder_is_refused_in_words(site: tuple[Site, list[Any]], tmp_path: Path) -> None:
    # root writes anywhere; without its capabilities (setpriv) root obeys the mode bits too
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv (util-linux) to drop root's capabilities")
        prefix = (setpriv, "--bounding-set=-all", "--inh-caps=-all", "--")
        if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
            pytest.skip("running as root where setpriv may not drop capabilities (no CAP_SETPCAP)")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        outcome = _child(site, 11, folder / "asset.bin", *prefix)
    finally:
        folder.chmod(0o755)
    assert outcome["error"] == "DownloadNotWritable" and not outcome["retryable"], outcome
    assert f"cannot write in {folder}: permission denied" in outcome["message"]
    assert list(folder.iterdir()) == []
