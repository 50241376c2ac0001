"""scripts/_apt.sh: setup waits (bounded) for another apt/dpkg instead of failing with rc=100.

A stand-in ``apt-get`` on PATH answers as apt does while another process holds the lock.
"""

from __future__ import annotations

import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOCKED = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)"


def _fake_apt(tmp_path: pathlib.Path, locked_tries: int) -> pathlib.Path:
    """An apt-get that is locked out ``locked_tries`` times, then succeeds; logs its args."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "apt-get"
    script.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> {tmp_path}/calls\n'
        f"n=$(wc -l < {tmp_path}/calls)\n"
        f'if [ "$n" -le {locked_tries} ]; then echo "{LOCKED}" >&2; exit 100; fi\n'
        'echo "installed"\n'
    )
    script.chmod(0o755)
    return bin_dir


def _apt_run(
    tmp_path: pathlib.Path, locked_tries: int, wait: int
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{_fake_apt(tmp_path, locked_tries)}:{env['PATH']}"
    env.update(TOKENHEAT_APT_WAIT=str(wait), TOKENHEAT_APT_POLL="0")
    cmd = f"source {ROOT / 'scripts' / '_apt.sh'}; apt_run apt-get install -y chromium"
    return subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=60)


def test_waits_for_the_lock_then_runs(tmp_path: pathlib.Path) -> None:
    done = _apt_run(tmp_path, locked_tries=3, wait=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "installed"
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == 4
    assert all(c == "install -y chromium -o DPkg::Lock::Timeout=0" for c in calls)
    assert done.stderr.count("waiting for another package manager") == 1


def test_gives_up_after_the_timeout_with_a_clear_message(tmp_path: pathlib.Path) -> None:
    done = _apt_run(tmp_path, locked_tries=10**6, wait=0)
    assert done.returncode == 100
    assert "has held the apt/dpkg lock for 0s" in done.stderr
    assert "TOKENHEAT_APT_WAIT" in done.stderr


def test_other_failures_are_not_retried(tmp_path: pathlib.Path) -> None:
    bin_dir = tmp_path / "other"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(
        "#!/bin/sh\necho 'E: Unable to locate package x' >&2\nexit 100\n"
    )
    (bin_dir / "apt-get").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", TOKENHEAT_APT_POLL="0")
    cmd = f"source {ROOT / 'scripts' / '_apt.sh'}; apt_run apt-get install x"
    done = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 100
    assert done.stderr.strip() == "E: Unable to locate package x"
