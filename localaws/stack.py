"""Deploy a SAM template on the local AWS as `sam build` + `sam deploy` would: build and upload the code, translate
SAM to CloudFormation offline, create the stack through CloudFormation, then start each function once.

Every failure is a TemplateError whose message names the resource and the problem.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ARTIFACT_BUCKET = "localaws-artifacts"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_PLACEHOLDER_SUB = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")
# Types moto's CloudFormation skips or ignores on purpose: nothing to create for them locally.
_NOTHING_TO_CREATE = {"AWS::CloudFormation::WaitCondition", "AWS::CloudFormation::WaitConditionHandle"}
_EMPTY_ZIP = b"PK\x05\x06" + b"\x00" * 18


class TemplateError(Exception):
    """The template cannot be deployed; the message names the resource and the problem."""


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !GetAtt, !Sub, ...) read as their long form."""


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


def load_template(path: Path) -> dict[str, Any]:
    """The template as a dict, short-form intrinsics expanded; TemplateError for unreadable or invalid YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read the template: {exc.strerror}") from exc
    try:
        template = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TemplateError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from exc
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources mapping)")
    return template


class _StubManagedPolicyLoader:
    """The translator asks IAM for managed-policy ARNs only for policies given by name; answer offline."""

    def load(self) -> dict[str, str]:
        return {}


def translate(sam_template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """SAM to plain CloudFormation, offline, with aws-sam-translator; TemplateError naming invalid resources."""
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    try:
        return transform(sam_template, parameters, _StubManagedPolicyLoader())
    except InvalidDocumentException as exc:
        raise TemplateError("; ".join(cause.message for cause in exc.causes) or str(exc)) from exc


# ---------------------------------------------------------------- sam build + sam package


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _build_with_makefile(logical_id: str, source: Path, makefile: Path) -> bytes:
    """What `sam build` does for BuildMethod: makefile: run build-<LogicalId> in a copy of the source."""
    with tempfile.TemporaryDirectory(prefix="localaws-build-") as scratch:
        work, artifacts = Path(scratch, "source"), Path(scratch, "artifacts")
        shutil.copytree(source, work, ignore=shutil.ignore_patterns("__pycache__"))
        artifacts.mkdir()
        run = subprocess.run(
            ["make", "--no-print-directory", "-f", str(makefile), f"build-{logical_id}", f"ARTIFACTS_DIR={artifacts}"],
            cwd=work,
            env=os.environ | {"ARTIFACTS_DIR": str(artifacts)},
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            raise TemplateError(f"{logical_id}: build-{logical_id} in {makefile} failed: {run.stderr.strip()[-500:]}")
        return _zip_directory(artifacts)


def _build(logical_id: str, resource: dict[str, Any], uri: str, template_dir: Path) -> bytes:
    source = (template_dir / uri).resolve()
    if not source.is_dir():
        raise TemplateError(f"{logical_id}: code directory {uri} does not exist (resolved to {source})")
    if resource["Type"] == "AWS::Serverless::LayerVersion":
        # Layers are not built locally (sam build would pip-install for the Lambda platform): the local interpreter's
        # own site-packages, installed from requirements.txt, provide what the layer holds.
        return _EMPTY_ZIP
    metadata = resource.get("Metadata") or {}
    if metadata.get("BuildMethod") == "makefile":
        makefile = (template_dir / metadata.get("ContextPath", ".") / "Makefile").resolve()
        return _build_with_makefile(logical_id, source, makefile)
    return _zip_directory(source)  # sam build's python builder, minus the pip install (see above)


def package(sam_template: dict[str, Any], template_dir: Path, artifacts: dict[str, bytes]) -> dict[str, Any]:
    """Build every local code and definition path, as sam build does, and point the template at the S3 objects
    sam package would upload; the objects' contents go into artifacts (S3 key -> bytes)."""
    template = json.loads(json.dumps(sam_template))
    function_globals = ((template.get("Globals") or {}).get("Function")) or {}
    builds: dict[tuple[str, str], Callable[[], bytes]] = {}
    for logical_id, resource in template["Resources"].items():
        properties = resource.setdefault("Properties", {})
        kind = resource.get("Type")
        key = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}.get(kind)
        if key:
            uri = properties.get(key, function_globals.get("CodeUri") if key == "CodeUri" else None)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                builds[(logical_id, key)] = lambda i=logical_id, r=resource, u=uri: _build(i, r, u, template_dir)
        elif kind == "AWS::Serverless::StateMachine" and isinstance(properties.get("DefinitionUri"), str):
            path = template_dir / properties["DefinitionUri"]
            if not path.is_file():
                raise TemplateError(f"{logical_id}: DefinitionUri {properties['DefinitionUri']} does not exist")
            _check_substitutions(logical_id, path.read_text(encoding="utf-8"), properties)
            properties["DefinitionUri"] = _artifact(logical_id, path.read_bytes(), artifacts)
    with ThreadPoolExecutor(max_workers=4) as pool:
        built = {target: pool.submit(build) for target, build in builds.items()}
    for (logical_id, key), future in built.items():
        template["Resources"][logical_id]["Properties"][key] = _artifact(logical_id, future.result(), artifacts)
    return template


