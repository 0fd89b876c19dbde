"""The TPU-pod launchers (trainer/scripts/tpu/): printed gcloud commands, refusals, remote scripts.

Nothing here reaches Google Cloud: the scripts run with DRY_RUN=1, or with a fake `gcloud` first
on PATH that records its arguments.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TPU = ROOT / "trainer" / "scripts" / "tpu"
SCRIPTS = ["common.sh", "create.sh", "setup.sh", "sync.sh", "launch.sh", "logs.sh", "stop.sh", "delete.sh"]
BASH = shutil.which("bash") or "/bin/bash"
# settings the scripts read: cleared so that the caller's environment cannot change the results
SETTINGS = ["TPU_NAME", "ZONE", "ACCELERATOR_TYPE", "RUNTIME_VERSION", "PROJECT", "REMOTE_DIR", "SSH_FLAGS",
            "DRY_RUN", "SPOT", "PREEMPTIBLE", "YES", "SKIP_SYNC", "JAX_TPU", "TRAIN_ENV", "LOG_WORKER",
            "TAIL_LINES", "FOLLOW", "STOP_WAIT", "REPO_ROOT"]
FIXED = {"TPU_NAME": "t1", "ZONE": "us-central2-b", "ACCELERATOR_TYPE": "v4-16"}


def script_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(FIXED, DRY_RUN="1")
    env.update(extra)
    return env


def run_script(name: str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None,
               **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(TPU / name), *args], env=env or script_env(**extra), input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)


def commands(proc: subprocess.CompletedProcess) -> list[str]:
    """The printed commands (a command runs over several lines when its remote script does)."""
    assert proc.returncode == 0, proc.stderr
    out: list[str] = []
    for line in proc.stdout.splitlines():
        if line.startswith("+ "):
            out.append(line[2:])
        elif out and not line.startswith(("Follow ", "  (the same", "Stop it")):
            out[-1] += "\n" + line
    return out


def gcloud_commands(proc: subprocess.CompletedProcess) -> list[str]:
    return [c for c in commands(proc) if c.startswith("gcloud ")]


def on_t1(cmd: str) -> None:
    assert " t1" in cmd and "--zone=us-central2-b" in cmd, cmd


@pytest.mark.parametrize("name", SCRIPTS)
def test_syntax_and_usage_comment(name: str) -> None:
    subprocess.run([BASH, "-n", str(TPU / name)], check=True, timeout=10)
    text = (TPU / name).read_text(encoding="utf-8")
    assert text.splitlines()[1 if text.startswith("#!") else 0].startswith("# ")
    if name != "common.sh":
        assert text.startswith("#!/usr/bin/env bash\n") and os.access(TPU / name, os.X_OK)
        assert "set -euo pipefail" in text and "require_gcloud" in text


def test_create() -> None:
    [cmd] = gcloud_commands(run_script("create.sh"))
    assert cmd.startswith("gcloud compute tpus tpu-vm create t1 ")
    on_t1(cmd)
    assert "--accelerator-type=v4-16" in cmd and "--version=tpu-ubuntu2204-base" in cmd
    assert "--spot" not in cmd and "--preemptible" not in cmd and "--project" not in cmd

    [cmd] = gcloud_commands(run_script("create.sh", "--reserved", SPOT="1", PROJECT="proj-1"))
    assert cmd.endswith(" --spot --reserved") and "--project=proj-1" in cmd
    [cmd] = gcloud_commands(run_script("create.sh", PREEMPTIBLE="1"))
    assert "--preemptible" in cmd and "--spot" not in cmd
    both = run_script("create.sh", SPOT="1", PREEMPTIBLE="1")
    assert both.returncode != 0 and "not both" in both.stderr


def test_create_runtime_follows_accelerator() -> None:
    for accel, runtime in [("v5litepod-16", "v2-alpha-tpuv5-lite"), ("v5p-8", "v2-alpha-tpuv5"),
                           ("v6e-8", "v2-alpha-tpuv6e")]:
        [cmd] = gcloud_commands(run_script("create.sh", ACCELERATOR_TYPE=accel))
        assert f"--accelerator-type={accel}" in cmd and f"--version={runtime}" in cmd
    [cmd] = gcloud_commands(run_script("create.sh", RUNTIME_VERSION="custom-1"))
    assert "--version=custom-1" in cmd


def test_sync_and_setup() -> None:
    scp, extract = gcloud_commands(run_script("sync.sh"))
    assert scp.startswith("gcloud compute tpus tpu-vm scp --recurse ")
    assert "--worker=all" in scp and "t1:needle-router-sync.tar.gz" in scp and "--zone=us-central2-b" in scp
    assert extract.startswith("gcloud compute tpus tpu-vm ssh t1 ") and "--worker=all" in extract
    assert "tar -xzf needle-router-sync.tar.gz -C needle-router" in extract
    assert any("git ls-files" in c and "runs/" in c for c in commands(run_script("sync.sh")))

    cmds = gcloud_commands(run_script("setup.sh"))
    assert [c.split()[4] for c in cmds] == ["scp", "ssh", "ssh"]          # sync first, then install
    install = cmds[-1]
    on_t1(install)
    assert "--worker=all" in install and "pip install -e" in install and ".[train,harvest]" in install
    assert "jax[tpu]" in install
    [install] = gcloud_commands(run_script("setup.sh", SKIP_SYNC="1", JAX_TPU="jax[tpu]==0.6.2"))
    assert "jax[tpu]==0.6.2" in install


def test_launch() -> None:
    proc = run_script("launch.sh", "needle-26m", "--minutes", "60", "--out", "runs/a b")
    [cmd] = gcloud_commands(proc)
    assert cmd.startswith("gcloud compute tpus tpu-vm ssh t1 ")
    on_t1(cmd)
    assert "--worker=all" in cmd and "NEEDLE_DISTRIBUTED=1" in cmd and "nohup" in cmd
    assert "needle-router train --config needle-26m --minutes 60 --out" in cmd
    assert "logs/train-" in cmd and "logs/train.pid" in cmd
    assert "logs.sh" in proc.stdout and "tail -F needle-router/logs/train.log" in proc.stdout

    [cmd] = gcloud_commands(run_script("launch.sh", "trainer/configs/needle-tiny.yaml", "--resume",
                                       TRAIN_ENV="XLA_FLAGS=--xla_dump_to=/tmp/x FOO=1"))
    assert "--config trainer/configs/needle-tiny.yaml --resume" in cmd
    assert "NEEDLE_DISTRIBUTED=1 XLA_FLAGS=--xla_dump_to=/tmp/x FOO=1" in cmd

    usage = run_script("launch.sh")
    assert usage.returncode == 2 and "CONFIG" in usage.stderr and "gcloud" not in usage.stdout
    bad = run_script("launch.sh", "needle-26m", TRAIN_ENV="not-an-assignment")
    assert bad.returncode != 0 and "TRAIN_ENV" in bad.stderr


def test_logs_and_stop() -> None:
    [cmd] = gcloud_commands(run_script("logs.sh"))
    on_t1(cmd)
    assert "--worker=0" in cmd and "tail -n 100 -F needle-router/logs/train.log" in cmd
    [cmd] = gcloud_commands(run_script("logs.sh", LOG_WORKER="3", TAIL_LINES="20", FOLLOW="0"))
    assert "--worker=3" in cmd and "tail -n 20 " in cmd and "-F" not in cmd

    [cmd] = gcloud_commands(run_script("stop.sh", STOP_WAIT="5"))
    on_t1(cmd)
    assert "--worker=all" in cmd and "kill -TERM" in cmd and "kill -KILL" in cmd and "seq 5" in cmd
    assert "needle-router/logs/train.pid" in cmd
    # the process pattern must not match the remote shell that carries it
    assert "needle-router train" not in cmd.replace("[n]eedle-router train", "")


def test_delete_asks_first() -> None:
    for stdin in (None, "", "n\n", "whatever\n"):               # None: stdin is /dev/null
        proc = run_script("delete.sh", stdin=stdin)
        assert proc.returncode != 0 and "not deleting" in proc.stderr
        assert "gcloud" not in proc.stdout
    # stdin closed altogether
    closed = subprocess.run([BASH, "-c", f'exec "$0" "{TPU / "delete.sh"}" 0<&-', BASH], env=script_env(),
                            capture_output=True, text=True, timeout=30)
    assert closed.returncode != 0 and "not deleting" in closed.stderr and "gcloud" not in closed.stdout

    for proc in (run_script("delete.sh", stdin="y\n"), run_script("delete.sh", YES="1")):
        [cmd] = gcloud_commands(proc)
        assert cmd == "gcloud compute tpus tpu-vm delete t1 --zone=us-central2-b --quiet"


@pytest.mark.parametrize("name", [s for s in SCRIPTS if s != "common.sh"])
def test_missing_gcloud(name: str, tmp_path: Path) -> None:
    env = script_env(PATH=str(tmp_path), YES="1")                 # an empty folder: no gcloud
    del env["DRY_RUN"]
    proc = run_script(name, "needle-26m", env=env)
    assert proc.returncode != 0 and "gcloud not found" in proc.stderr and "DRY_RUN=1" in proc.stderr


FAKE_GCLOUD = """#!/usr/bin/env bash
n=$(cat "$GCLOUD_LOG/count" 2>/dev/null || echo 0)
printf '%s\\0' "$@" > "$GCLOUD_LOG/call-$n"
echo $((n + 1)) > "$GCLOUD_LOG/count"
for arg in "$@"; do
    case "$arg" in *.tar.gz) [ -f "$arg" ] && cp "$arg" "$GCLOUD_LOG/sent.tar.gz" ;; esac
