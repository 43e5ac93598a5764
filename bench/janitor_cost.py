"""CPU of the janitor's history-dependent steps at N executions and M minutes of metrics, measured in-process.

    .venv/bin/python bench/janitor_cost.py --executions 20000 --minutes 120

Fills one state machine's execution list (finished ones, the newest 100 running) and the metrics the telemetry
would have sent (every 5 s per active series: a statistic set, and execution times as values with counts), creates
alarms of the template's shapes, then prints the CPU (time.process_time, mean of 5 after one warm-up) of each
janitor step and of the Overview's GetMetricData. Point sys.path at another checkout to compare.
"""

import argparse
import datetime
import json
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--executions", type=int, default=20_000)
parser.add_argument("--minutes", type=int, default=120)
args = parser.parse_args()
H, minutes = args.executions, args.minutes

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from localaws.services import registry  # noqa: E402
from localaws.services.cloudwatch.alarms import evaluate_alarms  # noqa: E402
from localaws.services.cloudwatch.retention import retain_metrics  # noqa: E402
from localaws.services.stepfunctions.compaction import compact_finished_executions  # noqa: E402

registry.apply()
CONFIG = {
    "stepfunctions": {"execute_state_machine": True},
    "core": {"passthrough": {"services": ["lambda"], "urls": []}},
}
with mock_aws(config=CONFIG):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    arn = sfn.create_state_machine(
        name="m",
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/r",
    )["stateMachineArn"]
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    (machine,) = stepfunctions_parser_backends["123456789012"]["us-east-1"].state_machines
    now = time.time()

    def fake(i, status):
        start = datetime.datetime.fromtimestamp(now - H + i, datetime.UTC)
        return types.SimpleNamespace(
            name=f"e{i}",
            exec_arn=f"{arn.replace('stateMachine', 'execution')}:e{i}",
            execution_arn=f"{arn.replace('stateMachine', 'execution')}:e{i}",
            state_machine_arn=arn,
            exec_status=status,
            start_date=start,
            stop_date=start,
            error=None,
            cause=None,
            status=status.value,
        )

    for i in range(H):
        machine.executions.append(fake(i, ExecutionStatus.SUCCEEDED if i < H - 100 else ExecutionStatus.RUNNING))
    # metrics as the telemetry sends them: every 5 s, per active series a statistic set; ExecutionTime as ~60 values
    series = [
        ("AWS/Lambda", n, {"FunctionName": f"f{k}"}) for n in ("Invocations", "Errors", "Duration") for k in range(4)
    ]
    series += [
        ("AWS/States", n, {"StateMachineArn": arn})
        for n in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed")
    ]
    series += [
        ("OrderPipeline", n, {"service": "orders"})
        for n in ("OrdersValidated", "PaymentRequests", "PaymentsApproved", "PaymentsDeclined", "NotificationsSent")
    ]
    series += [
        ("AWS/SQS", n, {"QueueName": q})
        for n in (
            "NumberOfMessagesSent",
            "NumberOfMessagesReceived",
            "NumberOfMessagesDeleted",
            "ApproximateAgeOfOldestMessage",
            "ApproximateNumberOfMessagesVisible",
        )
        for q in ("orders", "dlq")
    ]
    t0 = time.process_time()
    for m in range(minutes):
        minute = datetime.datetime.fromtimestamp((int(now) // 60 - minutes + m) * 60, datetime.UTC)
        for flush in range(12):
            by_ns = {}
            for ns, name, dims in series:
                by_ns.setdefault(ns, []).append(
                    {
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                        "Timestamp": minute,
                        "Unit": "Count",
                        "StatisticValues": {"SampleCount": 5, "Sum": 5, "Minimum": 1, "Maximum": 1},
                    }
                )
            by_ns["AWS/States"].append(
                {
                    "MetricName": "ExecutionTime",
                    "Dimensions": [{"Name": "StateMachineArn", "Value": arn}],
                    "Timestamp": minute,
                    "Unit": "Milliseconds",
                    "Values": [float(v * 10 + flush % 3) for v in range(100, 160)],
                    "Counts": [2.0] * 60,
                }
            )
            for ns, data in by_ns.items():
                cw.put_metric_data(Namespace=ns, MetricData=data)
    put = time.process_time() - t0
    from moto.cloudwatch.models import cloudwatch_backends

    datums = len(cloudwatch_backends["123456789012"]["us-east-1"].metric_data)
    # the template's alarms (shape)
    cw.put_metric_alarm(
        AlarmName="dlq",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "dlq"}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cw.put_metric_alarm(
        AlarmName="p99",
        Namespace="AWS/States",
        MetricName="ExecutionTime",
        Dimensions=[{"Name": "StateMachineArn", "Value": arn}],
        ExtendedStatistic="p99",
        Period=300,
        EvaluationPeriods=1,
        Threshold=30000,
        ComparisonOperator="GreaterThanThreshold",
    )
    cw.put_metric_alarm(
        AlarmName="errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "f1"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )

    def stat(n, ns, d):
        return {"Metric": {"Namespace": ns, "MetricName": n, "Dimensions": d}, "Period": 60, "Stat": "Sum"}

    cw.put_metric_alarm(
        AlarmName="technical",
        Metrics=[
            {"Id": "t", "Expression": "failed - FILL(declined, 0)", "ReturnData": True},
            {
                "Id": "failed",
                "MetricStat": stat("ExecutionsFailed", "AWS/States", [{"Name": "StateMachineArn", "Value": arn}]),
                "ReturnData": False,
            },
            {
                "Id": "declined",
                "MetricStat": stat("PaymentsDeclined", "OrderPipeline", [{"Name": "service", "Value": "orders"}]),
                "ReturnData": False,
            },
        ],
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )

    def cpu(f, n=5):
        f()  # warm (the first compaction shrinks)
        t = time.process_time()
        for _ in range(n):
            f()
        return (time.process_time() - t) / n * 1000

    res = {
        "compaction": cpu(lambda: compact_finished_executions(2000, 50000, 86400)),
        "alarms (4)": cpu(lambda: evaluate_alarms(time.time())),
        "retain_metrics": cpu(lambda: retain_metrics(86400)),
        "ListExecutions RUNNING (all pages)": cpu(
            lambda: [
                p
                for p in sfn.get_paginator("list_executions").paginate(
                    stateMachineArn=arn, statusFilter="RUNNING", PaginationConfig={"PageSize": 200}
                )
            ]
        ),
        "GetMetricData, Overview's 1 h": cpu(
            lambda: cw.get_metric_data(
                MetricDataQueries=[
                    {
                        "Id": f"q{i}",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "AWS/States",
                                "MetricName": "ExecutionTime",
                                "Dimensions": [{"Name": "StateMachineArn", "Value": arn}],
                            },
                            "Period": 3600,
                            "Stat": s,
                        },
                    }
                    for i, s in enumerate(["p50", "p90", "p99", "SampleCount", "Sum"])
                ],
                StartTime=datetime.datetime.fromtimestamp(now - 3600, datetime.UTC),
                EndTime=datetime.datetime.fromtimestamp(now + 60, datetime.UTC),
            )
        ),
    }
    print(
        json.dumps(
            {
                "executions": H,
                "minutes": minutes,
                "datapoints": datums,
                "put_ms_per_minute": round(put / minutes * 1000, 1),
                **{k: round(v, 1) for k, v in res.items()},
            }
        )
    )
