"""OpenAPI 3.1 description of the public API, served at /api/v1/openapi.json."""
from __future__ import annotations

from ..domain.intake import DEFAULT_TOPICS, DESCRIPTION_MAX, SECTORS, URGENCY_REASONS
from ..domain.lifecycle import Status

_string = {"type": "string"}
SHARE = {"type": "object", "description": "`count` out of `of`; `rate` is null when `of` is 0.",
         "properties": {"count": {"type": "integer"}, "of": {"type": "integer"}, "rate": {"type": ["number", "null"]}}}


def openapi_document(base_url: str, consent_asked: bool = True) -> dict:
    problem = {"$ref": "#/components/schemas/Problem"}
    status_json = {"$ref": "#/components/schemas/CallbackRequestStatus"}
    token_param = {"name": "token", "in": "path", "required": True, "schema": _string,
                   "description": "The private token returned at creation (only its digest is stored)."}
    def problem_response(description):
        return {
            "description": description, "content": {"application/problem+json": {"schema": problem}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chamber-callback intake API",
            "version": "1.0.0",
            "description": (
                "Lets the chamber's regional platform and partner sites file callback requests on behalf of "
                "artisans. Every request is called back within the SLA (24 h by default). Requests are rate "
                "limited per client IP (HTTP 429). Messages are in French."
            ),
        },
        "servers": [{"url": f"{base_url}/api/v1"}],
        "paths": {
            "/callback-requests": {
                "post": {
                    "operationId": "createCallbackRequest",
                    "summary": "File a callback request",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/CallbackRequestInput"}}}},
                    "responses": {
                        "201": {"description": "Created. Keep `token`: it is the artisan's private link.",
                                "headers": {"Location": {"schema": _string}},
                                "links": {
                                    "Follow": {"operationId": "getCallbackRequest",
                                               "parameters": {"token": "$response.body#/token"}},
                                    "Cancel": {"operationId": "cancelCallbackRequest",
                                               "parameters": {"token": "$response.body#/token"}}},
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Created"}}}},
                        "200": {"description": "This phone number already has an active request: nothing is "
                                               "created and nothing about it is returned (`duplicate: true`); "
                                               "its private link is sent again to the phone or e-mail on file, "
                                               "at most once every 6 hours (`reminder_sent`).",
                                "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/Duplicate"}}}},
                        "400": problem_response("Body is not a JSON object, or the honeypot field was filled."),
                        "422": problem_response("Invalid fields: `errors` maps each field to its messages; "
                                                "nothing was stored. When the postal code spans several "
                                                "départements, `communes` lists the choices for `commune`. "
                                                "While the chamber takes urgent requests only (crisis switch), "
                                                "a request without `urgent: true` is refused with a message in "
                                                "`errors.urgent`. An inactive topic is refused as unknown."),
                        "429": problem_response("Too many submissions from this client; retry later."),
                        "503": problem_response("The chamber has paused callback requests (crisis switch): "
                                                "`detail` carries its message and phone number, also given in "
                                                "`chamber_phone`; nothing was stored. `Retry-After` suggests "
                                                "when to try again."),
                    },
                },
            },
            "/callback-requests/{token}": {
                "parameters": [token_param],
                "get": {
                    "operationId": "getCallbackRequest",
                    "summary": "Follow a request",
                    "responses": {"200": {"description": "Current state",
                                          "content": {"application/json": {"schema": status_json}}},
                                  "404": problem_response("Unknown token.")},
                },
                "delete": {
                    "operationId": "cancelCallbackRequest",
                    "summary": "Cancel a request at the artisan's wish",
                    "responses": {"200": {"description": "Cancelled; the new state is returned.",
                                          "content": {"application/json": {"schema": status_json}}},
                                  "404": problem_response("Unknown token."),
                                  "409": problem_response("The request can no longer be cancelled "
                                                          "(call in progress, or already closed).")},
                },
            },
            "/postal-codes/{code}": {
                "parameters": [{"name": "code", "in": "path", "required": True, "schema": _string}],
                "get": {
                    "operationId": "getPostalCode",
                    "summary": "Communes served by a postal code (La Poste's table)",
                    "responses": {"200": {"description": "Communes and their départements",
                                          "content": {"application/json": {"schema": {"type": "object"}}}},
                                  "404": problem_response("No such postal code.")},
                },
            },
            "/topics": {
                "get": {
                    "operationId": "listTopics",
                    "summary": "Topics a request can be about",
                    "responses": {"200": {"description": "Active topics, in the form's order (topics an admin "
                                                         "deactivated are not listed and are refused on intake)",
                                          "content": {"application/json": {"schema": {"type": "object"}}}}},
                },
            },
            "/stats": {
                "get": {
                    "operationId": "getStats",
                    "summary": "Headline figures of the 24-hour promise (manager or admin token)",
                    "description": (
                        "The manager dashboard's figures, computed on request. Waiting: active requests not in "
                        "a call. At risk: not yet called, 75 % of the SLA used, deadline not passed. Breached: "
                        "not yet called, deadline passed. Within SLA: each request counts once, met at its first "
                        "attempt before the deadline, missed at its deadline. Durations are in seconds; days "
                        "start at local midnight (`scope.time_zone`)."
                    ),
                    "security": [{"staffToken": []}],
                    "parameters": [
                        {"name": "unit", "in": "query", "schema": _string, "description": "A unit code."},
                        {"name": "topic", "in": "query", "schema": _string, "description": "A topic code."},
                        {"name": "urgent", "in": "query", "schema": {"type": "boolean"},
                         "description": "Only urgent requests."},
                    ],
                    "responses": {
                        "200": {"description": "Figures", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Stats"}}}},
                        "400": problem_response("Unknown unit or topic code."),
                        "401": problem_response("No valid token."),
                        "403": problem_response("The token's user is not a manager or an admin."),
                    },
                },
            },
        },
        "components": {"securitySchemes": {"staffToken": {
            "type": "http", "scheme": "bearer",
            "description": "A personal token (`flask --app chamber_callback issue-token EMAIL`)."}}, "schemas": {
            "CallbackRequestInput": {
                "type": "object",
                "required": ["name", "business_name", "sector", "phone", "postal_code", "topic", "description",
                             *(["consent"] if consent_asked else [])],
                "properties": {
                    "name": {"type": "string", "maxLength": 120},
                    "business_name": {"type": "string", "maxLength": 200},
                    "siret": {"type": ["string", "null"], "pattern": "^[0-9 ]{14,17}$",
                              "description": "14 digits, Luhn-checked."},
                    "sector": {"type": "string", "enum": list(SECTORS)},
                    "phone": {"type": "string", "description": "French national or international format; "
                                                              "stored in E.164."},
                    "email": {"type": ["string", "null"], "format": "email"},
                    "postal_code": {"type": "string", "pattern": "^[0-9]{5}$",
                                    "description": "Must exist in La Poste's table."},
                    "commune": {"type": ["string", "null"],
                                "description": "INSEE code of the commune; required when the postal code spans "
                                               "several départements."},
                    "topic": {"type": "string", "enum": [code for code, _label in DEFAULT_TOPICS]},
                    "description": {"type": "string", "maxLength": DESCRIPTION_MAX},
                    "urgent": {"type": "boolean", "default": False},
                    "urgency_reason": {"type": ["string", "null"], "enum": [*URGENCY_REASONS, None],
                                       "description": "Required when urgent is true."},
                    "preferred_window": {
                        "type": ["object", "null"],
                        "required": ["start", "end"],
                        "properties": {"start": {"type": "string", "format": "date-time"},
                                       "end": {"type": "string", "format": "date-time"}},
                        "description": "Within one opening day (Monday–Saturday, 08:00–21:00 Europe/Paris), in "
                                       "the next 7 days. A window ending after the normal deadline moves the "
                                       "deadline to its end.",
                    },
                    "no_sms": {"type": "boolean", "default": False,
                               "description": "The artisan prefers e-mail: no text message is sent."},
                    "consent": {"type": "boolean", **({"const": True} if consent_asked else {}),
                                "description": "The artisan agreed to be called and to the processing of the data "
                                               "(required when the chamber's legal basis is consent; with a "
                                               "public-interest basis the artisan is informed instead)."},
                    "leave_blank": {"type": ["string", "null"], "maxLength": 0,
                                    "description": "Honeypot: leave empty or absent."},
                },
            },
            "CallbackRequestStatus": {
                "type": "object",
                "properties": {
                    "reference": {"type": "string", "example": "K7MA-4XPT"},
                    "status": {"type": "string", "enum": [s.value for s in Status]},
                    "sla_deadline": {"type": "string", "format": "date-time"},
                    "submitted_at": {"type": "string", "format": "date-time"},
                    "unit": {"type": "string", "description": "Code of the regional unit handling the request."},
                    "topic": {"type": "string"},
                    "urgent": {"type": "boolean"},
                    "expected_callback": {
                        "type": ["object", "null"],
                        "description": "When the first call should start: a window that never ends after "
                                       "`sla_deadline`, local times with their offset. Null while it cannot be "
                                       "said (in a call, closed, or nobody present or planned before the deadline).",
                        "properties": {"from": {"type": "string", "format": "date-time"},
                                       "to": {"type": "string", "format": "date-time"}},
                        "required": ["from", "to"]},
                    "duplicate": {"type": "boolean"},
                },
            },
            "Duplicate": {
                "type": "object",
                "required": ["duplicate", "reminder_sent", "detail"],
                "properties": {"duplicate": {"type": "boolean", "const": True},
                               "reminder_sent": {"type": "boolean"},
                               "detail": {"type": "string", "description": "What to tell the person, in French."}},
            },
            "Created": {
                "allOf": [{"$ref": "#/components/schemas/CallbackRequestStatus"}, {
                    "type": "object",
                    "properties": {"token": {"type": "string", "description": "≥ 256 random bits"},
                                   "status_url": {"type": "string", "format": "uri"}},
                }],
            },
            "Stats": {
                "type": "object",
                "properties": {
                    "scope": {"type": "object"},
                    "generated_at": {"type": "string", "format": "date-time"},
                    "waiting": {"type": "integer"}, "in_call": {"type": "integer"},
                    "by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "oldest_waiting_s": {"type": ["integer", "null"],
                                         "description": "Age of the oldest active request never called."},
                    "oldest_waiting_since": {"type": ["string", "null"], "format": "date-time"},
                    "at_risk": {"type": "integer"}, "breached": {"type": "integer"},
                    "calls_today": {"type": "integer"},
                    "within_sla": {"type": "object", "properties": {"today": SHARE, "last_7_days": SHARE}},
                    "time_to_first_attempt_last_7_days": {"type": "object", "properties": {
                        "count": {"type": "integer"}, "median_s": {"type": ["integer", "null"]},
                        "p90_s": {"type": ["integer", "null"]}}},
                    "abandonment_last_7_days": SHARE,
                    "by_unit": {"type": "array", "items": {"type": "object"}},
                },
            },
            "Problem": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "errors": {"type": "object", "additionalProperties": {"type": "array", "items": _string}},
                    "communes": {"type": "array", "items": {"type": "object"}},
                },
            },
        }},
    }
