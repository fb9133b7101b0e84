"""The Locust users of benchmarks/pages.py: each asks for one page, again and again, with
no think time, in a session that is logged in already. Which page, and the sessions, come
from the environment (PAGES_SPEC: a JSON file benchmarks/pages.py writes), so the same
file serves every page:

    locust -f benchmarks/pages_locust.py --headless -u 16 -r 16 -t 60s --host URL --csv PREFIX

PAGES_PAGE names the page of the spec to ask for.
"""
from __future__ import annotations

import itertools
import json
import os
import random

from locust import HttpUser, constant, task

SPEC = json.loads(open(os.environ["PAGES_SPEC"]).read())
PAGE = SPEC["pages"][os.environ["PAGES_PAGE"]]
SESSIONS = itertools.cycle(SPEC["sessions"])


class PageUser(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        session = next(SESSIONS)
        self.client.headers["User-Agent"] = SPEC["user_agent"]  # the session is bound to it
        for name, value in session.items():
            self.client.cookies.set(name, value)
        self.rng = random.Random()

    @task
    def page(self):
        path = self.rng.choice(PAGE["paths"])
        headers = {"HX-Request": "true"} if PAGE.get("htmx") else {}
        with self.client.get(path, name=os.environ["PAGES_PAGE"], headers=headers, allow_redirects=False,
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} for {path}")
