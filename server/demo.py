"""Demo data, written in our own words: loaded once, a second load adds nothing."""

from __future__ import annotations

from datetime import date

import asyncpg

from server.actions import events
from server.db.queries import catalogue, demo
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

# The catalogue conditions (server/data/catalogue.json.gz) each demo community covers.
CMS_CODES = [
    "ORPHA:590",  # Congenital myasthenic syndrome
    "ORPHA:98913",  # Postsynaptic congenital myasthenic syndromes (DOK7, CHRNE, RAPSN...)
    "ORPHA:98914",  # Presynaptic
    "ORPHA:98915",  # Synaptic (COLQ)
    "ORPHA:353327",  # with glycosylation defect
    "OMIM:254300",  # Myasthenia, limb-girdle, familial: CMS 10, DOK7
    "OMIM:254210",
    "OMIM:601462",
    "OMIM:603034",
    "OMIM:605809",
    "OMIM:608930",
    "OMIM:608931",
    "OMIM:610542",
    "OMIM:614198",
    "OMIM:614750",
    "OMIM:615120",
    "OMIM:616040",
    "OMIM:616224",
    "OMIM:616227",
    "OMIM:616228",
    "OMIM:616304",
    "OMIM:616313",
    "OMIM:616314",
    "OMIM:616321",
    "OMIM:616322",
    "OMIM:616323",
    "OMIM:616324",
    "OMIM:616325",
    "OMIM:616326",
    "OMIM:616330",
    "OMIM:616720",
    "OMIM:617143",
    "OMIM:617239",
    "OMIM:618197",
    "OMIM:618198",
    "OMIM:618323",
    "OMIM:619461",
]
OTHER_CODES = {
    "dravet-syndrome": ["ORPHA:33069", "OMIM:607208"],
    "fibrodysplasia-ossificans-progressiva": ["ORPHA:337", "OMIM:135100"],
    "alternating-hemiplegia-of-childhood": ["ORPHA:2131", "OMIM:104290", "OMIM:614820"],
}

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


async def load_demo_data(connection: asyncpg.Connection) -> bool:
    """Insert the demo communities and accounts unless they are there already. True when loaded now."""
    async with events.unit_of_work(connection):
        await demo.lock(connection, DEMO_LOCK_KEY)
        if await demo.community_exists(connection, CMS_SLUG):
            # Loaded before the catalogue existed: the demo communities cover their conditions all the same.
            for slug, codes in [(CMS_SLUG, CMS_CODES), *OTHER_CODES.items()]:
                community_id = await demo.community_id(connection, slug)
                if community_id is not None:
                    await catalogue.link(connection, community_id, codes)
            return False
        users = {
            username: await demo.add_user(connection, username, display, bio, hash_password(password), admin)
            for username, display, bio, password, admin in DEMO_USERS
        }

        cms = await demo.add_community(
            connection,
            CMS_SLUG,
            "Congenital Myasthenic Syndromes",
            ["CMS", "Congenital myasthenia", "Syndromes myasthéniques congénitaux"],
            "Inherited conditions of the neuromuscular junction that cause fatigable muscle weakness from birth or childhood.",
        )
        await catalogue.link(connection, cms, CMS_CODES)
        for section, body in CMS_SECTIONS.items():
            await demo.add_section(connection, cms, section, body, users["amara"])
        await demo.add_member(connection, cms, users["amara"], "leader")
        await demo.add_member(connection, cms, users["lucia"], "member")
        await demo.add_resource(
            connection,
            cms,
            "registry",
            "CMS patient registry",
            "An international registry where families can record their CMS diagnosis to help research and trial recruitment.",
            "https://www.cmsregistry.org/",
            date(2024, 3, 1),
            users["amara"],
        )
        await demo.add_tip(
            connection,
            cms,
            users["amara"],
            "Rest before meals",
            "A short rest before eating helped my son chew and swallow with less effort.",
        )
        await demo.add_introduction(
            connection, cms, users["lucia"], "My first connection: CMS", CMS_INTRO, CMS_INTRO_BODY
        )

        for slug, name, synonyms, description in OTHER_COMMUNITIES:
            community = await demo.add_community(connection, slug, name, synonyms, description)
            await catalogue.link(connection, community, OTHER_CODES[slug])
        return True
