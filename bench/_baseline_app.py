"""The intake benchmark's baseline: the least a callback endpoint can do. It reads the JSON, writes
one row with a raw INSERT and pushes its id on a Redis list, under the same gunicorn settings as
the application (``bench/intake.py`` starts it)."""
from __future__ import annotations

import os

import redis
from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text


def create() -> Flask:
    app = Flask(__name__)
    engine = create_engine(os.environ["DATABASE_URL"], pool_size=5, max_overflow=5)
    queue = redis.Redis.from_url(os.environ["REDIS_URL"])
    returning = " RETURNING id" if engine.dialect.name == "postgresql" else ""

    @app.post("/api/v1/callback-requests")
    def submit():
        data = request.get_json(silent=True) or {}
        with engine.begin() as connection:
            result = connection.execute(text(
                "INSERT INTO bench_baseline (name, business_name, phone, postal_code, description) "
                f"VALUES (:name, :business, :phone, :postal, :description){returning}"),
                {"name": data.get("name"), "business": data.get("business_name"), "phone": data.get("phone"),
                 "postal": data.get("postal_code"), "description": data.get("description")})
            row_id = result.scalar() if returning else result.lastrowid
        queue.lpush("bench:baseline", row_id)
        return jsonify(id=row_id), 201

    return app


SCHEMA = {
    "postgresql": "CREATE TABLE bench_baseline (id SERIAL PRIMARY KEY, name TEXT, business_name TEXT, phone TEXT, "
                  "postal_code TEXT, description TEXT, created_at TIMESTAMPTZ DEFAULT now())",
    "sqlite": "CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, name TEXT, business_name TEXT, phone TEXT, "
              "postal_code TEXT, description TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP)",
}
