"""The sandbox's own tests: its faces against the packages' specifications, its ledger, its controls."""
