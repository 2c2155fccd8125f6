"""The benchmarks' data, written by a Django process of its own (``python -m bench.seed
<recipe> …``, started by ``bench/commands.py``) and printed back as one JSON line.

Rows are made with the test suite's factories or ``bulk_create`` on models looked up by
app label (``apps.get_model``), so that the benchmarks follow the models wherever their
modules move. Endpoints use the sandbox's demo organisation, deployment, queue and OAuth
client.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
from datetime import timedelta
from typing import Any

#: The sandbox's demo world (``GET /sandbox/state`` shows it); the control API resets to it.
SANDBOX = {
    "organization_id": "5f3c2a1e-9b7d-4c6a-8e2f-0a1b2c3d4e5f",
    "deployment_id": "8d6e4b2a-1c3f-4a5e-9b7d-6f5e4d3c2b1a",
    "queue_id": "2b9f6c4e-7a1d-4e3b-8c5f-9d0e1f2a3b4c",
    "queue_name": "Sandbox Support Queue",
    "client_id": "sandbox-client",
    "client_secret": "sandbox-secret",
    "open_integration_id": "6a0f4e2c-3b1d-4f5a-9c8e-7d6b5a4f3e2d",
}
BATCH = 5000


def model(label: str) -> Any:
    from django.apps import apps

    return apps.get_model(label)


def connection() -> Any:
    from tests.factories import OAuth2ConnectionFactory

    return OAuth2ConnectionFactory(
        name="Sandbox demo client",
        client_id=SANDBOX["client_id"],
        client_secret=SANDBOX["client_secret"],
    )


def webchat_endpoint(node_authentication: Any, **fields: Any) -> Any:
    from tests.factories import GenesysSettingsFactory

    return GenesysSettingsFactory(
        organization_id=SANDBOX["organization_id"],
        deployment_id=SANDBOX["deployment_id"],
        queue_id=SANDBOX["queue_id"],
        queue_name=SANDBOX["queue_name"],
        node_authentication=node_authentication,
        **fields,
    ).endpoint


def staff_token() -> str:
    """A staff user allowed to view every model of the product (no superuser shortcut)."""
    from django.contrib.auth.models import Permission

    from tests.factories import TokenFactory, UserFactory

    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return TokenFactory(user=user).key


def channel_key(endpoints: list[Any]) -> str:
    from tests.factories import ChannelFactory, issue_key

    _api_key, key = issue_key(ChannelFactory(endpoints=endpoints))
    return key


def recipe_config(args: argparse.Namespace) -> dict[str, Any]:
    """``args.endpoints`` web chat endpoints on the sandbox, and a staff token."""
    node = connection()
    endpoints = [webchat_endpoint(node) for _ in range(args.endpoints)]
    return {"token": staff_token(), "endpoints": [str(e.public_id) for e in endpoints]}


def recipe_relay(args: argparse.Namespace) -> dict[str, Any]:
    """Endpoints on the sandbox (web chat and Open Messaging) with a callback URL, one
    channel whose API key drives them, and the Open Messaging webhook path."""
    from tests.factories import WEBHOOK_SECRET, OpenMessagingSettingsFactory

    node = connection()
    callback = {"callback_url": args.callback_url, "callback_signing_secret": args.secret}
    endpoints = []
    for _ in range(args.webchat):
        endpoint = webchat_endpoint(node)
        for name, value in callback.items():
            setattr(endpoint, name, value)
        endpoint.save()
        endpoints.append(endpoint)
    om = None
    if args.open_messaging:
        om = OpenMessagingSettingsFactory(
            integration_id=SANDBOX["open_integration_id"],
            queue_id=SANDBOX["queue_id"],
            queue_name=SANDBOX["queue_name"],
            node_authentication=node,
        )
        for name, value in callback.items():
            setattr(om.endpoint, name, value)
        om.endpoint.save()
    return {
        "key": channel_key([*endpoints, *([om.endpoint] if om else [])]),
        "webchat": [str(e.public_id) for e in endpoints],
        "open_messaging": str(om.endpoint.public_id) if om else None,
        "webhook_path": om.webhook_path() if om else None,
        "webhook_secret": WEBHOOK_SECRET,
        "token": staff_token(),
    }


def recipe_expiry(args: argparse.Namespace) -> dict[str, Any]:
    """``args.open`` open handovers, one in a hundred idle past its Session Duration."""
    from django.utils import timezone

    from tests.factories import EndpointFactory

    Handover = model("endpoints.Handover")
    endpoints = [EndpointFactory(handover_provider="genesys") for _ in range(10)]
    now = timezone.now()
    due_every = round(100 / args.due_percent)
    due = 0
    for offset in range(0, args.open, BATCH):
        rows = []
        for index in range(offset, min(offset + BATCH, args.open)):
            is_due = index % due_every == 0
            due += is_due
            active = now - timedelta(minutes=30 if is_due else index % 15)
            rows.append(
                Handover(
                    endpoint=endpoints[index % len(endpoints)],
                    provider="genesys",
                    user_id=f"u{index}",
                    session_id=f"s{index}",
                    status="active" if index % 3 else "queued",
                    session_duration_minutes=20,
                    started_at=active,
                    last_activity_at=active,
                    expires_at=active + timedelta(minutes=20),
                    # The warning went out already for the due ones; the others' is ahead.
                    warn_at=None if is_due else active + timedelta(minutes=19),
                )
            )
        Handover.objects.bulk_create(rows)
    _analyze()
    return {"open": args.open, "due": due}


def recipe_admin(args: argparse.Namespace) -> dict[str, Any]:
    """``args.rows`` handover sessions over 20 endpoints, one of them with a transcript of
    ``args.transcript`` messages (user messages in the outbox, agent messages as events),
    and a superuser to log in with."""
    from django.utils import timezone

    from tests.factories import EndpointFactory, UserFactory

    Handover = model("endpoints.Handover")
    HandoverEvent = model("endpoints.HandoverEvent")
    OutboundMessage = model("endpoints.OutboundMessage")
    rng = random.Random(13)  # noqa: S311 (test data)
    endpoints = [EndpointFactory(handover_provider="genesys") for _ in range(20)]
    now = timezone.now()
    for offset in range(0, args.rows, BATCH):
        rows = []
        for index in range(offset, min(offset + BATCH, args.rows)):
            started = now - timedelta(seconds=rng.randrange(30 * 24 * 3600))
            is_open = index % 20 == 0
            rows.append(
                Handover(
                    endpoint=endpoints[index % len(endpoints)],
                    provider="genesys",
                    user_id=f"user-{index}",
                    session_id=f"session-{index}",
                    status=rng.choice(["queued", "active"]) if is_open else "ended",
                    agent_name="Alex Agent",
                    session_duration_minutes=20,
                    started_at=started,
                    last_activity_at=started,
                    ended_at=None if is_open else started + timedelta(minutes=rng.randrange(60)),
                    end_reason="" if is_open else "agent_left",
                )
            )
        Handover.objects.bulk_create(rows)
    session = Handover.objects.create(
        endpoint=endpoints[0],
        provider="genesys",
        user_id="transcript-user",
        session_id="transcript-session",
        status="active",
        agent_name="Alex Agent",
        session_duration_minutes=20,
        started_at=now - timedelta(hours=2),
    )
    events, outbox = [], []
    for n in range(args.transcript):
        at = session.started_at + timedelta(seconds=3 * n)
        if n % 2:
            events.append(
                HandoverEvent(
                    handover=session,
                    seq=len(events) + 1,
                    kind="agent_message",
                    data={"text": f"Agent reply {n}", "agent_name": "Alex Agent"},
                    created_at=at,
                )
            )
        else:
            outbox.append(
                OutboundMessage(
                    handover=session, text=f"User message {n}", status="sent", created_at=at
                )
            )
    HandoverEvent.objects.bulk_create(events, batch_size=BATCH)
    OutboundMessage.objects.bulk_create(outbox, batch_size=BATCH)
    Handover.objects.filter(pk=session.pk).update(last_event_seq=len(events))
    password = secrets.token_urlsafe(12)
    user = UserFactory(username="bench-admin", is_staff=True, is_superuser=True)
    user.set_password(password)
    user.save()
    _analyze()
    return {"username": user.username, "password": password, "session": session.pk}


def recipe_open(args: argparse.Namespace) -> dict[str, Any]:
    """Open handovers for conversations the benchmark made at the sandbox itself
    (``args.file``: ``{"endpoint", "kind": "webchat"|"om", "conversations": […]}``), as the
    worker would have recorded them after starting each: the relay's load, without the
    minutes ``size`` starts through the API would take."""
    Endpoint = model("endpoints.Endpoint")
    Handover = model("endpoints.Handover")
    data = json.loads(open(args.file).read())  # noqa: SIM115 (a file of ours)
    endpoint = Endpoint.objects.get(public_id=data["endpoint"])
    webchat = data["kind"] == "webchat"
    conversations = data["conversations"]
    ids = []
    for offset in range(0, len(conversations), BATCH):
        chunk = conversations[offset : offset + BATCH]
        handovers = Handover.objects.bulk_create(
            Handover(
                endpoint=endpoint,
                provider="genesys" if webchat else "genesys_om",
                user_id=f"open-{offset + n}",
                session_id=f"open-{data['kind']}-{offset + n}-{secrets.token_hex(4)}",
                status="queued",
                session_duration_minutes=600,
            )
            for n in range(len(chunk))
        )
        if webchat:
            model("genesys.WebChatConversation").objects.bulk_create(
                model("genesys.WebChatConversation")(
                    handover=handover,
                    conversation_id=c["conversation_id"],
                    member_id=c["member_id"],
                    jwt=c["jwt"],
                    event_stream_uri=c["event_stream_uri"],
                )
                for handover, c in zip(handovers, chunk, strict=True)
            )
        else:
            model("genesys.OpenMessagingConversation").objects.bulk_create(
                model("genesys.OpenMessagingConversation")(
                    handover=handover, from_id=c["from_id"], conversation_id=c["conversation_id"]
                )
                for handover, c in zip(handovers, chunk, strict=True)
            )
        ids.extend(str(h.public_id) for h in handovers)
    return {"handovers": ids}


def recipe_overview(args: argparse.Namespace) -> dict[str, Any]:
    """``args.rows`` handovers over 30 days across every status and end reason, agent
    events for most (``bench/dashboard.py``), and a superuser to log in with."""
    from django.utils import timezone

    from tests.factories import EndpointFactory, UserFactory

    Handover = model("endpoints.Handover")
    HandoverEvent = model("endpoints.HandoverEvent")
    reasons = ["agent_left", "user_ended", "staff_ended", "expired", "error"]
    endpoints = [EndpointFactory(handover_provider="genesys") for _ in range(20)]
    now = timezone.now()
    rng = random.Random(42)  # noqa: S311 (test data)
    for offset in range(0, args.rows, BATCH):
        rows = []
        for index in range(offset, min(offset + BATCH, args.rows)):
            started = now - timedelta(seconds=rng.randrange(30 * 24 * 3600))
            is_open = index % 50 == 0
            answered = rng.random() < 0.7
            joined = started + timedelta(seconds=rng.randrange(600))
            reply = joined + timedelta(seconds=rng.randrange(120))
            rows.append(
                Handover(
                    endpoint=endpoints[index % len(endpoints)],
                    provider="genesys",
                    user_id=f"u{index}",
                    session_id=f"s{index}",
                    status=rng.choice(["starting", "queued", "active"]) if is_open else "ended",
                    session_duration_minutes=20,
                    started_at=started,
                    last_activity_at=started,
                    ended_at=None if is_open else started + timedelta(minutes=rng.randrange(60)),
                    end_reason="" if is_open else reasons[index % len(reasons)],
                    first_agent_at=joined if answered else None,
                    first_reply_at=reply if answered else None,
                    last_event_seq=2 if answered else 0,
                )
            )
        created = Handover.objects.bulk_create(rows)
        events = []
        for handover in created:
            if handover.first_agent_at:
                events.append(
                    HandoverEvent(
                        handover=handover, seq=1, kind="agent_joined",
                        created_at=handover.first_agent_at,
                    )
                )  # fmt: skip
                events.append(
                    HandoverEvent(
                        handover=handover, seq=2, kind="agent_message", data={"text": "Hi"},
                        created_at=handover.first_reply_at,
                    )
                )  # fmt: skip
        HandoverEvent.objects.bulk_create(events, batch_size=BATCH)
    password = secrets.token_urlsafe(12)
    user = UserFactory(username="bench-admin", is_staff=True, is_superuser=True)
    user.set_password(password)
    user.save()
    _analyze()
    return {"username": user.username, "password": password}


def _analyze() -> None:
    """Fresh planner statistics after a bulk load (autovacuum would get there later)."""
    from django.db import connection as db

    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")


RECIPES = {
    "config": recipe_config,
    "relay": recipe_relay,
    "expiry": recipe_expiry,
    "admin": recipe_admin,
    "open": recipe_open,
    "overview": recipe_overview,
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed")
    parser.add_argument("recipe", choices=RECIPES)
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--webchat", type=int, default=1)
    parser.add_argument("--open-messaging", action="store_true")
    parser.add_argument("--callback-url", default="")
    parser.add_argument("--secret", default="")
    parser.add_argument("--open", type=int, default=1000)
    parser.add_argument("--due-percent", type=float, default=1.0)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--transcript", type=int, default=2000)
    parser.add_argument("--file", default="")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    print(json.dumps(RECIPES[args.recipe](args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
