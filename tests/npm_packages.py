"""Packages from npm, obtained by name and pinned version with `npm pack`, checked against their
sha512 integrity hash and cached; a test that needs one is skipped when npm or the package cannot be had."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

CACHE = Path.home() / ".cache" / "rpcserver-tests"
NPM_PACK_TIMEOUT = 120


def npm_package(spec: str, sha512: str) -> tarfile.TarFile:
    """The archive of `spec` ("name@version"), whose sha512 (base64, as npm's integrity has it) must match."""
    cached = CACHE / (spec.replace("/", "_") + ".tgz")
    if not cached.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(f"npm is not installed, so {spec} cannot be had")
        with tempfile.TemporaryDirectory() as workdir:
            run = subprocess.run([npm, "pack", spec, "--json"], cwd=workdir, capture_output=True, text=True,
                                 timeout=NPM_PACK_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
            if run.returncode != 0:
                pytest.skip(f"npm pack {spec} failed: {(run.stderr.strip().splitlines() or ['?'])[-1]}")
            content = (Path(workdir) / json.loads(run.stdout)[0]["filename"]).read_bytes()
        assert base64.b64encode(hashlib.sha512(content).digest()).decode() == sha512, f"{spec} is not the release pinned"
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(content)
        partial.replace(cached)  # whole or not at all, whatever else runs the tests at the same time
    return tarfile.open(cached)
