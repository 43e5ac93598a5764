"""Step Functions: moto's executing interpreter, with AWS's answers where moto's differ (execution names, StopExecution
aborting, RedriveExecution, lookups and ListExecutions pages, CloudFormation state machines), made fast enough to use
(task clients, definition and JSONPath parses), and the emulator's own features attached: lifecycle events (events)
that the telemetry and the journal (journal) subscribe to, a bound on executions running at once (running), the
emulator's record of each execution (records), and compaction of finished ones (finished, compaction)."""
