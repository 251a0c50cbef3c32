"""One id per web request, in its log lines and in those of the jobs it enqueued."""
import json
import logging

from chamber_callback.logging_setup import JsonFormatter, RequestIdFilter
from chamber_callback.queues import ASSIGNMENT_QUEUE, get_queue

URL = "/api/v1/callback-requests"


def test_the_proxy_id_is_kept_answered_and_carried_into_the_jobs(client, redis_conn, valid_json, run_jobs, caplog):
    response = client.post(URL, json=valid_json, headers={"X-Request-ID": "edge-7f3a9c21"})
    assert response.status_code == 201 and response.headers["X-Request-ID"] == "edge-7f3a9c21"
    [job] = get_queue(ASSIGNMENT_QUEUE, redis_conn).jobs
    assert job.meta["request_id"] == "edge-7f3a9c21"
    with caplog.at_level(logging.INFO, logger="chamber_callback.jobs"):
        caplog.handler.addFilter(RequestIdFilter())
        run_jobs()
    [line] = [record for record in caplog.records if record.name == "chamber_callback.jobs"
              and "assignment of request" in record.getMessage()]
    assert line.request_id == "edge-7f3a9c21"
    entry = json.loads(JsonFormatter().format(line))
    assert entry["request_id"] == "edge-7f3a9c21" and entry["level"] == "info"


def test_a_missing_or_odd_id_is_replaced_by_a_new_one(client):
    ids = [client.get("/livez", headers=headers).headers["X-Request-ID"]
           for headers in ({}, {"X-Request-ID": "x y"}, {"X-Request-ID": "a" * 65}, {})]
    assert all(len(value) == 32 and int(value, 16) >= 0 for value in ids) and len(set(ids)) == 4
