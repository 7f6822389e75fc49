"""JSON API for proposing a community for a condition that has none, and admins deciding (under /api/v1)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import proposals
from server.actions.access import require_admin
from server.routes.api.community_schemas import (
    CommunityProposal,
    NewProposal,
    ProposalDecision,
    ProposalList,
    proposal_out,
)
from server.routes.api.support import api_route, json_response, read_json

# --- Proposals ----------------------------------------------------------------------------------


async def propose(request: Request) -> Response:
    body = await read_json(request, NewProposal)
    data = proposals.check_proposal(
        name=body.name, synonyms=body.synonyms, description=body.description, reason=body.reason, codes=body.codes
    )
    async with request.app.state.db.acquire() as connection:
        proposal = await proposals.do_propose(connection, auth.current_user(request), data)
    return json_response(proposal_out(proposal), status=201)


async def list_proposals(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        listed = await proposals.list_for_admin(connection, auth.current_user(request))
    return json_response(ProposalList([proposal_out(proposal) for proposal in listed]))


async def decide_proposal(request: Request) -> Response:
    require_admin(auth.current_user(request))
    body = await read_json(request, ProposalDecision)
    async with request.app.state.db.acquire() as connection:
        decided = await proposals.do_decide(
            connection, auth.current_user(request), request.path_params["proposal_id"], body.decision, body.reason
        )
    return json_response(proposal_out(decided))


routes = [
    api_route(
        "/api/v1/proposals",
        propose,
        methods=["POST"],
        summary="Propose a new condition community (it waits for a site admin's decision)",
        request_body=NewProposal,
        responses={
            201: ("The proposal", CommunityProposal),
            400: "A field is missing or too long, or a code is not one of the catalogue's.",
            404: "A code is not in the catalogue.",
            409: "A community with that name, or covering one of the codes, exists or is already proposed.",
            429: "Too many proposals waiting for a decision.",
        },
        sign_in=True,
        tags=["proposals"],
    ),
    api_route(
        "/api/v1/proposals",
        list_proposals,
        summary="All proposals, pending first (site admins only)",
        responses={200: ("The proposals", ProposalList), 403: "Only site admins may see proposals."},
        sign_in=True,
        tags=["proposals"],
    ),
    api_route(
        "/api/v1/proposals/{proposal_id:int}/decision",
        decide_proposal,
        methods=["POST"],
        summary="Approve (the community opens with its main room) or decline with a reason (site admins only)",
        request_body=ProposalDecision,
        responses={
            200: ("The decided proposal", CommunityProposal),
            403: "Only site admins may decide.",
            404: "No such proposal.",
            409: "Already decided.",
        },
        sign_in=True,
        tags=["proposals"],
    ),
]
