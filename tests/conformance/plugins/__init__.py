"""pytest plugins loaded into the run of moto's own tests (`-p`), by top-level names moto's `tests` cannot shadow."""
