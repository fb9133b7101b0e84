"""Changing and resetting passwords (issue 10, item 7): your own (knowing the current
one), an administrator's for another user, and "Forgot password" by a signed link that
works for an hour and once, mailed over SMTP or, with no SMTP set up, written to the log."""
import logging
import re
import socketserver
import threading
import time
import uuid

import pytest
from sqlalchemy import select

from factory_app import config as config_module
from factory_app.extensions import db
from factory_app.models import User
from factory_app.services import passwords

from .conftest import PASSWORD, make_app

NEW = "a brand new password"


def log_in(app, email, password=PASSWORD, remember=False):
    client = app.test_client()
    data = {"email": email, "password": password, **({"remember": "y"} if remember else {})}
    return client, client.post("/login", data=data).status_code


def logged_in(client) -> bool:
    return client.get("/").status_code == 200


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    yield
    app.extensions["factory_limiter"].reset()


# --- your account -----------------------------------------------------------------------

def test_change_your_password_knowing_the_current_one(app, tenant):
    client, _ = log_in(app, tenant.admin_email, remember=True)
    other_browser, _ = log_in(app, tenant.admin_email)
    page = client.get("/account")
    assert page.status_code == 200 and "Change your password" in page.get_data(as_text=True)

    wrong = client.post("/account", data={"current": "not it", "password": NEW, "confirm": NEW})
    assert wrong.status_code == 422 and "That isn&#39;t your current password." in wrong.get_data(as_text=True)
    differ = client.post("/account", data={"current": PASSWORD, "password": NEW, "confirm": NEW + "x"})
    assert differ.status_code == 422 and "The passwords differ." in differ.get_data(as_text=True)
    short = client.post("/account", data={"current": PASSWORD, "password": "short", "confirm": "short"})
    assert short.status_code == 422

    old_remember = client.get_cookie("remember_token").value
    done = client.post("/account", data={"current": PASSWORD, "password": NEW, "confirm": NEW})
    assert done.status_code == 302
    assert logged_in(client)  # this browser carries on...
    assert not logged_in(other_browser)  # ...every other one is logged out
    new_remember = client.get_cookie("remember_token").value
    assert new_remember != old_remember  # "keep me logged in" keeps working, with the new token
    fresh = app.test_client()
    fresh.set_cookie("remember_token", new_remember)
    assert logged_in(fresh)
    assert log_in(app, tenant.admin_email)[1] == 422
    assert log_in(app, tenant.admin_email, NEW)[1] == 302


def test_guessing_the_current_password_is_limited(app, tenant):
    client, _ = log_in(app, tenant.staff_email)
    for _ in range(5):
        assert client.post("/account", data={"current": "guess", "password": NEW, "confirm": NEW}).status_code == 422
    refused = client.post("/account", data={"current": PASSWORD, "password": NEW, "confirm": NEW})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


# --- an administrator sets another user's password ----------------------------------------

def test_an_administrator_sets_a_staff_members_password(app, tenant):
    staff, _ = log_in(app, tenant.staff_email)
    admin = tenant.client()
    page = admin.get("/settings/users").get_data(as_text=True)
    assert f'action="/settings/users/{tenant.staff_id}/password"' in page
    assert f'action="/settings/users/{tenant.admin_id}/password"' not in page  # yours: under Your account

    short = admin.post(f"/settings/users/{tenant.staff_id}/password", data={"password": "short"})
    assert short.status_code == 422
    assert 'id="password-%d-error"' % tenant.staff_id in short.get_data(as_text=True)
    assert logged_in(staff)

    assert admin.post(f"/settings/users/{tenant.staff_id}/password", data={"password": NEW}).status_code == 302
    assert not logged_in(staff)
    assert log_in(app, tenant.staff_email)[1] == 422
    assert log_in(app, tenant.staff_email, NEW)[1] == 302
    assert logged_in(admin)


def test_not_your_own_nor_as_staff_nor_another_organisations(app, tenant, other_tenant):
    admin = tenant.client()
    own = admin.post(f"/settings/users/{tenant.admin_id}/password", data={"password": NEW})
    assert own.status_code == 422 and "Change your own password under Your account." in own.get_data(as_text=True)
    assert tenant.client(as_staff=True).post(
        f"/settings/users/{tenant.admin_id}/password", data={"password": NEW}).status_code == 403
    assert admin.post(f"/settings/users/{other_tenant.staff_id}/password", data={"password": NEW}).status_code == 404
    assert log_in(app, tenant.admin_email)[1] == 302
    assert log_in(app, other_tenant.staff_email)[1] == 302


