"""SQL twins of the access rules (server/actions/access.py), for queries that filter many rows at once.

Search, notification recipients and profiles cannot ask a Python predicate row by row; each twin
here states the same rule as one SQL condition, and tests/server/actions/test_access.py checks
that every twin answers like its predicate for every kind of person.
"""

from __future__ import annotations


def _not_banned(community: str, viewer: str) -> str:
    return f"""NOT EXISTS (SELECT 1 FROM sanctions rs WHERE rs.community_id = {community}.id AND rs.user_id = {viewer}
                            AND rs.kind = 'ban' AND rs.lifted_at IS NULL AND (rs.ends_at IS NULL OR rs.ends_at > now()))"""


def _member(community: str, viewer: str) -> str:
    return f"EXISTS (SELECT 1 FROM memberships rm WHERE rm.community_id = {community}.id AND rm.user_id = {viewer})"


def open_to_everyone(community: str, kind: str = "NULL", audience: str = "'everyone'") -> str:
    """open_to_everyone: threads of kind `kind` (an SQL expression; NULL: the forum as a whole) of a public
    `community` are open to non-members; introductions only once its leaders opened them; never what its
    author meant for members only (`audience`, an SQL expression: 'everyone' or 'members')."""
    return f"""({community}.visibility = 'public' AND {audience} = 'everyone'
        AND ({kind}::text IS DISTINCT FROM 'introduction' OR {community}.introductions_open))"""


def audience_of(thread: str, post: str | None = None) -> str:
    """The audience of a thread (alias `thread`), or of one of its posts (alias `post`, which may be NULL
    from an outer join): members only when either the thread or the post was meant for members."""
    if post is None:
        return f"{thread}.audience"
    return (
        f"(CASE WHEN {thread}.audience = 'members' OR {post}.audience = 'members' THEN 'members' ELSE 'everyone' END)"
    )


def audience_of_ids(thread_id: str, post_id: str) -> str:
    """audience_of for a thread and post given by id expressions (either NULL): 'everyone' without a thread."""
    return f"""coalesce((SELECT {audience_of("at", "ap")} FROM threads at LEFT JOIN posts ap ON ap.id = {post_id}
        WHERE at.id = {thread_id}), 'everyone')"""


def forum_readable_by(
    community: str, viewer: str, viewer_is_admin: str, kind: str = "NULL", audience: str = "'everyone'"
) -> str:
    """can_read_forum: the viewer (an id expression, NULL for anonymous) may read threads of kind `kind`
    and posts of audience `audience` in the forum of `community` (an alias of communities): what is open
    to everyone, to all; the rest to members who are not banned, and site admins."""
    return f"""({community}.status IN ('active', 'archived') AND ({open_to_everyone(community, kind, audience)}
        OR {viewer_is_admin}
        OR ({viewer} IS NOT NULL AND {_member(community, viewer)} AND {_not_banned(community, viewer)})))"""


def forum_readable_by_everyone(community: str, kind: str = "NULL", audience: str = "'everyone'") -> str:
    """can_read_forum for an anonymous reader: what a profile may excerpt for anyone who opens it."""
    return forum_readable_by(community, "NULL::bigint", "false", kind, audience)


def community_visible_to(community: str, viewer: str, viewer_is_admin: str) -> str:
    """can_see_community for open communities: every active or archived community, but a hidden one only
    to its members who are not banned and to site admins."""
    return f"""({community}.status IN ('active', 'archived') AND ({community}.visibility <> 'hidden'
        OR {viewer_is_admin} OR ({viewer} IS NOT NULL AND {_member(community, viewer)} AND {_not_banned(community, viewer)})))"""


def membership_visible_to(community: str, viewer: str) -> str:
    """can_see_membership: that someone belongs to `community` is shown to the viewer (an id expression,
    NULL for anonymous) when the community is public, or when the viewer is a member there who is not banned."""
    return f"""({community}.visibility = 'public'
        OR ({viewer} IS NOT NULL AND {_member(community, viewer)} AND {_not_banned(community, viewer)}))"""


def room_readable_by(community: str, viewer: str, viewer_is_admin: str) -> str:
    """can_read_room: live rooms (and their history) of active communities to members who are not banned,
    to everyone but the banned where a public community's leaders opened its rooms; site admins also
    in archived communities."""
    return f"""({community}.status IN ('active', 'archived') AND ({viewer_is_admin}
        OR ({community}.status = 'active' AND ({viewer} IS NULL OR {_not_banned(community, viewer)})
            AND (({viewer} IS NOT NULL AND {_member(community, viewer)})
                 OR ({community}.visibility = 'public' AND {community}.rooms_open)))))"""


def family_listed(facts: str) -> str:
    """can_use_families for the family whose facts row is `facts` (an alias of family_facts): listed to other
    opted-in families while they are a member (the row goes with the membership) who is not banned."""
    return f"""NOT EXISTS (SELECT 1 FROM sanctions fs WHERE fs.community_id = {facts}.community_id
                   AND fs.user_id = {facts}.user_id AND fs.kind = 'ban' AND fs.lifted_at IS NULL
                   AND (fs.ends_at IS NULL OR fs.ends_at > now()))"""
