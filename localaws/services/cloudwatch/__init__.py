"""CloudWatch: moto's, with the template's alarms made (cloudformation), datapoints kept indexed and merged (store),
statistics with percentiles answered (statistics, fixes), metric math (math), alarms evaluated and notified (alarms,
notification), their history recorded and described (history, describe_history), the telemetry's datapoints stored
(metrics), kept for the retention (retention) and journaled with the alarms' states (journal)."""
