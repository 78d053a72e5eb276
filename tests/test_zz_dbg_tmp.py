def test_dbg(app):
    print(app.config["BABEL_TRANSLATION_DIRECTORIES"])
    from flask_babel import gettext, force_locale
    with app.test_request_context(), force_locale("ar"):
        print(gettext("Requests received"), gettext("Total"))
