"""The agent console in Debian's Chromium: list, profile, join, reply, leave, and escaping."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect, sync_playwright

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HOSTILE_NAME = '<img src=x onerror="window.pwned=1">Ann'


def in_browser(scenario: Callable[[Page], None]) -> None:
    """Run ``scenario`` with a fresh page, in a thread of its own: Playwright's sync API
    refuses a thread with a running event loop, which the browser suite leaves behind."""

    def drive() -> None:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                scenario(browser.new_page())
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(drive).result()


def test_an_agent_handles_a_chat_from_the_console(sandbox):
    chat = sandbox.create_chat(HOSTILE_NAME, customFields={"plan": "<b>gold</b>"})
    in_browser(lambda page: agent_handles_the_chat(sandbox, page))
    conversation = sandbox.conversation(chat["id"])
    assert conversation["state"] == "ended"
    assert [m["body"] for m in conversation["messages"] if m["bodyType"] == "standard"] == [
        "Hello from the console"
    ]


def agent_handles_the_chat(sandbox, page: Page) -> None:
    page.goto(f"{sandbox.url}/console/")

    page.locator("#waiting button").first.click()
    expect(page.locator("#profile")).to_contain_text("<b>gold</b>")
    page.fill("#agent-name", "Console Agent")
    page.click("#join-form button")
    expect(page.locator("#active button")).to_have_count(1)
    page.fill("#reply-body", "Hello from the console")
    page.click("#reply-form button[type=submit]")
    expect(page.locator("#messages")).to_contain_text("Console Agent: Hello from the console")
    page.click("#leave-form button")
    expect(page.locator("#ended button")).to_have_count(1)

    assert (
        page.locator("#waiting button, #ended button").first.text_content().startswith(HOSTILE_NAME)
    )
    assert page.evaluate("window.pwned") is None
