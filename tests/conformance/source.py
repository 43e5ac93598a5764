"""moto's own tests, from the source distribution of the pinned moto on the package registry, cached outside the
checkout by version: nothing of moto's is copied into this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

DOWNLOAD_TIMEOUT_SECONDS = 300


def cache_root() -> Path:
    """Where downloads are kept: the project's per-user cache folder (XDG_CACHE_HOME respected)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "order-pipeline" / "conformance"


def unpacked(version: str, cache: Path | None = None) -> Path:
    """A folder holding moto's `tests` package and its pytest settings (setup.cfg) for version: downloaded and unpacked
    on first use, then reused."""
    folder = (cache or cache_root()) / f"moto-{version}"
    suite = folder / "suite"
    if (suite / "tests" / "__init__.py").is_file():
        return suite
    folder.mkdir(parents=True, exist_ok=True)
    archive = _download(version, folder)
    # Unpacked beside it, then renamed: a concurrent run (another worktree's) never sees half a folder.
    staging = Path(tempfile.mkdtemp(prefix="suite.", dir=folder))
    try:
        _unpack(archive, version, staging)
        try:
            staging.rename(suite)
        except OSError:
            if not (suite / "tests" / "__init__.py").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return suite


def _download(version: str, folder: Path) -> Path:
    """moto's source distribution for version, fetched with pip from the configured package index."""
    archive = folder / f"moto-{version}.tar.gz"
    if archive.is_file():
        return archive
    # Into a folder of its own, then renamed: a concurrent run never unpacks half a download.
    with tempfile.TemporaryDirectory(prefix="download.", dir=folder) as staging:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
        command += ["--no-binary", ":all:", "--dest", staging, f"moto=={version}"]
        subprocess.run(command, check=True, timeout=DOWNLOAD_TIMEOUT_SECONDS)
        downloaded = Path(staging) / archive.name
        if not downloaded.is_file():
            raise FileNotFoundError(f"pip did not download {archive.name} (moto=={version})")
        os.replace(downloaded, archive)
    return archive


def _unpack(archive: Path, version: str, into: Path) -> None:
    """The archive's tests/ and setup.cfg (its pytest markers), without the moto package beside them: the tests must
    import the installed moto, which the local AWS runs."""
    top = f"moto-{version}/"
    with tarfile.open(archive) as tar:
        members = []
        for member in tar.getmembers():
            if member.name.startswith(top + "tests/") or member.name == top + "setup.cfg":
                member.name = member.name.removeprefix(top)
                members.append(member)
        tar.extractall(into, members=members, filter="data")
    if not (into / "tests" / "__init__.py").is_file():
        raise FileNotFoundError(f"{archive.name} holds no tests/ package")
