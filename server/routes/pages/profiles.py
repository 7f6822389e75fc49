"""Public profile pages: /u/<username>."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.actions import profiles
from server.templating import render


async def profile_page(request: Request) -> Response:
    viewer = request.state.user
    async with request.app.state.db.acquire() as connection:
        found = await profiles.profile(connection, request.path_params["username"], viewer=viewer)
    posts = [
        {"post": post, "excerpt": profiles.excerpt(post.body_md), "url": f"/c/{post.community_slug}/t/{post.thread_id}"}
        for post in found.posts
    ]
    return render(
        request,
        "profiles/profile.html",
        {
            "member": found.user,
            "communities": found.communities,
            "posts": posts,
            "is_me": viewer is not None and viewer.id == found.user.id,
        },
    )


routes = [Route("/u/{username}", profile_page, methods=["GET"], name="profile")]
