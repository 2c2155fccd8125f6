"""The admin finds a model's secrets in its ``_meta``: a write-only input, "set / not set"
for who may only view, a status column; and a system check refuses an admin that would
show one."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core import checks
from django.test import RequestFactory

from endpoints.admin_secrets import SecretsAdminMixin
from endpoints.checks import admin_secret_errors, check_admins_hide_secrets
from endpoints.forms import WriteOnlySecretField
from tests.factories import UserFactory
from tests.vault.models import Locker

pytestmark = pytest.mark.django_db

COMBINATION = "planted-Combination-admin-5c2a"

site = admin.AdminSite(name="vault-admin")


class LockerAdmin(SecretsAdminMixin, admin.ModelAdmin):
    """Nothing here names the secrets."""

    list_display = ["name", "secret_status"]


def request_by(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_the_form_gets_the_write_only_input_from_the_model_field():
    model_admin = LockerAdmin(Locker, site)
    request = request_by(UserFactory(is_staff=True, is_superuser=True))
    form_class = model_admin.get_form(request)
    # The admin offers a textarea for every TextField: not taken.
    for name in ("combination", "spare"):
        assert isinstance(form_class.base_fields[name], WriteOnlySecretField)
    html = str(form_class(instance=Locker(name="Locker 1", combination=COMBINATION)))
    assert COMBINATION not in html


def test_who_may_only_view_reads_set_or_not_set():
    model_admin = LockerAdmin(Locker, site)
    locker = Locker(pk=1, name="Locker 1", combination=COMBINATION)
    request = request_by(UserFactory(is_staff=True))

    fields = [
        f
        for _name, options in model_admin.get_fieldsets(request, locker)
        for f in options["fields"]
    ]
    assert "combination" not in fields
    assert "spare" not in fields
    assert "stored_secrets" in fields
    assert "stored_secrets" in model_admin.get_readonly_fields(request, locker)
    assert model_admin.stored_secrets(locker) == "Combination: set<br>Spare code: not set"


def test_the_status_column_says_whether_each_is_set():
    column = LockerAdmin(Locker, site).secret_status
    assert column.short_description == "Secrets"
    assert column(Locker(combination=COMBINATION)) == "Combination: set, Spare code: not set"


def test_the_project_s_admins_all_hide_their_secrets():
    assert check_admins_hide_secrets() == []


def test_an_admin_without_the_mixin_is_refused():
    class Plain(admin.ModelAdmin):
        pass

    errors = admin_secret_errors(Plain, Locker)
    assert [error.id for error in errors] == ["endpoints.E102"]
    assert errors[0].level == checks.ERROR
    assert "combination, spare" in errors[0].msg


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("list_display", ["name", "combination"]),
        ("readonly_fields", ["spare"]),
        ("search_fields", ["=combination"]),
        ("ordering", ["-spare"]),
    ],
)
def test_an_admin_showing_a_secret_is_refused(option, value):
    showing = type("Showing", (SecretsAdminMixin, admin.ModelAdmin), {option: value})
    errors = admin_secret_errors(showing, Locker)
    assert [error.id for error in errors] == ["endpoints.E103"]
    assert option in errors[0].msg
