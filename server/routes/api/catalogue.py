"""JSON API for the rare-disease catalogue: the type-ahead of "start a community" and one condition's facts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.actions import catalogue
from server.routes.api.community_schemas import (
    CatalogueConditionDetail,
    CatalogueMatches,
    CatalogueSymptom,
    catalogue_condition_out,
)
from server.routes.api.support import api_route, json_response


async def search_catalogue(request: Request) -> Response:
    query = request.query_params.get("q", "")
    async with request.app.state.db.acquire() as connection:
        found = await catalogue.suggest(connection, query)
    return json_response(CatalogueMatches([catalogue_condition_out(c) for c in found], " ".join(query.split())[:200]))


async def get_condition(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        facts = await catalogue.condition_facts(connection, request.path_params["code"])
    return json_response(
        CatalogueConditionDetail(
            condition=catalogue_condition_out(facts.condition),
            symptoms=[
                CatalogueSymptom(
                    f"HP:{symptom.hpo_id:07d}",
                    symptom.name,
                    symptom.frequency,
                    catalogue.frequency_label(symptom.frequency),
                )
                for symptom in facts.symptoms
            ],
            source=catalogue.acknowledgement(facts.source),
        )
    )


routes = [
    api_route(
        "/api/v1/catalogue",
        search_catalogue,
        summary="Catalogue conditions by name, gene, ORPHA/OMIM code or symptom (at most 8, best first)",
        description=(
            "Query parameter: q (at least 2 characters; accents, case and small typos aside). Each condition "
            "names the open community covering it, if any."
        ),
        responses={200: ("The matching conditions", CatalogueMatches)},
        tags=["catalogue"],
    ),
    api_route(
        "/api/v1/catalogue/{code}",
        get_condition,
        summary="One catalogue condition with its genes and HPO symptoms (with frequencies where given)",
        responses={
            200: ("The condition", CatalogueConditionDetail),
            400: "Not a code like ORPHA:590 or OMIM:254300.",
            404: "No such condition in the catalogue.",
        },
        tags=["catalogue"],
    ),
]
