"""The agent console in Debian's Chromium: list, profile, join, reply, leave, and escaping."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
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


# Open Messaging: what messages carry besides text, both ways.

USER_FILE = "https://files.example.com/receipt.png"


def om_inbound(sandbox, token: str, kind: str, body: dict) -> dict:
    response = requests.post(
        f"{sandbox.url}/api/v2/conversations/messages/{sandbox.open_integration_id}"
        f"/inbound/open/{kind}",
        json=body,
        params={"prefetchConversationId": "true"} if kind == "message" else None,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()


def om_channel(message_id: str) -> dict:
    return {
        "messageId": message_id,
        "from": {"id": "console-user", "idType": "Opaque", "nickname": "Una User"},
        "time": "2026-01-15T09:30:00.000Z",
    }


def test_an_agent_sends_and_sees_attachments_quick_replies_and_cards(sandbox, token):
    # The user writes with an attachment, over the real inbound API.
    attachment = {"mediaType": "Image", "url": USER_FILE, "mime": "image/png", "filename": "r.png"}
    first = om_inbound(
        sandbox,
        token,
        "message",
        {
            "channel": om_channel("u-1"),
            "text": "Here is my receipt",
            "content": [{"contentType": "Attachment", "attachment": attachment}],
        },
    )
    cid = first["conversationId"]

    def answer_the_question() -> None:
        """The user presses "No" on the agent's quick replies (once they are there)."""
        [question] = [
            m
            for m in sandbox.om_conversation(cid)["messages"]
            if m["direction"] == "Outbound" and m["type"] == "Structured" and m["text"]
        ]
        om_inbound(
            sandbox,
            token,
            "structured/response",
            {
                "channel": om_channel("u-2"),
                "buttonResponse": {"type": "QuickReply", "text": "No", "payload": "no"},
                "originatingMessageId": question["id"],
            },
        )

    in_browser(lambda page: agent_sends_rich_content(sandbox, page, answer_the_question))

    outbound = [m for m in sandbox.om_conversation(cid)["messages"] if m["direction"] == "Outbound"]
    attachment_sent, quick_replies, card, hostile = (m["content"] for m in outbound)
    assert attachment_sent == [
        {
            "contentType": "Attachment",
            "attachment": {
                "mediaType": "File",
                "url": "https://files.example.com/label.pdf",
                "mime": "application/pdf",
                "filename": "label.pdf",
            },
        }
    ]
    assert [item["quickReply"] for item in quick_replies] == [
        {"text": "Yes", "payload": "yes", "action": "Message"},
        {"text": "No", "payload": "no", "action": "Message"},
    ]
    assert card == [
        {
            "contentType": "Card",
            "card": {
                "title": "Order A-17",
                "description": "Shipped",
                "actions": [
                    {"type": "Link", "text": "Track", "url": "https://track.example.com/A-17"}
                ],
            },
        }
    ]
    assert [m["type"] for m in outbound] == ["Text", "Structured", "Structured", "Structured"]
    assert hostile[0]["card"]["actions"][0]["url"].startswith("javascript:")
    # What the agent sent went to the integration's webhook as Genesys sends it.
    assert {d["type"] for d in sandbox.om_deliveries(cid)} == {"Text", "Structured"}


def agent_sends_rich_content(sandbox, page: Page, answer_the_question: Callable[[], None]) -> None:
    page.goto(f"{sandbox.url}/console/")
    page.locator("#om-list button").first.click()
    messages = page.locator("#om-messages")
    # The user's attachment: a link to its URL, named by its file name.
    expect(messages).to_contain_text("Una User: Here is my receipt")
    expect(messages.locator(f'a[href="{USER_FILE}"]')).to_have_text("r.png")
    expect(page.locator("#om-rich")).to_be_hidden()  # no agent yet
    page.click("#om-join-form button")
    expect(page.locator("#om-rich")).to_be_visible()

    page.fill("#om-attachment-url", "https://files.example.com/label.pdf")
    page.fill("#om-attachment-mime", "application/pdf")
    page.fill("#om-attachment-filename", "label.pdf")
    page.click("#om-attachment-form button")
    expect(messages.locator('a[href="https://files.example.com/label.pdf"]')).to_have_text(
        "label.pdf"
    )

    page.fill("#om-quick-question", "Did it help?")
    page.click("#om-quick-replies-form button")
    expect(messages).to_contain_text("Quick replies: [Yes] [No]")

    page.fill("#om-card-title", "Order A-17")
    page.fill("#om-card-description", "Shipped")
    page.fill("#om-card-link-text", "Track")
    page.fill("#om-card-link-url", "https://track.example.com/A-17")
    page.click("#om-card-form button")
    expect(messages).to_contain_text("Card: Order A-17 · Shipped · Track")
    expect(messages.locator('a[href="https://track.example.com/A-17"]')).to_have_text("Track")

    # The user's answer to the quick replies, a button response, shows as such.
    answer_the_question()
    expect(messages).to_contain_text("Answered: [No] (QuickReply, payload no)")

    # A link that is not http(s) is shown as text, never as a link that could run script.
    page.fill("#om-card-title", "Hostile")
    page.fill("#om-card-link-text", "Click me")
    page.fill("#om-card-link-url", "javascript:window.pwned=1")
    page.click("#om-card-form button")
    expect(messages).to_contain_text("Card: Hostile · Click me")
    assert messages.locator('a[href^="javascript"]').count() == 0
    assert page.evaluate("window.pwned") is None
