"""``security.backends``: a user's permissions in one query, with Django's answers."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission

from endpoints.models import Endpoint
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

VIEW = "endpoints.view_endpoint"
CHANGE = "endpoints.change_endpoint"
DRIVE = "endpoints.drive_handover"


def permission(name: str) -> Permission:
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def group_with(*names: str) -> Group:
    group = Group.objects.create(name="-".join(names) or "empty")
    group.permissions.set([permission(name) for name in names])
    return group


@pytest.mark.parametrize(
    ("own", "through_groups", "expected"),
    [
        ([], [], set()),
        ([VIEW], [], {VIEW}),
        ([], [[VIEW, CHANGE]], {VIEW, CHANGE}),
        ([VIEW], [[VIEW], [DRIVE]], {VIEW, DRIVE}),
        ([], [[]], set()),
    ],
    ids=["none", "own", "group", "own-and-two-groups", "empty-group"],
)
def test_own_and_group_permissions_in_one_query(
    django_assert_num_queries, own, through_groups, expected
):
    user = UserFactory(is_staff=True)
    user.user_permissions.set([permission(name) for name in own])
    user.groups.set([group_with(*names) for names in through_groups])

    with django_assert_num_queries(1):
        assert user.has_perm(VIEW) is (VIEW in expected)
        assert user.has_perm(CHANGE) is (CHANGE in expected)
        assert user.has_perms([VIEW, DRIVE]) is ({VIEW, DRIVE} <= expected)
        assert user.has_module_perms("endpoints") is bool(expected)
        assert user.get_all_permissions() == expected

    fresh = type(user).objects.get(pk=user.pk)
    assert ModelBackend().get_all_permissions(fresh) == expected  # Django's own answer


def test_an_inactive_user_holds_nothing_and_costs_no_query(django_assert_num_queries):
    user = UserFactory(is_staff=True, is_active=False, perms=[VIEW])
    user.groups.set([group_with(CHANGE)])
    with django_assert_num_queries(0):
        assert not user.has_perm(VIEW)
        assert not user.has_perm(CHANGE)
        assert user.get_all_permissions() == set()


def test_a_superuser_holds_every_permission(django_assert_num_queries):
    user = UserFactory(is_staff=True, is_superuser=True)
    every = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    with django_assert_num_queries(0):
        assert user.has_perm(CHANGE)  # Django's shortcut: no backend asked
    with django_assert_num_queries(1):
        assert user.get_all_permissions() == every


def test_an_inactive_superuser_holds_nothing():
    user = UserFactory(is_staff=True, is_superuser=True, is_active=False)
    assert not user.has_perm(CHANGE)
    assert user.get_all_permissions() == set()


def test_object_permissions_are_not_granted_by_model_permissions():
    user = UserFactory(is_staff=True, perms=[CHANGE])
    endpoint = Endpoint(name="x")
    assert user.has_perm(CHANGE)
    assert not user.has_perm(CHANGE, endpoint)
    assert user.get_all_permissions(endpoint) == set()
