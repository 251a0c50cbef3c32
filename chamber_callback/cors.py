"""CORS for partner origins (the chamber's regional platform posts to the intake API)."""
from flask import Flask
from flask_cors import CORS


def init_cors(app: Flask) -> None:
    origins = app.config["CORS_ORIGINS"]
    if not origins:
        return
    CORS(
        app,
        resources={r"/api/v1/*": {"origins": origins}},
        methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Content-Type"],
        supports_credentials=False,
        max_age=600,
    )