def _artifact(logical_id: str, content: bytes, artifacts: dict[str, bytes]) -> str:
    key = f"{logical_id}/{hashlib.sha256(content).hexdigest()}"  # named by content, as sam package does
    artifacts[key] = content
    return f"s3://{ARTIFACT_BUCKET}/{key}"


def _check_substitutions(logical_id: str, definition: str, properties: dict[str, Any]) -> None:
    missing = sorted(set(_PLACEHOLDER.findall(definition)) - set(properties.get("DefinitionSubstitutions") or {}))
    if missing:
        names = ", ".join("${" + name + "}" for name in missing)
        raise TemplateError(f"{logical_id}: the definition uses {names}, which DefinitionSubstitutions does not define")


def _condition_holds(cfn_template: dict[str, Any], name: str, values: dict[str, str]) -> bool:
    """Evaluate a template condition from parameter values (Fn::Equals, Not, And, Or, Condition and Ref)."""

    def value(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            return values.get(node["Ref"], _UNRESOLVED)
        if isinstance(node, dict) and "Condition" in node:
            return holds(cfn_template["Conditions"][node["Condition"]])
        return holds(node) if isinstance(node, dict) else str(node)

    def holds(node: dict[str, Any]) -> bool:
        ((operator, arguments),) = node.items()
        if operator == "Fn::Equals":
            return str(value(arguments[0])) == str(value(arguments[1]))
        if operator == "Fn::Not":
            return not value(arguments[0])
        if operator == "Fn::And":
            return all(value(argument) for argument in arguments)
        if operator == "Fn::Or":
            return any(value(argument) for argument in arguments)
        if operator == "Condition":
            return holds(cfn_template["Conditions"][arguments])
        raise TemplateError(f"condition {name}: {operator} is not supported by the local AWS")

    return holds(cfn_template["Conditions"][name])


def check_resource_types(cfn_template: dict[str, Any], overrides: dict[str, str] | None = None) -> None:
    """Refuse a resource type moto's CloudFormation (with our corrections) would silently skip."""
    from moto.cloudformation.parsing import get_model_map

    known = set(get_model_map()) | _NOTHING_TO_CREATE
    declared = cfn_template.get("Parameters") or {}
    values = {name: str(spec.get("Default", "")) for name, spec in declared.items()} | (overrides or {})
    for logical_id, resource in cfn_template["Resources"].items():
        if resource.get("Condition") and not _condition_holds(cfn_template, resource["Condition"], values):
            continue  # not created with these parameters (the optional Cognito sign-in, for one)
        kind = resource.get("Type", "")
        if kind not in known and not kind.startswith("Custom::"):
            raise TemplateError(f"{logical_id}: resource type {kind} is not supported by the local AWS")


def parse_parameter_overrides(text: str) -> dict[str, str]:
    """sam deploy's --parameter-overrides syntax: Key=Value pairs separated by spaces."""
    import shlex

    parameters: dict[str, str] = {}
    for item in shlex.split(text):
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise TemplateError(f"parameter override {item!r} is not Key=Value")
        parameters[key] = value
    return parameters


def _check_parameters(cfn_template: dict[str, Any], overrides: dict[str, str]) -> None:
    declared = cfn_template.get("Parameters") or {}
    for name, value in overrides.items():
        spec = declared.get(name)
        if spec is None:
            raise TemplateError(f"parameter override {name}: the template has no parameter {name}")
        problem = None
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            problem = f"must be one of {spec['AllowedValues']}"
        elif "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            problem = f"must match {spec['AllowedPattern']}"
        elif spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                problem = "must be a number"
            else:
                if number < float(spec.get("MinValue", number)) or number > float(spec.get("MaxValue", number)):
                    problem = f"must be between {spec.get('MinValue', '-inf')} and {spec.get('MaxValue', 'inf')}"
        if problem:
            raise TemplateError(f"parameter override {name}={value!r}: {problem}")


@dataclass(frozen=True)
class Prepared:
    """A template built and translated, ready to deploy: CloudFormation JSON and the S3 objects it refers to."""

    template: dict[str, Any]
    artifacts: dict[str, bytes]
    overrides: dict[str, str]

    def to_json(self) -> str:
        artifacts = {key: base64.b64encode(content).decode() for key, content in self.artifacts.items()}
        return json.dumps({"template": self.template, "artifacts": artifacts, "overrides": self.overrides})

    @classmethod
    def from_json(cls, text: str) -> Prepared:
        data = json.loads(text)
        artifacts = {key: base64.b64decode(content) for key, content in data["artifacts"].items()}
        return cls(data["template"], artifacts, data["overrides"])


def prepare(template_path: Path, parameter_overrides: str, stack_name: str, region: str) -> Prepared:
    """Read, build and translate the template and check that every handler imports (no AWS needed);
    TemplateError names what is wrong."""
    overrides = parse_parameter_overrides(parameter_overrides)
    artifacts: dict[str, bytes] = {}
    sam_template = package(load_template(template_path), template_path.parent, artifacts)
    cfn_template = translate(sam_template, overrides)
    _check_parameters(cfn_template, overrides)
    _check_handlers(cfn_template, artifacts, _known_values(cfn_template, overrides, stack_name, region))
    return Prepared(cfn_template, artifacts, overrides)


_UNRESOLVED = "localaws-deploy-check"  # stands in for what only the deployed stack knows (ARNs, generated names)
# What Lambda gives every function besides its own variables, as far as importing a handler may need it.
_CHECK_ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": ":UTC"} | dict.fromkeys(
    ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"), "local"
)
_REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


