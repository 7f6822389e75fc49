"""JSON shapes of communities, condition sections, resources, tips, leaders and proposals, and their converters."""

from __future__ import annotations

from datetime import date, datetime

import msgspec
from msgspec import UNSET, UnsetType

from server.actions import catalogue, resources, sections
from server.actions.catalogue import Condition
from server.actions.communities import Community, Leader
from server.actions.proposals import Proposal
from server.actions.resources import Resource
from server.actions.sections import Revision, Section
from server.actions.tips import Tip
from server.presentation import markdown

# --- Schemas ------------------------------------------------------------------------------------


class CommunitySummary(msgspec.Struct):
    slug: str
    name: str
    synonyms: list[str]
    description: str
    status: str
    member_count: int
    last_activity_at: datetime
    url: str
    reading: ReadingRulesOut


class ReadingRulesOut(msgspec.Struct):
    """Who may read: visibility "public" (threads open to everyone) or "members"; in a public community,
    whether introductions and live rooms are open to everyone too (members-only until leaders open them)."""

    visibility: str
    introductions_open: bool
    rooms_open: bool


class ReadingRulesIn(msgspec.Struct, forbid_unknown_fields=True):
    visibility: str
    introductions_open: bool = False
    rooms_open: bool = False


class CoveringCommunity(msgspec.Struct):
    """The open community for a catalogue condition: status "active", or "proposed" (waiting for a site admin)."""

    slug: str
    name: str
    status: str
    url: str


class CatalogueCondition(msgspec.Struct):
    """A rare condition from the catalogue (HPO annotations of Orphanet and OMIM; docs/catalogue.md)."""

    code: str
    name: str
    genes: list[str]
    source_url: str
    community: CoveringCommunity | None


class CatalogueSymptom(msgspec.Struct):
    """An HPO symptom; frequency: obligate, very_frequent, frequent, occasional, very_rare, a fraction such
    as "13/19" or a percentage, or null when the source gives none; frequency_label says it in words."""

    hpo_id: str
    name: str
    frequency: str | None
    frequency_label: str


class CatalogueConditionDetail(msgspec.Struct):
    condition: CatalogueCondition
    symptoms: list[CatalogueSymptom]
    source: str


class CatalogueMatches(msgspec.Struct):
    conditions: list[CatalogueCondition]
    query: str


class CommunityDirectory(msgspec.Struct):
    communities: list[CommunitySummary]
    query: str
    page: int
    pages: int
    total: int
    # Typos the search corrected, each typed word with the known word it was read as.
    corrections: dict[str, str] = msgspec.field(default_factory=dict)
    # On the first page: catalogue conditions matching the search that no community covers yet.
    uncovered: list[CatalogueCondition] = msgspec.field(default_factory=list)


class ConditionSection(msgspec.Struct):
    section: str
    title: str
    body_md: str
    html: str
    updated_at: datetime | None


class CommunityLeader(msgspec.Struct):
    username: str | None  # null for a leader who uses a pseudonym in this community
    display_name: str


class CommunityResource(msgspec.Struct):
    id: int
    kind: str
    kind_label: str
    title: str
    description: str
    url: str
    published_on: date | None
    created_at: datetime
    updated_at: datetime


class CommunityTip(msgspec.Struct):
    id: int
    name: str
    description: str
    hidden: bool
    author_username: str | None
    created_at: datetime


class MyMembership(msgspec.Struct):
    signed_in: bool
    member: bool
    role: str | None
    banned: bool
    can_moderate: bool


class CommunityDetail(msgspec.Struct):
    community: CommunitySummary
    sections: list[ConditionSection]
    leaders: list[CommunityLeader]
    newest_resources: list[CommunityResource]
    newest_tips: list[CommunityTip]
    me: MyMembership
    leadership_offer: bool


class SectionEdit(msgspec.Struct, forbid_unknown_fields=True):
    """The whole new text of the section (Markdown, may be empty) and an optional note for its history."""

    body_md: str
    summary: str = ""


class SectionRevision(msgspec.Struct):
    id: int
    section: str
    body_md: str
    summary: str
    author_username: str | None
    created_at: datetime


class SectionRevisionList(msgspec.Struct):
    revisions: list[SectionRevision]


class ResourceList(msgspec.Struct):
    resources: list[CommunityResource]


class NewResource(msgspec.Struct, forbid_unknown_fields=True):
    """kind: clinical_trial, registry, ebook, podcast, organisation or other; url: http(s) only; date: YYYY-MM-DD."""

    kind: str
    title: str
    url: str
    description: str = ""
    published_on: str | None = None


