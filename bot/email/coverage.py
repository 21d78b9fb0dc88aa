"""How much of an answer the reader accounted for, and the words that change what an answer means.

A reading is saved at once only when the reader can account for the answer's words. Greetings, politeness and
filler say nothing about the answer and are ignored; the words left over that no reader recognised are counted,
and a reading that leaves too many of them is only proposed. Some words change an answer's meaning whatever the
rest says: a correction ("4 - no wait, 5", "3-5, sorry, I mean K-2") replaces what came before it, a condition
("unless", "only if") or a question ("can I be a mentee?") makes it no answer to save.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.email.availability import fold

__all__ = ["FILLER_WORDS", "asks_something", "corrected", "has_condition", "unaccounted", "without_questions"]

# Words that carry no answer, in the program's languages: articles, pronouns, auxiliaries, greetings, politeness.
FILLER_WORDS = frozenset(
    """
    a an the and or of to in on at for with by from as is are am be been was were it its it's this that these those
    there here i i'm im i'd id i'll ill i've me my mine we we're we'd we'll us our you your you're he she her him his
    they them their do does did have has had will would can could should shall may might must so very really just
    too also quite pretty much well then now yet still again please pls plz thanks thank thx ty cheers hi hello hey
    dear regards best kind wishes sorry ok okay oh ah um erm hmm lol haha yes yeah yep yup no not sure great good
    fine perfect lovely awesome cool anyway basically honestly obviously probably think guess say said mean would'd
    all any some both each one ones thing things stuff like about around if when what which who how that's what's
    el la los las un una unos unas de del al y o e u en con por para que es son soy estoy esta este esto mi mis me
    yo tu su sus nos nuestro hola gracias saludos favor por favor muy bien si también tambien pero
    le les l' d' du des et ou en avec pour par que qui est sont suis je j' moi mon ma mes nous notre vous votre
    bonjour merci cordialement bien tres oui aussi mais ce cette ces c'est
    der die das den dem des ein eine einen einem und oder in im mit fur von zu zum zur ist sind bin ich mich mein
    meine wir uns unser sie ihr hallo danke gruße grusse viele bitte sehr gut ja auch aber es
    o a os as um uma uns umas de do da dos das e ou em no na nos nas com por para que eu meu minha nós sou estou
    ola obrigado obrigada abraços abracos beijos muito bem sim tambem mas
    de het een en of in op met voor van te is zijn ben ik mij mijn we wij ons onze hoi hallo dank bedankt groeten
    graag heel goed ja ook maar
    il lo la i gli le un una uno di del della e o in con per da che è sono io mi mio mia noi nostro ciao grazie
    saluti cordiali molto bene si anche ma
    """.split()
)

# A correction: what follows replaces what came before ("4 - no wait, 5", "Tuesdays, scratch that, Thursdays").
_CORRECTION_RE = re.compile(
    r"(?<![\w'])(?:no,?\s+wait|wait,?\s+no|scratch that|strike that|sorry,?\s+i\s+mean[t]?|i\s+meant|correction\s*:|actually,?\s+no|no,?\s+actually"
    r"|or rather|make that|perdon,?\s+quise decir|quise decir|quiero decir|mejor dicho|no,?\s+espera|pardon,?\s+je voulais dire|je voulais dire"
    r"|je veux dire|ou plutot|non,?\s+attendez|non,?\s+attends|enfin non|ich meine|ich meinte|nein,?\s+warte|besser gesagt|korrektur\s*:"
    r"|quer dizer|quis dizer|ou melhor|alias|nao,?\s+espera|ik bedoel|ik bedoelde|nee,?\s+wacht|of eigenlijk|volevo dire|intendevo|anzi"
    r"|no,?\s+aspetta)(?![\w'])[\s,:;.!—–-]*"
)
# A condition turns an answer into "it depends": "unless", "only if", "as long as", "a condición de que".
_CONDITION_RE = re.compile(
    r"(?<![\w'])(?:unless|only if|as long as|provided that|providing|depending on|if needed|if necessary|a menos que|siempre que|solo si"
    r"|con tal de que|a condicion de|sauf si|a condition que|pourvu que|seulement si|es sei denn|solange|vorausgesetzt|nur wenn|falls"
    r"|tenzij|mits|alleen als|desde que|contanto que|so se|a meno che|purche|a patto che|solo se)(?![\w'])"
)
# A sentence ending in "?" (or opened with "¿"). Matches may start only where a sentence does: started anywhere, a
# failed match rescans the rest of its sentence from every letter, which took 80 s on one 200,000-letter word.
_QUESTION_RE = re.compile(r"(?:^|(?<=[.!?\n]))[^.!?\n]*\?|¿[^?¿]*\??")


def _folded_words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z']*", fold(text))


def unaccounted(text: str, known: Iterable[str] = ()) -> list[str]:
    """The words of `text` that are neither filler nor `known` (folded words the reader recognised)."""
    known_words = {fold(word) for phrase in known for word in _folded_words(phrase)}
    return [word for word in _folded_words(text) if word not in FILLER_WORDS and word not in known_words and len(word) > 1]


def corrected(text: str) -> str:
    """The part of an answer after its last correction ("4 - no wait, 5" -> "5"); the answer itself when there is none."""
    folded = fold(text)
    last = None
    for last in _CORRECTION_RE.finditer(folded):
        pass
    if last is None or not text[last.end() :].strip():
        return text
    return text[last.end() :]


def has_condition(text: str) -> str | None:
    """The condition an answer sets ("unless", "only if"), which makes it something to confirm, or None."""
    found = _CONDITION_RE.search(fold(text))
    return found[0] if found else None


def without_questions(text: str) -> str:
    """The answer without the questions it asks ("est-ce que je peux être mentorée ?"): a question is no answer."""
    return _QUESTION_RE.sub(" ", text)


def asks_something(text: str) -> bool:
    """True when the text asks a question."""
    return bool(_QUESTION_RE.search(text))
