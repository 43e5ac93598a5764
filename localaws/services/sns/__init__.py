"""SNS: moto's, with CloudFormation's subscriptions made (fixes) and its record of published messages bounded
(retention)."""
