"""Demo data, written in our own words: loaded once, a second load adds nothing."""

from __future__ import annotations

import asyncpg

from server.passwords import hash_password

DEMO_LOCK_KEY = 7_301_001  # pg advisory lock id: two processes starting at once load it once

CMS_SLUG = "congenital-myasthenic-syndromes"

# Passwords for the demo accounts are documented in the README; they exist only in demo data.
DEMO_USERS = [
    # username, display name, bio, password, is_admin
    ("admin", "Site admin", "Looks after Kindred.", "kindred-demo-admin", True),
    (
        "amara",
        "Amara (leader)",
        "Mother of a teenager with CMS (CHRNE). Community leader.",
        "kindred-demo-leader",
        False,
    ),
    ("lucia", "Lucía", "Caring for my daughter, diagnosed with CMS last year.", "kindred-demo-member", False),
]

CMS_SECTIONS = {
    "what_is_it": (
        "Congenital myasthenic syndromes (CMS) are a group of inherited conditions in which the signal "
        "from nerve to muscle does not pass properly at the **neuromuscular junction**. Muscles tire "
        "quickly with use and recover with rest. CMS is not autoimmune, unlike myasthenia gravis."
    ),
    "causes": (
        "CMS is caused by changes (variants) in genes that build or run the neuromuscular junction. "
        "More than thirty genes are known. The most common are:\n\n"
        "- **CHRNE**: about half of all cases; it makes part of the acetylcholine receptor\n"
        "- **RAPSN**: holds the receptors in place\n"
        "- **CHAT**: makes acetylcholine in the nerve ending\n"
        "- **COLQ**: anchors the enzyme that clears acetylcholine\n"
        "- **DOK7**: organises the junction as it forms\n\n"
        "By where the fault lies, forms are grouped as **presynaptic** (the nerve ending), **synaptic** "
        "(the gap between nerve and muscle) and **postsynaptic** (the muscle side, the largest group). "
        "Most forms are inherited recessively: both parents carry one changed copy."
    ),
    "symptoms": (
        "Symptoms vary a great deal, even within one family, and usually start at birth or in early childhood:\n\n"
        "- weakness that gets worse with effort, in the muscles of the eyes, face, mouth and throat (bulbar), and limbs\n"
        "- drooping eyelids (ptosis) and sometimes limited eye movement\n"
        "- in severe forms, feeding and breathing problems from birth, and sudden breathing crises with infections\n"
        "- delayed motor milestones such as sitting and walking\n\n"
        "Weakness often fluctuates from hour to hour and day to day."
    ),
    "diagnosis": (
        "Doctors suspect CMS from:\n\n"
        "- onset at birth or in childhood, and sometimes a family history\n"
        "- an EMG showing a decrement on repetitive nerve stimulation, or a **repetitive CMAP** after a "
        "single stimulus (seen in slow-channel CMS and COLQ)\n"
        "- improvement with cholinesterase inhibitors (though some forms get worse)\n"
        "- negative tests for the antibodies of myasthenia gravis\n"
        "- in specialist centres, studies of the endplate in a muscle biopsy\n\n"
        "**Genetic testing** confirms the diagnosis and, importantly, names the form, which guides treatment."
    ),
    "treatments": (
        "Treatment depends on the form, which is why knowing the gene matters:\n\n"
        "- **cholinesterase inhibitors** (such as pyridostigmine) help many forms, including CHRNE deficiency\n"
        "- **3,4-diaminopyridine** (amifampridine) increases acetylcholine release and helps several forms\n"
        "- **quinidine or fluoxetine** for slow-channel syndrome, where cholinesterase inhibitors can harm\n"
        "- **ephedrine** or salbutamol (albuterol) for DOK7 and COLQ forms\n\n"
        "Breathing support, feeding support and physiotherapy matter as much as medicines. "
        "Always decide treatment with your neuromuscular team."
    ),
    "prognosis": (
        "Many people with CMS live full lives, and weakness often stays stable or improves with the "
        "right treatment. Some forms carry a risk of breathing crises, especially in infancy and with "
        "infections, so families keep an emergency plan."
    ),
    "acknowledgement": "Written by Kindred volunteers for this demo, in plain language. It is not medical advice.",
}

CMS_INTRO = {
    "cares_for": "my daughter",
    "age_at_onset": "at birth",
    "diagnosis": "CMS, CHRNE",
    "treatments": "pyridostigmine, then 3,4-diaminopyridine",
    "hopes": "to talk with other parents who live with this day by day",
    "language": "Spanish or English",
}

CMS_INTRO_BODY = (
    "My first connection: CMS.\n\n"
    "Hello everyone. My daughter was diagnosed with CMS (CHRNE) after years of questions. "
    "We take her treatment day by day: some mornings are good, evenings are harder. "
    "Is there anyone else here who lives with this? I would love to hear how you manage school and tiredness."
)

