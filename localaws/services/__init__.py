"""The emulated services: moto's, with corrections, one package each (registry.py lists them, service.py says what a
service is, patches.py what a correction is)."""
