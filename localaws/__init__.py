"""The embedded local AWS: moto behind one endpoint, infra/template.yaml deployed on it, functions in worker processes.

Reach it as an AWS endpoint: `python -m localaws` runs it, `localaws.instance.ensure_running()` finds or starts the
one of this machine, and everything else talks to it through AWS's own APIs.
"""
