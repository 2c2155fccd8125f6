"""A third handover provider, for the tests only: a help desk reached over HTTP.

It proves that a provider is one app plus one line in ``HANDOVER_PROVIDERS``: settings
model, admin inline, API serializer, transport, webhook URLs, relay listener and periodic
task, all declared in ``providers.DeskProvider``, with no project file naming it. The
tests install it with ``tests.desk_provider.install.desk_installed()``; the desk it talks
to is ``tests.fake_desk.FakeDesk``.
"""
