"""Which of moto's own test modules measure the local AWS, by service: the one list the harness runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Module:
    """A test module of moto's source distribution; only/leave_out: fragments of test names that choose its tests."""

    path: str
    only: tuple[str, ...] = ()  # run a test when its name holds one of these (none: every test)
    leave_out: tuple[str, ...] = ()  # and not when it holds one of these

    def selection(self) -> dict[str, list[str]]:
        """As the results plugin reads it (tests/conformance/plugins/conformance_results.py)."""
        return {"only": list(self.only), "leave_out": list(self.leave_out)}


# Every service the local AWS serves, with the modules that exercise what the stack and the app use of it. Modules of
# moto's own internals (parsers and models tested in-process) say nothing about a server and are left out, as are
# Step Functions' parser modules: they switch moto's execution mode through POST localhost:5000/moto-api/config, a
# fixed address that another developer's moto_server on this machine may be listening on.
SERVICES: dict[str, tuple[Module, ...]] = {
    "SQS": (
        Module("tests/test_sqs/test_sqs.py"),
        Module("tests/test_sqs/test_sqs_message_attributes.py"),
    ),
    "Step Functions": (
        Module("tests/test_stepfunctions/test_stepfunctions.py"),
        Module("tests/test_stepfunctions/test_stepfunctions_cloudformation.py"),
    ),
    "Lambda": (
        # Left out: two tests that sign at a frozen clock from 2015 and then retry GetRole/CreateRole until either
        # works, which on a server that refuses stale signatures (as AWS does) is never.
        Module(
            "tests/test_awslambda/test_lambda.py",
            leave_out=("test_create_function_from_zipfile", "test_get_function_created_with_zipfile"),
        ),
        Module("tests/test_awslambda/test_lambda_eventsourcemapping.py"),
        Module("tests/test_awslambda/test_lambda_layers.py"),
        Module("tests/test_awslambda/test_lambda_concurrency.py"),
        Module("tests/test_awslambda/test_lambda_tags.py"),
    ),
    "CloudFormation": (Module("tests/test_cloudformation/test_cloudformation_stack_crud.py"),),
    "CloudWatch": (
        Module("tests/test_cloudwatch/test_cloudwatch.py"),
        Module("tests/test_cloudwatch/test_cloudwatch_alarms.py"),
        Module("tests/test_cloudwatch/test_cloudwatch_dashboards.py"),
    ),
    "Logs": (
        Module("tests/test_logs/test_logs.py"),
        Module("tests/test_logs/test_logs_filter_log_events.py"),
        Module("tests/test_logs/test_logs_query/test_boto3.py"),
    ),
    "SNS": (
        Module("tests/test_sns/test_topics.py"),
        Module("tests/test_sns/test_subscriptions.py"),
        Module("tests/test_sns/test_publishing.py"),
        Module("tests/test_sns/test_publish_batch.py"),
    ),
    "DynamoDB": (
        Module("tests/test_dynamodb/test_dynamodb.py"),
        Module("tests/test_dynamodb/test_dynamodb_create_table.py"),
        Module("tests/test_dynamodb/test_dynamodb_query.py"),
        Module("tests/test_dynamodb/test_dynamodb_scan.py"),
        Module("tests/test_dynamodb/test_dynamodb_batch_get_item.py"),
        Module("tests/test_dynamodb/test_dynamodb_batch_write.py"),
        Module("tests/test_dynamodb/test_dynamodb_transact.py"),
        Module("tests/test_dynamodb/test_dynamodb_condition_expressions.py"),
        Module("tests/test_dynamodb/test_dynamodb_update_expressions.py"),
        Module("tests/test_dynamodb/exceptions/test_dynamodb_exceptions.py"),
        Module("tests/test_dynamodb/exceptions/test_dynamodb_transactions.py"),
    ),
    # The stack's IAM is roles and their policies (inline and managed), made by CloudFormation; its STS is the
    # caller's identity and the execution roles' sessions.
    "IAM/STS": (
        Module(
            "tests/test_iam/test_iam.py",
            only=("role", "policy", "policies"),
            leave_out=("user", "group", "password", "instance_profile", "config", "service_linked"),
        ),
        Module("tests/test_sts/test_sts.py", only=("assume_role", "get_caller_identity"), leave_out=("saml", "web")),
    ),
}


def modules() -> list[Module]:
    """Every module, in the order the services are listed."""
    return [module for listed in SERVICES.values() for module in listed]


def service_of(test_id: str) -> str:
    """The service a test id (tests/test_sqs/test_sqs.py::test_x[param]) measures."""
    path = test_id.split("::", 1)[0]
    for service, listed in SERVICES.items():
        if any(module.path == path for module in listed):
            return service
    raise KeyError(f"{path} is not a module of the conformance suite (tests/conformance/suite.py)")
