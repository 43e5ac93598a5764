"""Powertools Logger and Metrics shared by every handler (service and namespace come from the environment)."""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
