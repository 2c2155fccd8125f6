"""DRF tokens of staff tooling, as the admin shows them: by user, never by key."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token, TokenProxy


def _named_by_user(token: Token) -> str:
    return _("Token of %(user)s") % {"user": token.user}


class StaffToken(TokenProxy):
    """A DRF token (``Authorization: Token <key>``) named by its user.

    DRF's token is stored and named by its key (``str(token)``), which its admin then lists
    and writes into messages and the admin log for every staff user to read. This proxy
    names it by its user; the key stays the credential only its holder knows.
    """

    class Meta:
        proxy = True
        verbose_name = _("staff API token")
        verbose_name_plural = _("staff API tokens")

    __str__ = _named_by_user


# DRF's own model too: whatever shows a token by ``str`` or ``repr`` shows its key otherwise,
# such as the admin's delete confirmation of a user, which lists the token going with it, or
# a traceback's locals.
Token.__str__ = _named_by_user  # type: ignore[method-assign]
