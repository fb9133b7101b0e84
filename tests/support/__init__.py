"""What tests and benchmarks share: drivers of the sandbox faces' consent pages and clients of the sandbox (benchmarks import these, never a test module)."""
