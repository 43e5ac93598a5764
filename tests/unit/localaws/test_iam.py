"""IAM in the sandbox (localaws.services.iam): scoped policies judged on the resources AWS names, refusals in each
protocol's form, Allow statements that either apply or do not, and names checked as AWS checks them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws, settings

from localaws import credentials
from localaws.config import ACCOUNT_ID, REGION
from localaws.services import registry
from localaws.services.iam import principals

TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}


@pytest.fixture
def enforced(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process with IAM enforced, and a client factory for the instance's own principal or a policy's."""
    registry.apply()
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    own = credentials.generate()
    for name, value in own.environment().items():
        monkeypatch.setenv(name, value)
    with mock_aws(config={"core": {"mock_credentials": False}}):
        principals.register_admin(own)
        monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        yield boto3.client


def user_allowed(statements: list[dict[str, Any]]) -> dict[str, str]:
    """Credentials of a new IAM user whose only policy holds these statements."""
    admin = boto3.client("iam")
    name = f"user-{len(admin.list_users()['Users'])}"
    admin.create_user(UserName=name)
    document = {"Version": "2012-10-17", "Statement": statements}
    admin.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(document))
    key = admin.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def code(call: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return str(raised.value.response["Error"]["Code"])


def table(name: str) -> str:
    boto3.client("dynamodb").create_table(
        TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"


def test_a_policy_scoped_to_a_table_allows_that_table_only(enforced: Any) -> None:
    mine, other = table("mine"), table("other")
    allowed = user_allowed(
        [{"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:BatchWriteItem"], "Resource": mine}]
    )
    dynamodb = boto3.client("dynamodb", **allowed)
    item = {"id": {"S": "1"}}
    dynamodb.put_item(TableName="mine", Item=item)
    with pytest.raises(ClientError) as raised:
        dynamodb.put_item(TableName="other", Item=item)
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"  # JSON protocol: AWS's code, not moto's XML AccessDenied
    assert f"dynamodb:PutItem on resource: {other}" in error["Message"]
    put = {"PutRequest": {"Item": item}}
    dynamodb.batch_write_item(RequestItems={"mine": [put]})
    assert code(lambda: dynamodb.batch_write_item(RequestItems={"mine": [put], "other": [put]})) == (
        "AccessDeniedException"  # a batch over two tables needs both
    )


def test_topics_and_log_groups_are_judged_on_their_arns(enforced: Any) -> None:
    topic = boto3.client("sns").create_topic(Name="mine")["TopicArn"]
    other_topic = boto3.client("sns").create_topic(Name="other")["TopicArn"]
    logs = boto3.client("logs")
    for group in ("mine", "audit"):
        logs.create_log_group(logGroupName=group)
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:mine:*"
    allowed = user_allowed([
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": group_arn},
    ])  # fmt: skip
    sns, own_logs = boto3.client("sns", **allowed), boto3.client("logs", **allowed)
    sns.publish(TopicArn=topic, Message="hi")
    assert code(lambda: sns.publish(TopicArn=other_topic, Message="hi")) == "AccessDenied"  # query protocol
    own_logs.create_log_stream(logGroupName="mine", logStreamName="s")
    own_logs.put_log_events(logGroupName="mine", logStreamName="s", logEvents=[{"timestamp": 1, "message": "m"}])
    assert code(lambda: own_logs.create_log_stream(logGroupName="audit", logStreamName="s")) == "AccessDeniedException"


def test_an_allow_whose_condition_cannot_be_judged_allows_nothing_and_denies_nothing(enforced: Any) -> None:
    arn = table("conditional")
    conditional = {
        "Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": arn,
        "Condition": {"StringLike": {"dynamodb:LeadingKeys": ["user-*"]}},
    }  # fmt: skip
    only_conditional = boto3.client("dynamodb", **user_allowed([conditional]))
    item = {"TableName": "conditional", "Item": {"id": {"S": "user-1"}}}
    assert code(lambda: only_conditional.put_item(**item)) == "AccessDeniedException"  # moto allowed it
    plain = {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": arn}
    boto3.client("dynamodb", **user_allowed([conditional, plain])).put_item(**item)  # moto denied it


def test_a_user_may_not_assume_a_role_that_trusts_only_a_service(enforced: Any) -> None:
    role = boto3.client("iam").create_role(RoleName="lambda-only", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    anything = user_allowed([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}])
    sts = boto3.client("sts", **anything)
    assert code(lambda: sts.assume_role(RoleArn=role["Arn"], RoleSessionName="me")) == "AccessDenied"  # not HTTP 500


def test_a_role_session_acts_with_the_roles_policies(enforced: Any) -> None:
    mine = table("roles")
    iam_client = boto3.client("iam")
    role = iam_client.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": mine}],
    }
    iam_client.put_role_policy(RoleName="worker", PolicyName="get", PolicyDocument=json.dumps(document))
    session = principals.RoleSessions().credentials(role["Arn"], "worker")
    assert session.access_key_id.startswith("ASIA")
    worker = boto3.client("dynamodb", **{k.lower(): v for k, v in session.environment().items()})
    worker.get_item(TableName="roles", Key={"id": {"S": "1"}})
    assert code(lambda: worker.put_item(TableName="roles", Item={"id": {"S": "1"}})) == "AccessDeniedException"
    assert (
        principals.missing_permission(role["Arn"], ("dynamodb:GetItem", "dynamodb:PutItem"), mine) == "dynamodb:PutItem"
    )


def test_a_user_may_assume_a_role_that_trusts_their_account_when_their_policy_allows_it(enforced: Any) -> None:
    account_root = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                                   "Action": "sts:AssumeRole"}]}  # fmt: skip
    role = boto3.client("iam").create_role(RoleName="account", AssumeRolePolicyDocument=json.dumps(account_root))
    allowed = boto3.client("sts", **user_allowed([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]))
    session = allowed.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="me")["Credentials"]
    assert session["AccessKeyId"].startswith("ASIA")
    not_allowed = boto3.client("sts", **user_allowed([{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]))
    assert code(lambda: not_allowed.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="me")) == "AccessDenied"