OTHER_COMMUNITIES = [
    (
        "dravet-syndrome",
        "Dravet Syndrome",
        ["Severe myoclonic epilepsy of infancy", "SMEI"],
        "A rare, severe epilepsy that begins in the first year of life, most often linked to SCN1A.",
    ),
    (
        "fibrodysplasia-ossificans-progressiva",
        "Fibrodysplasia Ossificans Progressiva",
        ["FOP", "Stone man syndrome"],
        "A very rare condition in which muscle and connective tissue gradually turn into bone.",
    ),
    (
        "alternating-hemiplegia-of-childhood",
        "Alternating Hemiplegia of Childhood",
        ["AHC"],
        "A rare neurological condition with repeated episodes of paralysis on one side of the body or the other.",
    ),
]


async def _user(
    connection: asyncpg.Connection, username: str, display: str, bio: str, password: str, admin: bool
) -> int:
    user_id = await connection.fetchval(
        """INSERT INTO users (username, display_name, bio, password_hash, is_admin)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        username,
        display,
        bio,
        hash_password(password),
        admin,
    )
    return int(user_id)


async def _community(
    connection: asyncpg.Connection, slug: str, name: str, synonyms: list[str], description: str
) -> int:
    community_id = await connection.fetchval(
        """INSERT INTO communities (slug, name, synonyms, description, status)
           VALUES ($1, $2, $3, $4, 'active') RETURNING id""",
        slug,
        name,
        synonyms,
        description,
    )
    await connection.execute(
        "INSERT INTO rooms (community_id, slug, name, is_main) VALUES ($1, 'main', 'Main room', true)", community_id
    )
    return int(community_id)


async def _join(connection: asyncpg.Connection, community_id: int, user_id: int, role: str = "member") -> None:
    await connection.execute(
        "INSERT INTO memberships (community_id, user_id, role, approved_posts) VALUES ($1, $2, $3, 10)",
        community_id,
        user_id,
        role,
    )
    await connection.execute("UPDATE communities SET member_count = member_count + 1 WHERE id = $1", community_id)


async def load_demo_data(connection: asyncpg.Connection) -> bool:
    """Insert the demo communities and accounts unless they are there already. True when loaded now."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", DEMO_LOCK_KEY)
        if await connection.fetchval("SELECT 1 FROM communities WHERE slug = $1", CMS_SLUG):
            return False
        users = {row[0]: await _user(connection, *row) for row in DEMO_USERS}

        cms = await _community(
            connection,
            CMS_SLUG,
            "Congenital Myasthenic Syndromes",
            ["CMS", "Congenital myasthenia"],
            "Inherited conditions of the neuromuscular junction that cause fatigable muscle weakness from birth or childhood.",
        )
        for section, body in CMS_SECTIONS.items():
            await connection.execute(
                "INSERT INTO condition_sections (community_id, section, body_md, updated_by) VALUES ($1, $2, $3, $4)",
                cms,
                section,
                body,
                users["amara"],
            )
            await connection.execute(
                """INSERT INTO section_revisions (community_id, section, body_md, summary, author_id)
                   VALUES ($1, $2, $3, 'First version', $4)""",
                cms,
                section,
                body,
                users["amara"],
            )
        await _join(connection, cms, users["amara"], "leader")
        await _join(connection, cms, users["lucia"])
        await connection.execute(
            """INSERT INTO resources (community_id, kind, title, description, url, published_on, created_by)
               VALUES ($1, 'registry', 'CMS patient registry',
                       'An international registry where families can record their CMS diagnosis to help research and trial recruitment.',
                       'https://www.cmsregistry.org/', DATE '2024-03-01', $2)""",
            cms,
            users["amara"],
        )
        await connection.execute(
            """INSERT INTO tips (community_id, author_id, name, description) VALUES ($1, $2, 'Rest before meals',
               'A short rest before eating helped my son chew and swallow with less effort.')""",
            cms,
            users["amara"],
        )
        thread_id = await connection.fetchval(
            """INSERT INTO threads (community_id, kind, title, author_id, intro)
               VALUES ($1, 'introduction', 'My first connection: CMS', $2, $3) RETURNING id""",
            cms,
            users["lucia"],
            CMS_INTRO,
        )
        await connection.execute(
            "INSERT INTO posts (thread_id, author_id, body_md) VALUES ($1, $2, $3)",
            thread_id,
            users["lucia"],
            CMS_INTRO_BODY,
        )

        for slug, name, synonyms, description in OTHER_COMMUNITIES:
            await _community(connection, slug, name, synonyms, description)
        return True
