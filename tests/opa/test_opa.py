"""The generated Rego under the real OPA engine (opa-golib-python-bindings, OPA 1.x): every
`test_*` rule of `policies/rego/*_test.rego` holds, and every IaC fixture yields exactly the
findings in `tests/fixtures/iac/expected.json` (the same check the embedded regorus engine passes).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml
from opa_bindings import OpaEngine, OpaUndefinedError

ROOT = pathlib.Path(__file__).resolve().parents[2]
POLICIES = sorted((ROOT / "policies" / "rego").glob("*.rego"))
FIXTURES = ROOT / "tests" / "fixtures" / "iac"


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation short forms: !Ref X → {"Ref": X}, !GetAtt A.B → {"Fn::GetAtt": [A, B]}."""


def _intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str) and "." in value:
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def load(path: pathlib.Path):
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=CfnLoader)


@pytest.fixture(scope="module")
def engine():
    with OpaEngine() as e:
        for p in POLICIES:
            e.add_policy(p.name, p.read_text())
        yield e


def rule_set(engine, rule: str, data) -> list[str]:
    try:
        return sorted(engine.eval_document(rule, data))
    except OpaUndefinedError:
        return []


def test_policies_exist():
    assert len(POLICIES) >= 6


def test_every_generated_rego_test_holds(engine):
    names = [n for p in POLICIES if p.name.endswith("_test.rego") for n in re.findall(r"^(test_\w+) if", p.read_text(), re.M)]
    assert len(names) >= 30
    # One package: two test rules of one name are one rule that holds when either body does.
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
    failed = []
    for name in names:
        try:
            ok = engine.eval_document(f"main.{name}", {}) is True
        except OpaUndefinedError:
            ok = False
        if not ok:
            failed.append(name)
    assert not failed, failed


@pytest.mark.parametrize("name", sorted(json.loads((FIXTURES / "expected.json").read_text())))
def test_fixture_findings_match(engine, name):
    want = json.loads((FIXTURES / "expected.json").read_text())[name]
    data = load(FIXTURES / name)
    for kind in ("deny", "warn"):
        got = rule_set(engine, f"main.{kind}", data)
        for prefix in want[kind]:
            assert sum(m.startswith(prefix) for m in got) == 1, (kind, prefix, got)
        for message in got:
            assert any(message.startswith(p) for p in want[kind]), (kind, message)


CORPUS = pathlib.Path(os.environ.get("CMK_CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance"))
HCL2JSON = ROOT / "tests" / "opa" / "hcl2json.js"


