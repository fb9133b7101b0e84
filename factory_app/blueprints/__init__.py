from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth, dashboard, integrations, parties, products, purchases, sales, settings

    for module in (auth, dashboard, parties, products, sales, purchases, settings, integrations):
        app.register_blueprint(module.bp)
