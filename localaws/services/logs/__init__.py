"""CloudWatch Logs: moto's, with log events delivered as Lambda delivers them (delivery), kept within bounds
(retention) and journaled (journal)."""
