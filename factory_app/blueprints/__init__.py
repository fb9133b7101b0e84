from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth, dashboard, parties, products, purchases, sales, settings

    for module in (auth, dashboard, parties, products, sales, purchases, settings):
        app.register_blueprint(module.bp)
