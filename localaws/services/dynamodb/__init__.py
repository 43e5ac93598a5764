"""DynamoDB: moto's, with table names checked and CloudFormation's Time to Live kept (fixes), items expired by their
Time to Live (expiry) and every write journaled (journal)."""
