"""Eight identical sign-ups (or new users) at once make one, and the other seven are told
the email is taken: no 500 (issue 10, item 10). A live threaded server, as in production,
with CSRF on: the eight requests carry the same cookie and token, like a double click."""
import re
import threading
import uuid

import pytest
import requests
from sqlalchemy import func, select

from factory_app.extensions import db
from factory_app.models import Organisation, User

from .conftest import PASSWORD, make_app, serving

TIMES = 8


@pytest.fixture()
def live(app, database_url, redis_url):
    live_app = make_app(database_url, redis_url, WTF_CSRF_ENABLED=True, TESTING=False,
                        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    with serving(live_app) as base:
        yield base


def form_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10).text
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def all_at_once(session: requests.Session, url: str, data: dict) -> list[requests.Response]:
    cookies = session.cookies.get_dict()
    start = threading.Barrier(TIMES)
    answers: list = [None] * TIMES

    def send(i):
        start.wait()
        answers[i] = requests.post(url, data=data, cookies=cookies, allow_redirects=False, timeout=60)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(TIMES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return answers


def count(app, query) -> int:
    with app.app_context():
        return db.session.scalar(query)


def test_eight_identical_sign_ups_make_one_organisation(app, live):
    session = requests.Session()
    data = {"csrf_token": form_token(session, f"{live}/signup"), "organisation": "Twin Clicks Pty Ltd",
            "name": "Tess", "email": "tess@twin.example", "password": "double-click", "confirm": "double-click"}
    answers = all_at_once(session, f"{live}/signup", data)
    assert sorted(a.status_code for a in answers) == [302] + [422] * (TIMES - 1)
    for a in answers:
        if a.status_code == 422:
            assert "An account with this email already exists." in a.text
    assert count(app, select(func.count()).select_from(User).where(User.email == "tess@twin.example")) == 1
    assert count(app, select(func.count()).select_from(Organisation).where(
        Organisation.name == "Twin Clicks Pty Ltd")) == 1


def test_eight_identical_new_users_make_one(app, live, tenant):
    session = requests.Session()
    token = form_token(session, f"{live}/login")
    assert session.post(f"{live}/login", data={"csrf_token": token, "email": tenant.admin_email,
                                               "password": PASSWORD}, allow_redirects=False).status_code == 302
    data = {"csrf_token": form_token(session, f"{live}/settings/users"), "name": "Nina", "email": "nina@acme.example",
            "role": "staff", "password": "temporary-pw"}
    answers = all_at_once(session, f"{live}/settings/users", data)
    assert sorted(a.status_code for a in answers) == [302] + [422] * (TIMES - 1)
    for a in answers:
        if a.status_code == 422:
            assert "Another user already has this email." in a.text
    assert count(app, select(func.count()).select_from(User).where(User.email == "nina@acme.example")) == 1
