"""Lambda: moto's control plane (functions, mappings) with its names and answers fixed (fixes); invocation is ours: a
runtime of worker processes (runtime, worker, bootstrap), the Invoke API (invoke_api) and SQS event sources
(event_source)."""
