import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import (
    ConnectionSettings,
    redact,
    redact_all,
    secret_values,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def test_redact_masks_url_password_and_keyword_password():
    text = "failed postgresql://app:s3cr%40t@db:5432/x and host=db password=hunter22 user=x"
    out = redact(text)
    assert "s3cr%40t" not in out and "hunter22" not in out
    assert "postgresql://app:********@db:5432/x" in out
    assert "password=********" in out


def test_redact_masks_extra_secrets_anywhere():
    assert redact("token sbp_abcdef in text", ["sbp_abcdef"]) == "token ******** in text"


def test_from_url_parses_everything_and_round_trips_with_password():
    settings = ConnectionSettings.from_url("postgresql://u:p%40ss@db.example.com:6543/app?sslmode=require")
    assert (settings.host, settings.port, settings.user, settings.password, settings.dbname, settings.ssl_mode) == (
        "db.example.com", 6543, "u", "p@ss", "app", "require")
    assert settings.is_transaction_pooler()
    again = ConnectionSettings.from_url(settings.url())
    assert again.password == "p@ss" and again.dbname == "app"
    assert "p%40ss" not in settings.redacted_url()
    assert settings.url(with_password=False).startswith("postgresql://u@db.example.com:6543/app")


def test_from_params_prefers_db_url_and_explicit_ssl_mode_overrides():
    params = {"db_url": "postgres://u:pw@h/d?sslmode=disable", "ssl_mode": "require", "connect_timeout": 3}
    settings = ConnectionSettings.from_params(params)
    assert settings.ssl_mode == "require" and settings.connect_timeout == 3
    params["ssl_mode"] = "prefer"
    assert ConnectionSettings.from_params(params).ssl_mode == "disable"


def test_from_params_login_options():
    settings = ConnectionSettings.from_params({"login_host": "h", "login_port": 5433, "login_user": "u",
                                               "login_password": "pw", "login_db": "d", "ssl_mode": "disable",
                                               "connect_timeout": 5})
    assert settings.libpq_kwargs()["password"] == "pw"
    assert "pw" not in " ".join(settings.libpq_args())
    assert settings.child_env()["PGPASSWORD"] == "pw"


def test_secret_values_include_password_inside_db_url():
    assert secret_values({"db_url": "postgresql://u:topsecret@h/d"}) == ["topsecret"]


@pytest.mark.parametrize("url", ["mysql://u@h/d", "postgresql://u@h:notaport/d"])
def test_from_url_rejects_bad_urls_with_one_line(url):
    with pytest.raises(InvalidInput) as err:
        ConnectionSettings.from_url(url)
    assert "\n" not in str(err.value)


def test_password_in_the_query_string_is_the_password_and_never_on_a_command_line():
    settings = ConnectionSettings.from_url("postgresql://u@h:5432/d?password=p%26ss-word&sslmode=disable")
    assert settings.password == "p&ss-word" and "password" not in settings.options
    assert "ss-word" not in settings.url(with_password=False) and "ss-word" not in " ".join(settings.libpq_args())
    assert settings.child_env()["PGPASSWORD"] == "p&ss-word" and settings.libpq_kwargs()["password"] == "p&ss-word"
    assert secret_values({"db_url": "postgresql://u@h/d?sslmode=disable&password=p%26ss-word"}) == [
        "p%26ss-word", "p&ss-word"]


def test_pgbouncer_marks_a_pooler_and_is_not_passed_to_libpq():
    settings = ConnectionSettings.from_url("postgresql://u:pw@h:5432/d?pgbouncer=true")
    assert settings.is_transaction_pooler() and "pgbouncer" not in settings.libpq_kwargs()
    assert not ConnectionSettings.from_url("postgresql://u:pw@h:5432/d").is_transaction_pooler()


def test_unknown_url_option_is_named():
    with pytest.raises(InvalidInput) as err:
        ConnectionSettings.from_url("postgresql://u:pw@h/d?sslmod=disable&application_name=x")
    assert str(err.value) == ("db_url has an unknown connection option 'sslmod': "
                              "postgresql://u:********@h/d?sslmod=disable&application_name=x; use libpq's keywords "
                              "(sslmode, connect_timeout, application_name, ...)")


def test_invalid_url_masks_a_password_with_an_unencoded_at_whole():
    url = "postgresql://postgres:p@ss-W0rd@[::1/postgres?sslmode=disable"
    with pytest.raises(InvalidInput) as err:
        ConnectionSettings.from_url(url, option="staging_db_url")
    assert str(err.value) == ("staging_db_url is not a valid postgresql:// URL (Invalid IPv6 URL): "
                              "postgresql://postgres:********@[::1/postgres?sslmode=disable")
    assert secret_values({"db_url": url}) == ["p@ss-W0rd"]


def test_redact_masks_up_to_the_last_at():
    assert redact("cannot use postgresql://u:a@b@c@host/db now") == "cannot use postgresql://u:********@host/db now"


def test_redact_all_walks_dicts_and_lists_and_keeps_other_values():
    value = {"error": {"message": "At statement: 1; alter role app password 'Pw-secret-1'", "code": 42704},
             "lines": ["postgresql://app:hunter22@db/app", None, 3.5], "ok": True}
    assert redact_all(value, ["Pw-secret-1"]) == {
        "error": {"message": "At statement: 1; alter role app password '********'", "code": 42704},
        "lines": ["postgresql://app:********@db/app", None, 3.5], "ok": True}
