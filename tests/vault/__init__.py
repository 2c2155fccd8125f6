"""A test app whose one model declares a secret and nothing else about it.

Not installed: its model is registered under the label ``vault`` when imported, tests make
its table themselves (``locker_table``), and the tests that need it among the installed
models add the app with ``override_settings(INSTALLED_APPS=...)``.
"""
