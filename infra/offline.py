"""Offline helpers for the infra tests: read the SAM template, translate it to CloudFormation, audit IAM.

Used by tests/unit/test_infra.py (loaded by file path, infra/ is not a package). Reads and translates the template
with the local AWS's own code (localaws.stack), so the checks see what the local AWS deploys.
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

from localaws import stack

INFRA_DIR = Path(__file__).resolve().parent
REPO_ROOT = INFRA_DIR.parent
TEMPLATE_PATH = INFRA_DIR / "template.yaml"

FAKE_REGION = "us-east-1"
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
        # Logs Insights results, named by query id only (the dashboard's Functions page and cost per order).
        "logs:GetQueryResults",
    }
)

# AWS managed policies SAM attaches to the roles it generates (there is no opt-out). The functions' roles are
# explicit, so only the state machine's generated role carries one; AWSLambdaBasicExecutionRole (any log group) is out.
ALLOWED_MANAGED_POLICIES = frozenset(
    {
        # X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling*: no resource-level permissions exist.
        "AWSXrayWriteOnlyAccess",
    }
)

_POLICY_HOLDERS = ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
_SAM_POLICY_HOLDERS = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")


# ---------------------------------------------------------------- reading the template
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The SAM template as a dict, short-form intrinsics expanded (the local AWS's own reader)."""
    return stack.load_template(path)


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
    """Translate the SAM template to plain CloudFormation with aws-sam-translator, offline (as the local AWS does)."""
    with _fake_region():
        return stack.translate(with_offline_artifacts(sam_template), {})


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
