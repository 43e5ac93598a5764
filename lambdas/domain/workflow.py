"""Starting the order workflow: one execution per order, named by the order id."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from lambdas.domain.order import Order


class StartedExecution(BaseModel):
    """The execution an order runs in; duplicate is True when a delivery repeated an earlier one."""

    order_id: str
    execution_arn: str
    duplicate: bool


def execution_input(order: Order) -> str:
    """The workflow's input document for an order."""
    return '{"order":' + order.model_dump_json() + "}"


def start_workflow(sfn: Any, state_machine_arn: str, order: Order) -> StartedExecution:
    """Start the order's execution; a repeated delivery of the same order is not an error."""
    try:
        response = sfn.start_execution(
            stateMachineArn=state_machine_arn, name=order.order_id, input=execution_input(order)
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        arn = f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{order.order_id}"
        return StartedExecution(order_id=order.order_id, execution_arn=arn, duplicate=True)
    # Same name and input while the first run is still going answers with that run's ARN, as on AWS.
    return StartedExecution(order_id=order.order_id, execution_arn=response["executionArn"], duplicate=False)
