"""SQS: moto's, fast at any queue depth (fixes), its activity counted as AWS/SQS counts it (activity), what CloudWatch
samples of each queue (gauges), the Lambda poller's way in (poller), every message journaled (journal) and DLQ redrives
(moveapi: the message move task operations; movetasks: the tasks and the worker that moves their messages)."""
