"""The bare page of issue 21's page-cost figures: what a page costs before the intranet does anything of its own.

The same session handling as the app (intranet/__init__.py, intranet/extensions.py): the app's configuration (the
same secret key, session cookie name and flags, so the signed-in clerk's cookie is read as the app reads it),
flask-login with a user loader that accepts the cookie's session only while it carries the server-side session's
token (intranet/auth/sessions.py, minus the database look-up), CSRF protection with the token rendered into the
page as the layout does, and a 25-row table rendered from a Jinja template with autoescaping. No database, no
translations, no other hook.

    gunicorn -k gthread -w 2 --threads 4 tests.bench.bare_app:app      # tests/bench/pagecost.py starts it
"""
from flask import Flask, render_template, session
from flask_login import LoginManager, UserMixin, login_required
from flask_wtf import CSRFProtect
from jinja2 import DictLoader

from intranet import config as config_module

PATH = "/bare"
ROWS = 25
MARK = 'id="bare-row-'  # each row carries it: the load checks the page has its 25 rows

TEMPLATE = """<!doctype html>
<html lang="ar" dir="rtl">
<head><meta charset="utf-8"><meta name="csrf-token" content="{{ csrf_token() }}"><title>{{ title }}</title></head>
<body>
<main>
<h1>{{ title }}</h1>
<table>
<thead><tr><th>رقم المتابعة</th><th>المواطن</th><th>النوع</th><th>المرحلة</th><th>الحالة</th><th>الموعد</th></tr></thead>
<tbody>
{% for row in rows %}
<tr id="bare-row-{{ row.id }}"><td><a href="/requests/{{ row.number }}">{{ row.number }}</a></td>
<td>{{ row.citizen }}</td><td>{{ row.type }}</td><td>{{ row.stage }}</td><td>{{ row.status }}</td>
<td><time datetime="{{ row.due }}">{{ row.due }}</time></td></tr>
{% endfor %}
</tbody>
</table>
</main>
</body>
</html>
"""

DATA = [{"id": n, "number": f"24-{n:07d}-{n % 10}", "citizen": f"مريم أحمد السويدي {n}", "type": "الرعاية الصحية",
         "stage": "مراجعة الطلب", "status": "مفتوح", "due": f"2026-12-{1 + n % 28:02d}"} for n in range(1, ROWS + 1)]


class Person(UserMixin):
    def __init__(self, staff_id):
        self.id = staff_id


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(config_module.load())
    app.jinja_env.loader = DictLoader({"bare.html": TEMPLATE})  # compiled once, cached as the app's templates
    CSRFProtect(app)
    login_manager = LoginManager(app)

    @login_manager.user_loader
    def load(staff_id):
        token = session.get("sid")  # intranet/auth/sessions.py's SESSION_KEY; the app then reads its row
        return Person(staff_id) if isinstance(token, str) and token else None

    @app.get(PATH)
    @login_required
    def bare():
        return render_template("bare.html", title="صفحة مجردة", rows=DATA)

    return app


app = create_app()
