"""CloudWatch Logs: moto's, with log events delivered as Lambda delivers them (delivery), kept within bounds
(retention), journaled (journal), and queried with Logs Insights (insights, evaluation, queries, fixes)."""
