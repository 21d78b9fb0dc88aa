"""The email replies corpus: realistic replies from real mail programs, and what the bot must do with each."""

from __future__ import annotations

from tests.email_corpus.cases_decisions import APPROVAL, CHECK_IN, SURVEY
from tests.email_corpus.cases_heldout import HELDOUT
from tests.email_corpus.cases_heldout2 import HELDOUT_2 as _HELDOUT_2
from tests.email_corpus.cases_matrix import MATRIX
from tests.email_corpus.cases_opt_in import OPT_IN
from tests.email_corpus.cases_people import FOR_A_PERSON
from tests.email_corpus.cases_profile import AVAILABILITY, PROFILE
from tests.email_corpus.cases_robots import MACHINES
from tests.email_corpus.model import Case

CASES: tuple[Case, ...] = (*OPT_IN, *MATRIX, *PROFILE, *AVAILABILITY, *APPROVAL, *CHECK_IN, *SURVEY, *MACHINES, *FOR_A_PERSON, *HELDOUT)

# A second held-out set, scored by the bench apart from the corpus the tests assert: kept out of CASES so that its
# misses stay visible as a measure instead of becoming failing tests.
HELDOUT_2: tuple[Case, ...] = tuple(_HELDOUT_2)

_ids = [c.id for c in (*CASES, *HELDOUT_2)]
assert len(_ids) == len(set(_ids)), sorted({i for i in _ids if _ids.count(i) > 1})

__all__ = ["CASES", "HELDOUT_2", "Case"]
