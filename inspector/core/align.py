"""The one key matcher: which state dict, and which keys of A and B are the same tensor.

Used by diff, export, check and series. After choosing the state dict in each file
(``choose_state_dict``), ``align_keys`` rewrites keys with named rules, in this order, and
reports every rule it applies:

1. drop wrapper tokens anywhere (``_orig_mod.``, ``_fsdp_wrapped_module.``,
   ``_checkpoint_wrapped_module.``) on the side that has them;
2. forced prefixes (``strip_a`` / ``strip_b``, the CLI's ``--strip-prefix-a/-b``);
3. strip repeated leading ``module.`` (DataParallel, DistributedDataParallel) from a side whose
   every key has it;
4. unless a prefix was forced: strip the one dominant leading prefix (``model.``, ``backbone.``,
   ``model.module.``, … found from the key sets) from one side, when it makes at least half of
   the smaller side's unmatched keys match.

``no_align`` skips 1, 3 and 4. ``disabled`` (rule names) switches individual rules off; they
are then listed in ``Alignment.disabled``. Two keys becoming one, or two different prefixes
matching equally well, raise ``CheckpointError``: the matcher never guesses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from inspector.core.errors import CheckpointError
from inspector.core.key_rules import Rule, apply_rules, has_prefix, rewrite
from inspector.core.state_dict_choice import StateDictView, choose_state_dict

__all__ = ["Alignment", "Rule", "StateDictView", "align_keys", "apply_rules", "choose_state_dict",
           "has_prefix", "matching_prefixes"]

WRAPPER_TOKENS = ("_orig_mod.", "_fsdp_wrapped_module.", "_checkpoint_wrapped_module.")
DATA_PARALLEL_PREFIX = "module."
SIDES = ("a", "b")


class Alignment:
    """How the keys of A and B were matched.

    ``rules``: the applied rules, in order. ``pairs``: ``(key, key_a, key_b)`` in A's order, with
    ``key`` the aligned dotted key. ``only_a`` / ``only_b``: original keys without a partner.
    ``aligned_a`` / ``aligned_b``: original key → aligned key for every key of that side.
    ``disabled``: rules that were found but switched off by name.
    """

    __slots__ = ("rules", "pairs", "only_a", "only_b", "aligned_a", "aligned_b", "disabled")

    def __init__(self, rules: list[Rule], pairs: list[tuple[str, str, str]], only_a: list[str],
                 only_b: list[str], aligned_a: dict[str, str], aligned_b: dict[str, str],
                 disabled: list[Rule]) -> None:
        self.rules = rules
        self.pairs = pairs
        self.only_a = only_a
        self.only_b = only_b
        self.aligned_a = aligned_a
        self.aligned_b = aligned_b
        self.disabled = disabled

    @property
    def matched(self) -> int:
        return len(self.pairs)

    def rules_for(self, side: str) -> list[Rule]:
        """The applied rules that rewrite keys of ``side`` ("a" or "b")."""
        return [rule for rule in self.rules if rule.side in (None, side)]

    def to_json(self) -> dict:
        """The ``alignment`` object of the diff contract."""
        return {"rules": [rule.name for rule in self.rules], "matched": self.matched,
                "only_a": len(self.only_a), "only_b": len(self.only_b)}

    def __repr__(self) -> str:
        return (f"Alignment(rules={[rule.name for rule in self.rules]!r}, matched={self.matched}, "
                f"only_a={len(self.only_a)}, only_b={len(self.only_b)})")


def align_keys(keys_a: Iterable[str], keys_b: Iterable[str], *, no_align: bool = False,
               strip_a: str | None = None, strip_b: str | None = None,
               disabled: Iterable[str] = ()) -> Alignment:
    """Match the keys of A and B (see the module docstring for the rules and their order)."""
    aligner = _Aligner(keys_a, keys_b, set(disabled))
    if not no_align:
        for side in SIDES:
            aligner.drop_wrapper_tokens(side)
    aligner.force_strip(strip_a, "a")
    aligner.force_strip(strip_b, "b")
    if not no_align:
        for side in SIDES:
            aligner.strip_data_parallel(side)
        if strip_a is None and strip_b is None:
            aligner.strip_dominant_prefix()
    return aligner.result()


class _Aligner:
    """The key sets as the rules so far left them: ``current[side]`` maps aligned → original."""

    def __init__(self, keys_a: Iterable[str], keys_b: Iterable[str], disabled: set[str]) -> None:
        self.current = {"a": {key: key for key in keys_a}, "b": {key: key for key in keys_b}}
        self.disabled_names = disabled
        self.applied: list[Rule] = []
        self.disabled: list[Rule] = []

    def offer(self, rule: Rule) -> bool:
        """Apply ``rule`` unless it is switched off; True when it changed some key."""
        if rule.name in self.disabled_names:
            self._note_disabled(rule)
            return False
        before = self.current[rule.side]
        after = rewrite(before, rule, rule.side.upper())
        if list(after) == list(before):
            return False
        self.current[rule.side] = after
        self.applied.append(rule)
        return True

    def _note_disabled(self, rule: Rule) -> None:
        if rule not in self.disabled:
            self.disabled.append(rule)

    def drop_wrapper_tokens(self, side: str) -> None:
        for token in WRAPPER_TOKENS:
            rule = Rule.drop_token(token, side)
            if any(rule.apply(key) != key for key in self.current[side]):
                self.offer(rule)

    def force_strip(self, prefix: str | None, side: str) -> None:
        if prefix is None:
            return
        rule = Rule.strip_prefix(prefix, side)
        if not any(has_prefix(key, rule.old) for key in self.current[side]):
            raise CheckpointError(f"no key of {side.upper()} starts with {rule.old!r}")
        self.offer(rule)

    def strip_data_parallel(self, side: str) -> None:
        keys = self.current[side]
        if not keys or not all(key.startswith(DATA_PARALLEL_PREFIX) for key in keys):
            return
        repeats = min(_leading_repeats(key, DATA_PARALLEL_PREFIX) for key in keys)
        self.offer(Rule.strip_prefix(DATA_PARALLEL_PREFIX * repeats, side))

    def strip_dominant_prefix(self) -> None:
        candidates = self._prefix_candidates()
        if not candidates:
            return
        best = max(candidates.values())
        top = [rule for rule, count in candidates.items() if count == best]
        if len(top) > 1:
            names = " and ".join(rule.name for rule in top)
            raise CheckpointError(f"ambiguous key alignment: {names} would each match {best} keys; "
                                  "choose with --strip-prefix-a/-b or --no-align")
        rule = top[0]
        trial = rewrite(self.current[rule.side], rule, rule.side.upper())
        if _match_count(trial, self.current[_other(rule.side)]) > self._matched():
            self.offer(rule)

    def _prefix_candidates(self) -> dict[Rule, int]:
        """Strip rules that would each make at least half the smaller side's unmatched keys match."""
        a, b = self.current["a"], self.current["b"]
        unmatched = {"a": [key for key in a if key not in b], "b": [key for key in b if key not in a]}
        if not unmatched["a"] or not unmatched["b"]:
            return {}
        needed = max(1, (min(len(unmatched["a"]), len(unmatched["b"])) + 1) // 2)
        candidates: dict[Rule, int] = {}
        for side in SIDES:
            targets = set(unmatched[_other(side)])
            for prefix, count in Counter(matching_prefixes(unmatched[side], targets)).items():
                rule = Rule.strip_prefix(prefix, side)
                if count < needed:
                    continue
                if rule.name in self.disabled_names:
                    self._note_disabled(rule)
                else:
                    candidates[rule] = count
        return candidates

    def _matched(self) -> int:
        return _match_count(self.current["a"], self.current["b"])

    def result(self) -> Alignment:
        a, b = self.current["a"], self.current["b"]
        pairs = [(key, original, b[key]) for key, original in a.items() if key in b]
        only_a = [original for key, original in a.items() if key not in b]
        only_b = [original for key, original in b.items() if key not in a]
        return Alignment(self.applied, pairs, only_a, only_b,
                         {original: key for key, original in a.items()},
                         {original: key for key, original in b.items()}, self.disabled)


def _other(side: str) -> str:
    return "b" if side == "a" else "a"


def _match_count(keys: dict[str, str], others: dict[str, str]) -> int:
    return sum(1 for key in keys if key in others)


def _leading_repeats(key: str, prefix: str) -> int:
    count = 0
    while key.startswith(prefix, count * len(prefix)):
        count += 1
    return count


def matching_prefixes(keys: list[str], targets: set[str]) -> Iterator[str]:
    """Each leading module path of a key whose removal leaves a key in ``targets``."""
    for key in keys:
        dot = key.find(".")
        while 0 <= dot < len(key) - 1:
            if key[dot + 1:] in targets:
                yield key[:dot + 1]
            dot = key.find(".", dot + 1)
