"""Factory: the application factory."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from . import config as config_module
from . import instance
from .extensions import csrf, db, htmx, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(config: dict | None = None) -> Flask:
    folder = config_module.instance_path()
    app = Flask(
        __name__,
        instance_path=str(folder),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    instance.secure_folder(folder)
    app.config.update(config_module.from_environment(folder))
    if config:
        app.config.update(config)
        if "SQLALCHEMY_DATABASE_URI" in config:
            app.config["SQLALCHEMY_DATABASE_URI"] = config_module.normalise_database_url(
                config["SQLALCHEMY_DATABASE_URI"])
    instance.secure_folder(folder, app.config["SQLALCHEMY_DATABASE_URI"])
    config_module.tune_postgres(app.config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)

    from . import models  # noqa: F401  (register the mappers)
    from . import counts, jobs, logs, once, security, web  # noqa: F401  (counts: its commit listeners)
    from .blueprints import register_blueprints

    security.init_app(app)
    logs.install()
    web.init_app(app)
    jobs.init_app(app)
    once.init_app(app)
    register_blueprints(app)

    from .cli import register_flask_commands
    register_flask_commands(app)
    return app
