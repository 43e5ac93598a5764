"""Conformance: moto's own test suite, from its source distribution, run against the local AWS and plain moto_server."""
