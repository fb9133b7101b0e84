from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth, dashboard, integrations, parties, pickers, products, purchases, sales, settings, webhooks

    for module in (auth, dashboard, parties, pickers, products, sales, purchases, settings, integrations, webhooks):
        app.register_blueprint(module.bp)