def _known_values(
    cfn_template: dict[str, Any], overrides: dict[str, str], stack_name: str, region: str
) -> dict[str, str]:
    declared = cfn_template.get("Parameters") or {}
    values = {name: str(spec.get("Default", "")) for name, spec in declared.items()} | overrides
    pseudo = {"AWS::StackName": stack_name, "AWS::Region": region, "AWS::AccountId": "123456789012"}
    return values | pseudo | {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


def _resolve(value: Any, known: dict[str, str]) -> str:
    """A property value with Ref and Fn::Sub of parameters resolved; anything only the stack knows, a placeholder."""
    if isinstance(value, str | int | float | bool):
        return str(value)
    if isinstance(value, dict) and "Ref" in value:
        return known.get(value["Ref"], _UNRESOLVED)
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return _PLACEHOLDER_SUB.sub(lambda m: known.get(m.group(1), _UNRESOLVED), value["Fn::Sub"])
    return _UNRESOLVED


def _check_handlers(cfn_template: dict[str, Any], artifacts: dict[str, bytes], known: dict[str, str]) -> None:
    """Import every function's handler from its built code, with its environment, once per code package."""
    from localaws.services.awslambda.worker import BOOTSTRAP

    packages: dict[bytes, list[dict[str, Any]]] = {}
    for logical_id, resource in cfn_template["Resources"].items():
        properties = resource.get("Properties") or {}
        if resource.get("Type") != "AWS::Lambda::Function" or "S3Key" not in properties.get("Code", {}):
            continue
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        packages.setdefault(artifacts[properties["Code"]["S3Key"]], []).append(
            {
                "id": logical_id,
                "name": _resolve(properties.get("FunctionName", logical_id), known),
                "handler": properties.get("Handler", ""),
                "environment": {key: _resolve(value, known) for key, value in variables.items()},
            }
        )
    region = known["AWS::Region"]
    for code, functions in packages.items():
        with tempfile.TemporaryDirectory(prefix="localaws-check-") as task_root:
            zipfile.ZipFile(io.BytesIO(code)).extractall(task_root)
            run = subprocess.run(
                [sys.executable, "-I", str(BOOTSTRAP), "--check"],
                input=json.dumps(functions),
                env=_CHECK_ENVIRONMENT | {"LAMBDA_TASK_ROOT": task_root} | dict.fromkeys(_REGION_VARIABLES, region),
                cwd=task_root,
                capture_output=True,
                text=True,
                check=False,
            )
        by_id = {function["id"]: function for function in functions}
        for line in run.stdout.splitlines():
            answer = json.loads(line)
            if answer["error"]:
                function, error = by_id[answer["id"]], answer["error"]
                raise TemplateError(
                    f"{function['id']} ({function['name']}): the handler does not start: "
                    f"{error['errorType']}: {error['errorMessage']}"
                )
        if run.returncode != 0:
            raise TemplateError(f"checking the handlers of {', '.join(by_id)} failed: {run.stderr.strip()[-300:]}")


def deploy(prepared: Prepared, stack_name: str, s3: Any, cloudformation: Any) -> dict[str, Any]:
    """Upload the artifacts and create the stack through CloudFormation; return DescribeStacks' answer for it."""
    check_resource_types(prepared.template, prepared.overrides)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    for key, content in prepared.artifacts.items():
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=content)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(prepared.template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in prepared.overrides.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        raise TemplateError(f"creating stack {stack_name} failed: {exc.response['Error'].get('Message', exc)}") from exc
    except BotoCoreError as exc:
        raise TemplateError(f"creating stack {stack_name} failed: {exc}") from exc
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise TemplateError(f"stack {stack_name} ended {stack['StackStatus']}: {stack.get('StackStatusReason', '')}")
    return stack


def prepare_in_background(
    template_path: Path, parameter_overrides: str, stack_name: str, region: str
) -> Callable[[], Prepared]:
    """Start prepare() in another process (it needs no AWS, so it overlaps the services' start-up); the returned
    function waits for it and raises its TemplateError."""
    process = subprocess.Popen(
        [sys.executable, "-m", "localaws.stack", str(template_path), parameter_overrides, stack_name, region],
        cwd=Path(__file__).resolve().parents[1],
        env=os.environ | {"AWS_REGION": region, "AWS_DEFAULT_REGION": region},  # the translator builds ARNs
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def result() -> Prepared:
        out, err = process.communicate()
        if process.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines()
            raise TemplateError(lines[-1] if lines else f"preparing {template_path} failed")
        return Prepared.from_json(out.decode())

    return result


if __name__ == "__main__":
    try:
        print(prepare(Path(sys.argv[1]), *sys.argv[2:]).to_json())
    except TemplateError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