done
exit 0
"""


@pytest.fixture
def fake_gcloud(tmp_path: Path):
    """Environment with a recording `gcloud` first on PATH; returns (env, calls())."""
    bin_dir, log = tmp_path / "bin", tmp_path / "gcloud-log"
    bin_dir.mkdir()
    log.mkdir()
    (bin_dir / "gcloud").write_text(FAKE_GCLOUD, encoding="utf-8")
    (bin_dir / "gcloud").chmod(0o755)
    env = script_env(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", GCLOUD_LOG=str(log))
    del env["DRY_RUN"]

    def calls() -> list[list[str]]:
        found = sorted(log.glob("call-*"), key=lambda p: int(p.name.split("-")[1]))
        return [p.read_text(encoding="utf-8").split("\0")[:-1] for p in found]

    return env, calls


def remote_command(argv: list[str]) -> str:
    [command] = [a.removeprefix("--command=") for a in argv if a.startswith("--command=")]
    subprocess.run([BASH, "-n", "-c", command], check=True, timeout=10)  # valid shell on the worker
    return command


def test_run_executes_with_arguments_intact(fake_gcloud, tmp_path: Path) -> None:
    env, calls = fake_gcloud
    for name, args in [("create.sh", []), ("logs.sh", []), ("stop.sh", []), ("delete.sh", [])]:
        proc = run_script(name, *args, env={**env, "YES": "1", "SSH_FLAGS": "--internal-ip"})
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("+ gcloud compute tpus tpu-vm ")
    create, logs, stop, delete = calls()
    assert create == ["compute", "tpus", "tpu-vm", "create", "t1", "--zone=us-central2-b",
                      "--accelerator-type=v4-16", "--version=tpu-ubuntu2204-base"]
    assert logs[:7] == ["compute", "tpus", "tpu-vm", "ssh", "t1", "--zone=us-central2-b", "--worker=0"]
    assert "--internal-ip" in logs and "--worker=all" in stop
    remote_command(logs), remote_command(stop)
    assert delete == ["compute", "tpus", "tpu-vm", "delete", "t1", "--zone=us-central2-b", "--quiet"]


def test_sync_sends_git_files_only(fake_gcloud, tmp_path: Path) -> None:
    env, calls = fake_gcloud
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "runs" / "r1").mkdir(parents=True)
    (repo / "pkg" / "a.py").write_text("x = 1\n")
    (repo / "pkg" / "new file.py").write_text("y = 2\n")      # untracked, not ignored: sent
    (repo / "pkg" / "gone.py").write_text("")
    (repo / "runs" / "r1" / "ckpt").write_text("big")           # ignored
    (repo / "build.log").write_text("")                         # ignored
    (repo / ".gitignore").write_text("*.log\nruns/\n")
    git = ["git", "-C", str(repo), "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], check=True, timeout=10)
    subprocess.run([*git, "add", "pkg/a.py", "pkg/gone.py", ".gitignore"], check=True, timeout=10)
    (repo / "pkg" / "gone.py").unlink()                         # tracked but deleted: skipped

    proc = run_script("sync.sh", env={**env, "REPO_ROOT": str(repo), "REMOTE_DIR": "work/nr"})
    assert proc.returncode == 0, proc.stderr
    scp, ssh = calls()
    assert scp[:5] == ["compute", "tpus", "tpu-vm", "scp", "--recurse"] and "--worker=all" in scp
    with tarfile.open(tmp_path / "gcloud-log" / "sent.tar.gz") as tar:
        assert sorted(tar.getnames()) == [".gitignore", "pkg/a.py", "pkg/new file.py"]

    # unpack as a worker would, in a home folder of its own
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(tmp_path / "gcloud-log" / "sent.tar.gz", home / "needle-router-sync.tar.gz")
    subprocess.run([BASH, "-c", remote_command(ssh)], cwd=home, check=True, timeout=10)
    assert (home / "work" / "nr" / "pkg" / "new file.py").read_text() == "y = 2\n"
    assert not (home / "needle-router-sync.tar.gz").exists()


def test_launch_remote_script_starts_the_run(fake_gcloud, tmp_path: Path) -> None:
    env, calls = fake_gcloud
    proc = run_script("launch.sh", "needle-26m", "--out", "runs/it's here", env={**env, "TRAIN_ENV": "FOO=bar"})
    assert proc.returncode == 0, proc.stderr
    [ssh] = calls()
    assert "--worker=all" in ssh
    command = remote_command(ssh)

    # run the worker side with a stand-in for needle-router that records how it was started
    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    (home / "needle-router").mkdir()
    record = tmp_path / "record"
    stub = home / ".local" / "bin" / "needle-router"
    stub.write_text(f'#!/usr/bin/env bash\necho "started"\n'
                    f'printf "%s\\n" "$NEEDLE_DISTRIBUTED" "$FOO" "$@" > "{record}.tmp"\n'
                    f'mv "{record}.tmp" "{record}"\n')
    stub.chmod(0o755)
    worker = subprocess.run([BASH, "-c", command], cwd=home, env={**os.environ, "HOME": str(home)},
                            capture_output=True, text=True, timeout=10)
    assert worker.returncode == 0, worker.stderr
    assert "started pid" in worker.stdout
    deadline = time.monotonic() + 5
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert record.read_text().splitlines() == ["1", "bar", "train", "--config", "needle-26m",
                                               "--out", "runs/it's here"]
    logs = home / "needle-router" / "logs"
    assert (logs / "train.pid").read_text().strip().isdigit()
    assert (logs / "train.log").is_symlink() and (logs / "train.log").read_text() == "started\n"