# --- forgot password --------------------------------------------------------------------

@pytest.fixture()
def mail_app(app, database_url, redis_url):
    """No MAIL_SERVER (as in the demo); links on the configured address."""
    return make_app(database_url, redis_url, FACTORY_EXTERNAL_URL="https://factory.example.com",
                    RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")


def logged_links(caplog) -> list[str]:
    return re.findall(r"https?://\S+/reset-password/\S+",
                      "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING))


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_login_page_links_to_forgot_password(app):
    assert 'href="/forgot-password"' in app.test_client().get("/login").get_data(as_text=True)


def test_forgot_password_writes_the_link_to_the_log_without_smtp(mail_app, tenant, caplog):
    client = mail_app.test_client()
    with caplog.at_level(logging.WARNING):
        response = client.post("/forgot-password", data={"email": tenant.staff_email.upper()},
                               headers={"Host": "evil.example"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    [link] = logged_links(caplog)
    assert link.startswith("https://factory.example.com/reset-password/")  # never the Host header
    assert "evil.example" not in caplog.text
    assert tenant.staff_email in caplog.text


def test_forgot_password_answers_the_same_for_an_unknown_email(mail_app, tenant, caplog):
    def ask(email):
        client = mail_app.test_client()
        response = client.post("/forgot-password", data={"email": email})
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        page = re.sub(r'"X-CSRFToken": "[^"]*"', "", page)  # each browser has its own
        return response.status_code, response.headers["Location"], page.replace(email, "EMAIL")

    with caplog.at_level(logging.WARNING):
        known = ask(tenant.staff_email)
        sent = len(logged_links(caplog))
        unknown = ask("nobody@acme-fabrication.example")
    assert known == unknown
    assert "If EMAIL has a Factory account" in known[2]
    assert sent == 1 and len(logged_links(caplog)) == 1  # nothing for the unknown one


def test_a_deactivated_user_gets_no_link(mail_app, tenant, caplog):
    with mail_app.app_context():
        db.session.get(User, tenant.staff_id).active = False
        db.session.commit()
    with caplog.at_level(logging.WARNING):
        assert mail_app.test_client().post("/forgot-password", data={"email": tenant.staff_email}).status_code == 302
    assert logged_links(caplog) == []


def test_the_reset_link_sets_a_new_password_once(mail_app, tenant, caplog):
    staff, _ = log_in(mail_app, tenant.staff_email, remember=True)
    with caplog.at_level(logging.WARNING):
        mail_app.test_client().post("/forgot-password", data={"email": tenant.staff_email})
    path = path_of(logged_links(caplog)[0])
    client = mail_app.test_client()
    page = client.get(path)
    assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)
    mismatch = client.post(path, data={"password": NEW, "confirm": "other"})
    assert mismatch.status_code == 422
    done = client.post(path, data={"password": NEW, "confirm": NEW})
    assert done.status_code == 302
    assert logged_in(client)  # logged in with the new password
    assert not logged_in(staff)  # the sessions from before are over
    assert log_in(mail_app, tenant.staff_email, NEW)[1] == 302
    # used once: the link is dead
    again = mail_app.test_client().get(path)
    assert again.status_code == 400 and "This link no longer works" in again.get_data(as_text=True)
    assert mail_app.test_client().post(path, data={"password": "x" * 12, "confirm": "x" * 12}).status_code == 400
    assert log_in(mail_app, tenant.staff_email, NEW)[1] == 302


def test_the_reset_link_expires_after_an_hour(mail_app, tenant, monkeypatch):
    with mail_app.test_request_context():
        user = db.session.get(User, tenant.staff_id)
        real = time.time
        with monkeypatch.context() as m:
            m.setattr(time, "time", lambda: real() - 3601)
            old = passwords.reset_token(user)
            m.setattr(time, "time", lambda: real() - 3500)
            recent = passwords.reset_token(user)
    client = mail_app.test_client()
    assert client.get(f"/reset-password/{old}").status_code == 400
    assert client.get(f"/reset-password/{recent}").status_code == 200


def test_a_forged_or_foreign_token_does_not_work(mail_app, tenant):
    with mail_app.test_request_context():
        user = db.session.get(User, tenant.staff_id)
        token = passwords.reset_token(user)
        from itsdangerous import URLSafeTimedSerializer
        other_salt = URLSafeTimedSerializer(mail_app.config["SECRET_KEY"], salt="something-else").dumps(
            {"user": user.id, "password": "x"})
    client = mail_app.test_client()
    for bad in (token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], other_salt, "nonsense", "a" * 3000):
        assert client.get(f"/reset-password/{bad}").status_code == 400, bad
        assert client.post(f"/reset-password/{bad}", data={"password": NEW, "confirm": NEW}).status_code == 400
    assert log_in(mail_app, tenant.staff_email)[1] == 302


# --- over SMTP --------------------------------------------------------------------------

class SMTPSink(socketserver.ThreadingTCPServer):
    """Just enough of an SMTP server on 127.0.0.1 to receive the mails Factory sends."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.messages: list[dict] = []
        super().__init__(("127.0.0.1", 0), _SMTPHandler)


class _SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        envelope = {"to": [], "data": ""}
        self.reply("220 sink ready")
        while line := self.rfile.readline().decode():
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                envelope["from"] = line.strip()
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["to"].append(line.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go on")
                lines = []
                while (data := self.rfile.readline().decode()) not in (".\r\n", ""):
                    lines.append(data)
                envelope["data"] = "".join(lines)
                self.server.messages.append(dict(envelope))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture()
def smtp():
    server = SMTPSink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_link_goes_by_smtp_when_a_server_is_configured(app, database_url, redis_url, tenant, smtp):
    smtp_app = make_app(database_url, redis_url, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1",
                        MAIL_PORT=smtp.server_address[1], MAIL_DEFAULT_SENDER="Factory <factory@acme.example>",
                        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    response = smtp_app.test_client().post("/forgot-password", data={"email": tenant.staff_email})
    assert response.status_code == 302
    [message] = smtp.messages
    assert message["to"] == [tenant.staff_email]
    assert "factory@acme.example" in message["from"]
    assert "Subject: Choose a new Factory password" in message["data"]
    link = re.search(r"http://127\.0\.0\.1:5000/reset-password/\S+", message["data"]).group(0)
    assert smtp_app.test_client().get(path_of(link)).status_code == 200


def test_an_unreachable_smtp_server_changes_nothing_in_the_answer(app, database_url, redis_url, tenant, caplog):
    from factory_app.localredis import free_port
    down = make_app(database_url, redis_url, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(),
                    RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    with caplog.at_level(logging.ERROR):
        response = down.test_client().post("/forgot-password", data={"email": tenant.staff_email})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "could not be sent" in caplog.text


def test_mail_settings_come_from_the_environment(monkeypatch, tmp_path):
    for name, value in {"MAIL_SERVER": "smtp.acme.example", "MAIL_PORT": "587", "MAIL_USERNAME": "factory",
                        "MAIL_PASSWORD": "pw", "MAIL_USE_TLS": "1", "MAIL_DEFAULT_SENDER": "ops@acme.example",
                        "FACTORY_EXTERNAL_URL": "https://factory.acme.example/"}.items():
        monkeypatch.setenv(name, value)
    settings = config_module.from_environment(tmp_path)
    assert (settings["MAIL_SERVER"], settings["MAIL_PORT"], settings["MAIL_USERNAME"], settings["MAIL_PASSWORD"],
            settings["MAIL_USE_TLS"], settings["MAIL_USE_SSL"], settings["MAIL_DEFAULT_SENDER"]) == (
        "smtp.acme.example", 587, "factory", "pw", True, False, "ops@acme.example")
    assert settings["FACTORY_EXTERNAL_URL"] == "https://factory.acme.example"
    monkeypatch.delenv("FACTORY_EXTERNAL_URL")
    monkeypatch.delenv("MAIL_SERVER")
    settings = config_module.from_environment(tmp_path)
    assert settings["FACTORY_EXTERNAL_URL"] == "http://127.0.0.1:5000" and settings["MAIL_SERVER"] == ""


def test_reset_tokens_name_the_user_and_their_current_password(app, tenant):
    with app.test_request_context():
        user = db.session.get(User, tenant.staff_id)
        token = passwords.reset_token(user)
        assert passwords.user_for_reset_token(token) is user
        user.set_password(NEW)
        assert passwords.user_for_reset_token(token) is None
        assert db.session.scalar(select(User.id).where(User.id == user.id))
