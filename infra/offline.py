"""Offline helpers for the infra tests: read the SAM template, translate it to CloudFormation, audit IAM.

Used by tests/unit/test_infra.py and tests/integration/test_infra_moto_deploy.py (loaded by file path, infra/
is not a package). Needs PyYAML; `translate` also needs aws-sam-translator (installed with aws-sam-cli).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

INFRA_DIR = Path(__file__).resolve().parent
REPO_ROOT = INFRA_DIR.parent
TEMPLATE_PATH = INFRA_DIR / "template.yaml"
ASL_PATH = REPO_ROOT / "workflow.asl.json"

FAKE_REGION = "us-east-1"
FAKE_ACCOUNT = "123456789012"
FAKE_CODE_BUCKET = "order-pipeline-offline-artifacts"

# Actions that have no resource-level permissions, so "Resource": "*" is the only valid form.
# Each is justified where the template grants it.
NO_RESOURCE_LEVEL_ACTIONS = frozenset(
    {
        # X-Ray trace ingestion (start_order's explicit role).
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        # CloudWatch metric reads (the dashboard app's managed policy).
        "cloudwatch:GetMetricData",
        "cloudwatch:GetMetricStatistics",
        "cloudwatch:ListMetrics",
        # CloudWatch Logs vended-log delivery for the state machine's execution logging.
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)

# AWS managed policies SAM attaches to the roles it generates (there is no opt-out):
ALLOWED_MANAGED_POLICIES = frozenset(
    {
        # logs:CreateLogGroup/CreateLogStream/PutLogEvents on "*": write-only to CloudWatch Logs.
        "service-role/AWSLambdaBasicExecutionRole",
        # X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling*: no resource-level permissions exist.
        "AWSXrayWriteOnlyAccess",
    }
)

_POLICY_HOLDERS = ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
_SAM_POLICY_HOLDERS = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")


# ---------------------------------------------------------------- reading the template
class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short-form tags (!Ref, !GetAtt, !Sub, ...) into their long form."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The SAM template as a dict, short-form intrinsics expanded."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 (a SafeLoader subclass)


def asl_placeholders(asl_text: str) -> set[str]:
    """The ${...} placeholders of an ASL definition."""
    return set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", asl_text))


def checkov_skips(path: Path = TEMPLATE_PATH) -> list[tuple[str, str, str]]:
    """Inline `# checkov:skip=ID:reason` comments as (resource logical id, check id, reason)."""
    skips: list[tuple[str, str, str]] = []
    in_resources = False
    resource = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\S", line):
            in_resources = line.startswith("Resources:")
            continue
        if not in_resources:
            continue
        header = re.match(r"^  ([A-Za-z0-9]+):\s*$", line)
        if header:
            resource = header.group(1)
            continue
        skip = re.match(r"^\s+#\s*checkov:skip=([A-Z0-9_]+):(.*)$", line)
        if skip:
            skips.append((resource, skip.group(1), skip.group(2).strip()))
    return skips


# ---------------------------------------------------------------- SAM -> CloudFormation
@contextlib.contextmanager
def _fake_region() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in ("AWS_DEFAULT_REGION", "AWS_REGION")}
    os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = FAKE_REGION
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _StubManagedPolicyLoader:
    """The translator asks IAM for managed-policy ARNs by name only for policies given by name; offline, answer
    from a fixed map (none of ours is given by name; SAM builds its own managed-policy ARNs itself)."""

    def load(self) -> dict[str, str]:
        return {name: f"arn:aws:iam::aws:policy/{name}" for name in ALLOWED_MANAGED_POLICIES}


def with_offline_artifacts(sam_template: dict[str, Any]) -> dict[str, Any]:
    """A copy whose local CodeUri/ContentUri/DefinitionUri point at S3 objects, as `sam package` would make them."""
    template = copy.deepcopy(sam_template)
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://{FAKE_CODE_BUCKET}/{logical_id}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://{FAKE_CODE_BUCKET}/{logical_id}.zip"
        elif resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            props["DefinitionUri"] = f"s3://{FAKE_CODE_BUCKET}/workflow.asl.json"
    return template


def translate(sam_template: dict[str, Any]) -> dict[str, Any]:
    """Translate the SAM template to plain CloudFormation with aws-sam-translator, offline."""
    from samtranslator.translator.transform import transform

    with _fake_region():
        return transform(with_offline_artifacts(sam_template), {}, _StubManagedPolicyLoader())


def inline_definition(cfn_template: dict[str, Any], logical_id: str, asl_text: str) -> dict[str, Any]:
    """Replace a state machine's S3 definition + DefinitionSubstitutions by an inline DefinitionString built with
    Fn::Sub over the same substitution map (for engines that ignore DefinitionSubstitutions, such as moto)."""
    template = copy.deepcopy(cfn_template)
    props = template["Resources"][logical_id]["Properties"]
    substitutions = props.pop("DefinitionSubstitutions")
    props.pop("DefinitionS3Location", None)
    props["DefinitionString"] = {"Fn::Sub": [asl_text, substitutions]}
    return template


# ---------------------------------------------------------------- IAM audit
def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    return [s for s in _as_list(document.get("Statement", [])) if isinstance(s, dict)]


def policy_holders(template: dict[str, Any]) -> Iterator[tuple[str, list[str], list[dict[str, Any]]]]:
    """(logical id, managed policy references, inline statements) of every IAM role/policy and SAM resource."""
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        managed: list[str] = []
        statements: list[dict[str, Any]] = []
        if resource["Type"] in _POLICY_HOLDERS:
            managed = [json.dumps(arn) for arn in props.get("ManagedPolicyArns", [])]
            if "PolicyDocument" in props:
                statements += _statements(props["PolicyDocument"])
            for policy in props.get("Policies", []):
                statements += _statements(policy.get("PolicyDocument"))
        elif resource["Type"] in _SAM_POLICY_HOLDERS:
            for policy in _as_list(props.get("Policies", [])):
                if isinstance(policy, str):
                    managed.append(policy)
                elif isinstance(policy, dict) and "Statement" in policy:
                    statements += _statements(policy)
                # Any other dict is a SAM policy template (scoped to a named resource by construction).
        else:
            continue
        yield logical_id, managed, statements


def iam_violations(template: dict[str, Any]) -> list[str]:
    """Least-privilege breaches: *FullAccess or unexpected managed policies, wildcard actions, and "Resource": "*"
    on an action that has resource-level permissions."""
    problems: list[str] = []
    for logical_id, managed, statements in policy_holders(template):
        for ref in managed:
            name = ref.strip('"').split(":policy/")[-1]
            if "FullAccess" in ref:
                problems.append(f"{logical_id}: *FullAccess managed policy {ref}")
            elif name not in ALLOWED_MANAGED_POLICIES:
                problems.append(f"{logical_id}: unexpected managed policy {ref}")
        for statement in statements:
            if statement.get("Effect") != "Allow":
                continue
            actions = [str(a) for a in _as_list(statement.get("Action", []))]
            if "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{logical_id}: NotAction/NotResource in {statement}")
            for action in actions:
                if action == "*" or action.endswith(":*"):
                    problems.append(f"{logical_id}: wildcard action {action}")
            if "*" in _as_list(statement.get("Resource", [])):
                scoped = sorted(set(actions) - NO_RESOURCE_LEVEL_ACTIONS)
                if scoped:
                    problems.append(f'{logical_id}: "Resource": "*" for {scoped}')
    return problems
