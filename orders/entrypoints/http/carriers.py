"""The carriers orderbot knows, and checking a carrier name with a tracking number."""

from __future__ import annotations

from flask import jsonify

from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import deps
from orders.entrypoints.http.errors import ERROR
from orders.entrypoints.openapi import ApiRoutes

routes = ApiRoutes()


@routes.operation(
    "/api/v1/carriers",
    "GET",
    summary="Known carriers, their other names and tracking number formats",
    tag="orders",
    auth=False,
    responses={200: ("carriers", schemas.CarrierList)},
)
def list_carriers():
    carriers = deps().carriers
    return jsonify(
        {
            "items": [
                {
                    "name": c.name,
                    "aliases": sorted(a for a, n in carriers.aliases.items() if n == c.name),
                    "tracking_pattern": c.tracking_pattern.pattern if c.tracking_pattern else None,
                    "tracking_example": c.tracking_example,
                }
                for c in carriers.by_name.values()
            ]
        }
    )


@routes.operation(
    "/api/v1/carriers/check",
    "POST",
    summary="Check a carrier name and tracking number",
    tag="orders",
    auth=False,
    body=schemas.ShipmentRequest,
    responses={
        200: ("canonical carrier and number", schemas.ShipmentRequest),
        422: ("unknown carrier or bad number", ERROR),
        400: ("invalid request", ERROR),
    },
)
def check_carrier(body: schemas.ShipmentRequest):
    carrier, number = deps().carriers.check_tracking_number(body.carrier, body.tracking_number)
    return jsonify({"carrier": carrier, "tracking_number": number})
