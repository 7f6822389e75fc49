"""Private conversation pages (/conversations): one's own conversations, one conversation (then live over /ws),
block and report; and the site admins' queue of reported conversations (/admin/conversation-reports)."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.actions import conversations
from server.errors import AppError, returns_to_form
from server.i18n import _
from server.routes.forms import errors_for, read_form, redirect, text
from server.templating import render

NOTICES = {
    "reported": lambda: _("Reported: the site admins were told, and will read the messages sent until now."),
    "blocked": lambda: _("Blocked: the conversation has ended, and they cannot ask to connect with you again."),
    "resolved": lambda: _("Marked as handled."),
}


def _notice(request: Request) -> str | None:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return notice() if notice else None


async def _list_page(
    request: Request, *, reporting: int | None = None, draft: str = "", error: str = "", status: int = 200
) -> Response:
    async with request.app.state.db.acquire() as connection:
        mine = await conversations.mine(connection, request.state.user)
        ended = await conversations.mine(connection, request.state.user, ended=True)
    context = {
        "conversations": mine,
        "ended": ended,
        "notice": _notice(request),
        "reporting": reporting,
        "draft": draft,
        "error": error,
    }
    return render(request, "conversations/list.html", context, status=status)


async def list_page(request: Request) -> Response:
    return await _list_page(request)


async def _conversation_page(
    request: Request, *, draft: str = "", reason: str = "", errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    conversation_id = request.path_params["conversation_id"]
    async with request.app.state.db.acquire() as connection:
        opened = await conversations.open_conversation(connection, request.state.user, conversation_id)
        history = await conversations.history(connection, opened)
    context = {
        "conversation": opened.conversation,
        "topic": conversations.topic_of(conversation_id),
        "history": history,
        "me": opened.my_id,
        "last_seq": history[-1].seq if history else opened.conversation.last_seq,
        "draft": draft,
        "reason": reason,
        "errors": errors or {},
        "client_id": secrets.token_hex(8),
        "notice": _notice(request),
        "muted_notice": opened.muted_notice,
        "muted_until": opened.muted_until,
        "mute_reason": opened.actor.standing.mute_reason if opened.muted_notice else "",
    }
    return render(request, "conversations/conversation.html", context, status=status)


async def conversation_page(request: Request) -> Response:
    return await _conversation_page(request)


async def send_message(request: Request) -> Response:
    """Without JavaScript: the same send as over the websocket (idempotent by the form's client id)."""
    form = await read_form(request)
    conversation_id = request.path_params["conversation_id"]
    body = text(form, "body", 5000)
    async with request.app.state.db.acquire() as connection:
        try:
            await conversations.do_send(
                connection,
                request.app.state.limiter,
                request.state.user,
                conversation_id,
                client_msg_id=text(form, "client_id", 64),
                body=body,
            )
        except AppError as error:
            if not returns_to_form(error):
                raise
            return await _conversation_page(request, draft=body, errors=errors_for(error), status=error.status)
    return redirect(f"/conversations/{conversation_id}#composer")


async def report(request: Request) -> Response:
    """From the conversation's page, or, once it ended, from the list of one's conversations (`from=list`)."""
    form = await read_form(request)
    conversation_id = request.path_params["conversation_id"]
    reason = text(form, "reason", 2000)
    from_list = form.get("from") == "list"
    async with request.app.state.db.acquire() as connection:
        try:
            await conversations.do_report(connection, request.state.user, conversation_id, reason)
        except AppError as error:
            if not returns_to_form(error):
                raise
            if from_list:
                return await _list_page(
                    request, reporting=conversation_id, draft=reason, error=error.message, status=error.status
                )
            return await _conversation_page(
                request, reason=reason, errors={"reason": error.message}, status=error.status
            )
    return redirect("/conversations?done=reported" if from_list else f"/conversations/{conversation_id}?done=reported")


async def block(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        await conversations.do_block(connection, request.state.user, request.path_params["conversation_id"])
    return redirect("/conversations?done=blocked")


async def reports_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        found = await conversations.reports_for_admins(connection, request.state.user)
    return render(request, "admin/conversation_reports.html", {"reports": found, "notice": _notice(request)})


async def report_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        found = await conversations.report_for_admins(connection, request.state.user, request.path_params["report_id"])
    return render(request, "admin/conversation_report.html", {"view": found})


async def resolve_report(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        await conversations.do_resolve_report(connection, request.state.user, request.path_params["report_id"])
    return redirect("/admin/conversation-reports?done=resolved")


routes = [
    Route("/conversations", list_page, methods=["GET"]),
    Route("/conversations/{conversation_id:int}", conversation_page, methods=["GET"]),
    Route("/conversations/{conversation_id:int}/messages", send_message, methods=["POST"]),
    Route("/conversations/{conversation_id:int}/report", report, methods=["POST"]),
    Route("/conversations/{conversation_id:int}/block", block, methods=["POST"]),
    Route("/admin/conversation-reports", reports_page, methods=["GET"]),
    Route("/admin/conversation-reports/{report_id:int}", report_page, methods=["GET"]),
    Route("/admin/conversation-reports/{report_id:int}/resolve", resolve_report, methods=["POST"]),
]