def conftest_inputs(paths: list[pathlib.Path]) -> dict[str, object]:
    """What conftest gives its policies for each .tf file: tmccombs/hcl2json's output, unchanged."""
    node = shutil.which("node")
    assert node, "node is missing: the HCL input conftest builds cannot be produced (scripts/setup-opa)"
    out = subprocess.run([node, str(HCL2JSON), *map(str, paths)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def about(message: str, name: str) -> bool:
    """Whether a policy message is about resource `name` (`[ID] name: ...`, `[ID] name replica ...`)."""
    rest = message.split("] ", 1)[1] if "] " in message else ""
    return rest.startswith(name) and rest[len(name):].startswith((" (", ":", " replica"))


def test_peers_terraform_files_as_conftest_reads_them_get_our_contracts_verdicts(engine):
    if not (CORPUS / "README.md").is_file():
        pytest.skip(f"CONFORMANCE CORPUS NOT FOUND at {CORPUS}: the peers' .tf files were not checked")
    table = json.loads((ROOT / "tests" / "conformance" / "iac_expected.json").read_text())
    files = [f for f in table["files"] if f["path"].endswith(".tf") and f["resources"]]
    assert len(files) >= 20, len(files)
    inputs = conftest_inputs([CORPUS / f["path"] for f in files])
    failures = []
    for f in files:
        data = inputs[str(CORPUS / f["path"])]
        found = [("deny", m) for m in rule_set(engine, "main.deny", data)] + \
                [("warn", m) for m in rule_set(engine, "main.warn", data)]
        for r in f["resources"]:
            levels = {level for level, m in found if about(m, r["name"])}
            want = set() if r["expect"] == "none" else {r["expect"]}
            if levels != want:
                failures.append(f"{f['path']} {r['name']}: got {sorted(levels)}, want {sorted(want)}")
        for level, m in found:
            if not any(about(m, r["name"]) for r in f["resources"]):
                failures.append(f"{f['path']}: unexpected {level}: {m}")
    assert not failures, "\n".join(failures)


TERRAFORM_CONFIG = ROOT / "tests" / "terraform"


def real_plan(tmp: pathlib.Path, config: pathlib.Path = TERRAFORM_CONFIG) -> pathlib.Path:
    """`terraform show -json` of a real plan of `config` (and its terraform.tfstate), made offline."""
    terraform = shutil.which("terraform")
    plugins = os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins")
    if not terraform or not pathlib.Path(plugins).is_dir():
        pytest.skip(f"TERRAFORM NOT AVAILABLE (terraform={terraform}, plugins={plugins}): the real-plan fixture was not run")
    work = tmp / "config"
    shutil.copytree(config, work)
    env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null", TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    for args in (["init", f"-plugin-dir={plugins}", "-input=false", "-no-color"],
                 ["plan", "-refresh=false", "-input=false", "-no-color", "-out=plan.out"]):
        subprocess.run([terraform, *args], cwd=work, env=env, check=True, capture_output=True)
    shown = subprocess.run([terraform, "show", "-json", "plan.out"], cwd=work, env=env, check=True,
                           capture_output=True, text=True)
    plan = tmp / "plan.json"
    plan.write_text(shown.stdout)
    return plan


def test_a_real_terraform_plan_gets_exactly_its_findings_from_opa_and_the_checker(engine, tmp_path):
    want = json.loads((TERRAFORM_CONFIG / "expected.json").read_text())
    plan = real_plan(tmp_path)
    data = json.loads(plan.read_text())
    assert data["terraform_version"].startswith("1."), data["terraform_version"]
    checker = ROOT / "target" / "debug" / "guardrails"
    assert checker.is_file(), f"{checker} is missing: scripts/test builds it before these tests"
    out = subprocess.run([str(checker), "iac", "check", str(plan), "--output", "json"],
                         capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    findings = json.loads(out.stdout)
    by_checker = {kind: sorted(f["message"] for f in findings if f["level"] == kind)
                  for kind in ("deny", "warn")}
    # A plan records no files or lines; a module's resources name the module's source.
    module_stream = [f for f in findings if f["resource"] == "module.events.aws_kinesis_stream.this"]
    assert [f["moduleSource"] for f in module_stream] == ["./modules/stream"], module_stream
    assert all(f["moduleSource"] is None for f in findings if not f["resource"].startswith("module."))
    for kind in ("deny", "warn"):
        for engine_name, got in (("opa", rule_set(engine, f"main.{kind}", data)), ("checker", by_checker[kind])):
            for prefix in want[kind]:
                assert sum(m.startswith(prefix) for m in got) == 1, (engine_name, kind, prefix, got)
            for message in got:
                assert any(message.startswith(p) for p in want[kind]), (engine_name, kind, message)


def test_the_terraform_configuration_as_conftest_reads_it_gets_exactly_its_findings(engine):
    """main.tf alone (no plan): what OPA decides on hcl2json's input and what the checker decides."""
    want = json.loads((TERRAFORM_CONFIG / "expected_hcl.json").read_text())
    main_tf = TERRAFORM_CONFIG / "main.tf"
    data = conftest_inputs([main_tf])[str(main_tf)]
    checker = ROOT / "target" / "debug" / "guardrails"
    assert checker.is_file(), f"{checker} is missing: scripts/test builds it before these tests"
    out = subprocess.run([str(checker), "iac", "check", str(main_tf), "--output", "json"],
                         capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    findings = json.loads(out.stdout)
    for kind in ("deny", "warn"):
        by_checker = [f["message"] for f in findings if f["level"] == kind]
        for engine_name, got in (("opa", rule_set(engine, f"main.{kind}", data)), ("checker", by_checker)):
            for prefix in want[kind]:
                assert sum(m.startswith(prefix) for m in got) == 1, (engine_name, kind, prefix, got)
            for message in got:
                assert any(message.startswith(p) for p in want[kind]), (engine_name, kind, message)


PLAN_CONFIGS = sorted(p.parent.name for p in (FIXTURES / "terraform").glob("*/main.tf"))


@pytest.mark.parametrize("name", PLAN_CONFIGS)
def test_each_committed_plan_fixture_is_what_terraform_plans_from_its_configuration(name, tmp_path):
    """tests/fixtures/iac/tf_<name>_plan.json is real: re-planned here, it may differ only in its
    timestamp and the order of relevant_attributes."""
    fresh = json.loads(real_plan(tmp_path, FIXTURES / "terraform" / name).read_text())
    committed = json.loads((FIXTURES / f"tf_{name}_plan.json").read_text())
    for plan in (fresh, committed):
        plan.pop("timestamp", None)
        # terraform lists these in no fixed order from one run to the next.
        plan["relevant_attributes"] = sorted(plan.get("relevant_attributes", []), key=json.dumps)
    assert fresh == committed, f"tf_{name}_plan.json differs from a fresh plan: run scripts/plan-fixtures"
