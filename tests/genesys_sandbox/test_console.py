from __future__ import annotations

import re

import requests

from tests.genesys_sandbox.conftest import TIMEOUT


def test_the_console_page_and_its_assets_are_served(sandbox):
    page = requests.get(f"{sandbox.url}/console/", timeout=TIMEOUT)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "agent console" in page.text
    assets = re.findall(r'(?:src|href)="(/console/[^"]+)"', page.text)
    assert "/console/console.js" in assets
    for asset in assets:
        response = requests.get(f"{sandbox.url}{asset}", timeout=TIMEOUT)
        assert response.status_code == 200, asset
        assert response.text


def test_the_script_never_writes_html(sandbox):
    script = requests.get(f"{sandbox.url}/console/console.js", timeout=TIMEOUT).text

    assert "innerHTML" not in script
    assert "textContent" in script
    assert "/sandbox/" in script


def test_console_requests_are_not_logged(sandbox):
    requests.get(f"{sandbox.url}/console/", timeout=TIMEOUT)
    assert sandbox.requests() == []


def test_unknown_console_files_are_404(sandbox):
    response = requests.get(f"{sandbox.url}/console/../state.py", timeout=TIMEOUT)
    assert response.status_code == 404
    assert requests.get(f"{sandbox.url}/console/state.py", timeout=TIMEOUT).status_code == 404


def test_the_console_drives_open_messaging(sandbox):
    page = requests.get(f"{sandbox.url}/console/", timeout=TIMEOUT).text
    script = requests.get(f"{sandbox.url}/console/console.js", timeout=TIMEOUT).text

    assert "Open Messaging" in page
    for action in ("open-messaging/conversations", "agent/join", "transfer", "agent/typing"):
        assert action in script


def test_the_console_carries_attachments_quick_replies_and_cards(sandbox):
    """Sent as Genesys's content objects, shown as text and http(s) links (the browser test
    drives them)."""
    page = requests.get(f"{sandbox.url}/console/", timeout=TIMEOUT).text
    script = requests.get(f"{sandbox.url}/console/console.js", timeout=TIMEOUT).text

    for form in ("om-attachment-form", "om-quick-replies-form", "om-card-form"):
        assert f'id="{form}"' in page
    for content in ("Attachment", "QuickReply", "Card", "Carousel", "ButtonResponse"):
        assert f'"{content}"' in script
    assert "^https?:" in script  # links only to http(s) URLs
