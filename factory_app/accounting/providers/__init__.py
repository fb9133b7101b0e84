"""One folder per accounting package: its adapter (calls), and what only it knows (its
webhooks' signature and shapes). Nothing outside a package's folder and the registry
(factory_app/accounting/__init__.py) names a package."""
