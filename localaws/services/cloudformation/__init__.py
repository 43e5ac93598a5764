"""CloudFormation: moto's, with failures naming their resource (fixes), and the way other services register the
resource types moto's CloudFormation skips (types)."""
