"""SQS: moto's, fast at any queue depth (fixes), its activity counted as AWS/SQS counts it (activity), what CloudWatch
samples of each queue (gauges), the Lambda poller's way in (poller) and every message journaled (journal)."""
