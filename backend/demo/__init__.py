"""The demo: the scripted two-minute run (script) and the realistic random orders it and the CLI send (samples)."""
