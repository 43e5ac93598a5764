"""IAM as AWS enforces it: moto's access control switched on with the instance's own principal and the functions'
role sessions (principals), and the fixes that let moto judge a scoped policy as AWS does (fixes, resources)."""