class ResourceChanges(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent are changed."""

    kind: str | UnsetType = UNSET
    title: str | UnsetType = UNSET
    url: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    published_on: str | UnsetType | None = UNSET


class TipList(msgspec.Struct):
    tips: list[CommunityTip]


class NewTip(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    description: str


class TipVisibility(msgspec.Struct, forbid_unknown_fields=True):
    """Send {"hidden": false} to show a hidden tip again; no body hides it."""

    hidden: bool = True


class MembershipState(msgspec.Struct):
    member: bool
    role: str | None
    member_count: int


class NewProposal(msgspec.Struct, forbid_unknown_fields=True):
    """codes: the catalogue conditions (ORPHA:… or OMIM:…) the community would cover; empty for a condition
    not in the catalogue. A condition an open community already covers is refused with 409."""

    name: str
    description: str
    reason: str
    synonyms: list[str] = msgspec.field(default_factory=list)
    codes: list[str] = msgspec.field(default_factory=list)


class CommunityProposal(msgspec.Struct):
    id: int
    slug: str
    name: str
    synonyms: list[str]
    description: str
    reason: str
    status: str
    decision_reason: str
    proposer_username: str | None
    created_at: datetime
    decided_at: datetime | None
    # The catalogue conditions it covers and their genes (from the catalogue).
    codes: list[str] = msgspec.field(default_factory=list)
    genes: list[str] = msgspec.field(default_factory=list)


class ProposalList(msgspec.Struct):
    proposals: list[CommunityProposal]


class ProposalDecision(msgspec.Struct, forbid_unknown_fields=True):
    """decision: "approve" or "decline" (declining needs a reason, which the proposer reads)."""

    decision: str
    reason: str = ""


# --- Converters ---------------------------------------------------------------------------------


def community_out(community: Community) -> CommunitySummary:
    return CommunitySummary(
        slug=community.slug,
        name=community.name,
        synonyms=community.synonyms,
        description=community.description,
        status=community.status,
        member_count=community.member_count,
        last_activity_at=community.last_activity_at,
        url=f"/c/{community.slug}",
        reading=ReadingRulesOut(community.visibility, community.introductions_open, community.rooms_open),
    )


def section_out(key: str, section: Section | None) -> ConditionSection:
    body = section.body_md if section else ""
    return ConditionSection(
        section=key,
        title=sections.section_title(key),
        body_md=body,
        html=markdown.html(body, below=0) if body else "",
        updated_at=section.updated_at if section else None,
    )


def leader_out(leader: Leader) -> CommunityLeader:
    return CommunityLeader(username=leader.username, display_name=leader.display_name)


def resource_out(resource: Resource) -> CommunityResource:
    return CommunityResource(
        id=resource.id,
        kind=resource.kind,
        kind_label=resources.kind_label(resource.kind),
        title=resource.title,
        description=resource.description,
        url=resource.url,
        published_on=resource.published_on,
        created_at=resource.created_at,
        updated_at=resource.updated_at,
    )


def tip_out(tip: Tip) -> CommunityTip:
    return CommunityTip(
        id=tip.id,
        name=tip.name,
        description=tip.description,
        hidden=tip.hidden,
        author_username=tip.author_username,
        created_at=tip.created_at,
    )


def revision_out(revision: Revision) -> SectionRevision:
    return SectionRevision(
        id=revision.id,
        section=revision.section,
        body_md=revision.body_md,
        summary=revision.summary,
        author_username=revision.author_username,
        created_at=revision.created_at,
    )


def proposal_out(proposal: Proposal) -> CommunityProposal:
    return CommunityProposal(
        id=proposal.id,
        slug=proposal.slug,
        name=proposal.name,
        synonyms=proposal.synonyms,
        description=proposal.description,
        reason=proposal.reason,
        status=proposal.status,
        decision_reason=proposal.decision_reason,
        proposer_username=proposal.proposer_username,
        created_at=proposal.created_at,
        decided_at=proposal.decided_at,
        codes=proposal.codes,
        genes=proposal.genes,
    )


def catalogue_condition_out(condition: Condition) -> CatalogueCondition:
    community = (
        CoveringCommunity(
            condition.community_slug,
            condition.community_name or "",
            condition.community_status or "",
            f"/c/{condition.community_slug}",
        )
        if condition.community_slug
        else None
    )
    return CatalogueCondition(
        code=condition.code,
        name=condition.name,
        genes=condition.genes,
        source_url=catalogue.source_url(condition.code),
        community=community,
    )
