"""Contract tests: what every accounting package's adapter must do, run once per package
of the registry (the `package` fixture) against that package's face of the sandbox."""
