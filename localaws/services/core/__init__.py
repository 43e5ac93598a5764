"""moto's core, shared by every service: request dispatch and model bookkeeping made to cost what they should."""
