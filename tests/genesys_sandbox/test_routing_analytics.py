from __future__ import annotations

import pytest
import requests

from tests.genesys_sandbox.conftest import TIMEOUT, assert_error_body

OTHER_QUEUE_ID = "0e7c1a2b-3d4e-4f5a-8b6c-7d8e9f0a1b2c"
OBSERVATIONS = "/api/v2/analytics/queues/observations/query"


def api(sandbox, token, method, path, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return requests.request(
        method, f"{sandbox.url}{path}", headers=headers, timeout=TIMEOUT, **kwargs
    )


def observe(sandbox, token, metrics, queue_ids, media_type=None) -> requests.Response:
    predicates = [
        {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": q}
        for q in queue_ids
    ]
    query_filter = {"type": "or", "predicates": predicates}
    if media_type:
        query_filter = {
            "type": "and",
            "clauses": [query_filter],
            "predicates": [{"dimension": "mediaType", "value": media_type}],
        }
    return api(
        sandbox, token, "POST", OBSERVATIONS, json={"filter": query_filter, "metrics": metrics}
    )


def test_get_queue(sandbox, token):
    response = api(sandbox, token, "GET", f"/api/v2/routing/queues/{sandbox.queue_id}")

    assert response.status_code == 200
    body = response.json()
    # SDK Queue.attribute_map: id, name, division, dateCreated, memberCount, selfUri, …
    assert body["id"] == sandbox.queue_id
    assert body["name"] == "Sandbox Support Queue"
    assert body["selfUri"] == f"/api/v2/routing/queues/{sandbox.queue_id}"
    assert body["memberCount"] == 2


def test_unknown_queue_is_404(sandbox, token):
    response = api(sandbox, token, "GET", f"/api/v2/routing/queues/{OTHER_QUEUE_ID}")
    assert_error_body(response, 404, "not.found")


def test_estimated_wait_time(sandbox, token):
    path = f"/api/v2/routing/queues/{sandbox.queue_id}/mediatypes/chat/estimatedwaittime"

    body = api(sandbox, token, "GET", path).json()

    # EstimatedWaitTimePredictions.results → PredictionResults (intent, formula,
    # estimatedWaitTimeSeconds).
    assert body == {
        "results": [{"intent": "CHAT", "formula": "BEST", "estimatedWaitTimeSeconds": 30}]
    }

    sandbox.put_queue(estimated_wait_seconds=None)
    assert api(sandbox, token, "GET", path).json() == {"results": []}


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        (
            {"agents_on_queue": 2, "agents_idle": 1, "conversations_waiting": 0},
            [
                ("oOnQueueUsers", "IDLE", 1),
                ("oOnQueueUsers", "INTERACTING", 1),
                ("oWaiting", None, 0),
            ],
        ),
        (
            {"agents_on_queue": 0, "agents_idle": 0, "conversations_waiting": 3},
            [("oWaiting", None, 3)],
        ),
        (
            {
                "agents_on_queue": 5,
                "agents_idle": 2,
                "agents_not_responding": 1,
                "conversations_waiting": 4,
            },
            [
                ("oOnQueueUsers", "IDLE", 2),
                ("oOnQueueUsers", "INTERACTING", 2),
                ("oOnQueueUsers", "NOT_RESPONDING", 1),
                ("oWaiting", None, 4),
            ],
        ),
    ],
    ids=["demo", "nobody-on-queue", "busy"],
)
def test_queue_observations_follow_the_queue_state(sandbox, token, queue, expected):
    sandbox.put_queue(**queue)

    response = observe(sandbox, token, ["oOnQueueUsers", "oWaiting"], [sandbox.queue_id])

    assert response.status_code == 200
    # QueueObservationQueryResponse.results → QueueObservationDataContainer (group, data)
    # → ObservationMetricData (metric, qualifier, stats) → StatisticalSummary (count).
    [result] = response.json()["results"]
    assert result["group"] == {"queueId": sandbox.queue_id}
    got = [(d["metric"], d.get("qualifier"), d["stats"]["count"]) for d in result["data"]]
    assert got == expected


def test_observations_answer_only_the_metrics_asked(sandbox, token):
    [result] = observe(sandbox, token, ["oWaiting"], [sandbox.queue_id]).json()["results"]
    assert [d["metric"] for d in result["data"]] == ["oWaiting"]


def test_observations_group_by_media_type_and_several_queues(sandbox, token):
    sandbox.put_queue(OTHER_QUEUE_ID, name="Other", agents_on_queue=1, agents_idle=1)

    response = observe(
        sandbox, token, ["oOnQueueUsers"], [sandbox.queue_id, OTHER_QUEUE_ID], media_type="chat"
    )

    results = response.json()["results"]
    assert [r["group"] for r in results] == [
        {"queueId": sandbox.queue_id, "mediaType": "chat"},
        {"queueId": OTHER_QUEUE_ID, "mediaType": "chat"},
    ]
    assert results[1]["data"] == [
        {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 1}}
    ]


def test_unknown_queue_has_a_result_without_data(sandbox, token):
    response = observe(sandbox, token, ["oOnQueueUsers", "oWaiting"], [OTHER_QUEUE_ID])

    assert response.json() == {"results": [{"group": {"queueId": OTHER_QUEUE_ID}}]}


def test_a_deleted_queue_is_gone(sandbox, token):
    sandbox.delete_queue(sandbox.queue_id)
    response = api(sandbox, token, "GET", f"/api/v2/routing/queues/{sandbox.queue_id}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"metrics": ["oWaiting"]}',
        b'{"filter": {"type": "and", "predicates": []}, "metrics": ["oWaiting"]}',
        b'{"filter": {"type": "and", "predicates": "x"}, "metrics": ["oWaiting"]}',
        b'{"filter": {"type": "and", "predicates": [{"dimension": "queueId", "value": 1}]},'
        b' "metrics": ["oWaiting"]}',
        b'{"filter": {"type": "and", "predicates": [{"dimension": "queueId", "value": "q"}]},'
        b' "metrics": ["nope"]}',
        b'{"filter": {"type": "and", "predicates": [{"dimension": "queueId", "value": "q"}]},'
        b' "metrics": "oWaiting"}',
    ],
)
def test_malformed_queries_are_400(sandbox, token, body):
    response = api(
        sandbox,
        token,
        "POST",
        OBSERVATIONS,
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert_error_body(response, 400, "bad.request")
