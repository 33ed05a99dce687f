"""`csp-secure-app plan` as a pipeline runs it on a pull request: exit codes and one line per
problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from scripts.offline.plan_mocks import RecordingMocks

REPO = Path(__file__).resolve().parents[2]


def plan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scripts.cli", "plan", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


def stack_file(tmp_path: Path, name: str, **changes: object) -> Path:
    document = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    document["config"].update({f"csp-secure-app:{k}": v for k, v in changes.items()})
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_example_stack_passes():
    result = plan("--stack", "dev")
    assert result.returncode == 0, result.stderr
    assert "Policy: all" in result.stdout and "keyVaultClientAppSecret = ***" in result.stdout
    assert result.stderr == ""


def test_bad_config_exits_2_with_one_line_per_bad_value(tmp_path):
    path = stack_file(tmp_path, "broken", vaultName="9vault", secretName="no spaces allowed",
                      softDeleteRetentionDays=120)
    result = plan("--stack", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: csp-secure-app:") for line in lines)
    assert {line.split(":")[2] for line in lines} == {
        "vaultName", "secretName", "softDeleteRetentionDays"}
    assert "Traceback" not in result.stderr


def test_policy_violation_exits_6_naming_the_resource(tmp_path):
    # The offline deployer is deterministic: listing it as an extra writer would make Azure
    # refuse a second access policy for the same identity at deploy time.
    deployer = RecordingMocks().deployer_object_id
    path = stack_file(tmp_path, "dup", writerObjectIds=[deployer])
    result = plan("--stack", str(path))
    assert result.returncode == 6, result.stderr
    assert deployer in result.stderr and "error:" in result.stderr


def test_unknown_stack_is_one_line(tmp_path):
    result = plan("--stack", "nosuchstack")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "Pulumi.nosuchstack.yaml" in line and "Fix:" in line


def test_writers_with_a_wrong_principal_type_exit_2_before_anything_is_declared(tmp_path):
    # As YAML in the stack file: a group written the way ARM does not spell it, and a bad
    # deployer type. ARM would refuse both at deploy time (UnmatchedPrincipalType or worse).
    path = stack_file(tmp_path, "types", deployerPrincipalType="Person", writerObjectIds=[
        {"objectId": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", "principalType": "group"}])
    result = plan("--stack", str(path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: csp-secure-app:") for line in lines)
    assert {line.split(":")[2] for line in lines} == {"deployerPrincipalType", "writerObjectIds"}
    assert "Traceback" not in result.stderr


def _memory_capped() -> None:
    """The child may use 2 GiB of address space: a bomb that expands is stopped by the OS
    (MemoryError, exit 1) instead of the machine, so the test fails rather than hangs."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: 10 aliases per level, 10**9 strings once expanded."""
    lines = ['config:', '  csp-secure-app:vaultName: &l0 "lol"']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"  csp-secure-app:tag{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_with_one_line_exit_2(tmp_path):
    path = tmp_path / "Pulumi.bomb.yaml"
    path.write_text(billion_laughs())
    result = subprocess.run([sys.executable, "-m", "scripts.cli", "plan", "--stack", str(path)],
                            cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
                            preexec_fn=_memory_capped)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "aliases" in line and "Fix:" in line
    assert result.stdout == ""


def test_a_few_aliases_are_still_accepted(tmp_path):
    document = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    text = yaml.safe_dump(document) + "x-shared: &shared [1, 2]\nx-again: *shared\n"
    path = tmp_path / "Pulumi.alias.yaml"
    path.write_text(text)
    result = plan("--stack", str(path))
    assert result.returncode == 0, result.stderr


def test_oversized_stack_file_is_refused_with_one_line_exit_2(tmp_path):
    path = tmp_path / "Pulumi.huge.yaml"
    path.write_text("config:\n" + "# padding\n" * 200_000)
    result = plan("--stack", str(path))
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "too big" in line and "Fix:" in line
