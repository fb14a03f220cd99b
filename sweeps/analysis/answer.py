"""The answer the question got where it was asked, against the evidence.

A seed question was answered in its thread (``studies.Answer``: the answer in a few words, and the
config it amounts to). :func:`check_answer` trains that config from the analysis's fresh seeds,
beside its other variants (`sweeps.analysis.explain`), and says whether the evidence agrees:

- ``agrees``: the answer makes the question's config escape. Where it changes several settings,
  each is put back in turn, to say which of them the escape needs;
- ``in part``: it does not escape, but the smallest fix changes some of the same settings;
- ``disagrees``: it does not escape, and the smallest fix changes none of its settings (or
  nothing escapes at all).

The evidence is the truth here: the sentence says plainly where it contradicts the thread.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from sweeps.analysis.evidence import change_text, differs, show

def check_answer(lab, answer, answer_params: Mapping[str, Any], fix: Sequence[str] | None, steps: int) -> dict:
    """Train the question's config with ``answer`` (``answer_params``: its config as a point of the space) and judge it.

    ``lab`` is the analysis's `sweeps.analysis.explain.Lab` (its question's params, repeats and stored runs);
    ``fix`` the settings of the smallest fix, None where no set of changes escapes; ``steps`` those
    every variant trains (the study's budget). Returns plain JSON: the answer, what it changes, how
    its config ended on each seed, the verdict and its sentence.
    """
    q, r = lab.question, lab.repeats
    changed = lab.differences(answer_params)
    out = {"text": answer.text, "source": answer.source, "changes": {k: answer_params[k] for k in changed},
           "changes_text": ", ".join(change_text(k, q[k], answer_params[k]) for k in changed), "steps": steps}
    said = f"{answer.source[0].upper()}{answer.source[1:]}, “{answer.text}”"
    if not changed:
        return out | {"verdict": "untested", "without": {},
                      "sentence": f"{said}, changes no setting this study's search space holds: not tested."}
    params = {**q, **out["changes"]}
    lab.train_params([params], r)
    tally = lab.tally_params(params)
    out |= tally.to_dict()
    head = f"{said}, as {out['changes_text']} on your config ({r} fresh seeds, {steps} steps):"
    if tally.escapes(r):
        without = {}
        if len(changed) > 1:  # which of its changes the escape needs: each put back in turn
            variants = {k: {**params, k: q[k]} for k in changed}
            lab.train_params(list(variants.values()), r)
            without = {k: lab.tally_params(v) for k, v in variants.items()}
        return out | {"verdict": "agrees", "without": {k: t.to_dict() for k, t in without.items()},
                      "sentence": f"{head} it escapes, {tally.fit_text()}. The evidence agrees."
                                  + _needed_text(q, without, r)}
    same = [k for k in changed if fix and k in fix]
    verdict = "in part" if same else "disagrees"
    sentence = (f"{head} it still ends {tally.modes_text()}. The evidence "
                f"{'agrees only in part' if same else 'disagrees'}:")
    if fix is None:
        sentence += " no set of changes toward the target config escapes reliably either."
    elif not fix:
        sentence += " your config escapes without any change."
    elif same:
        missing = [k for k in fix if k not in changed]
        other = [f"{k} to {show(lab.target[k], k)}" for k in same if differs(lab.target[k], answer_params[k])]
        sentence += (f" the smallest fix changes {_settings(same)} too" + (f" ({', '.join(other)})" if other else "")
                     + (f", but also needs {_settings(missing)}" if missing else "") + ".")
    else:
        sentence += f" the smallest fix ({_settings(fix)}) changes none of its settings."
    unused = [k for k in changed if fix and k not in fix]
    if unused:
        sentence += (f" Your config escapes without {_settings(unused)}: the smallest fix keeps "
                     + ", ".join(f"{k}={show(q[k], k)}" for k in unused) + ".")
    return out | {"verdict": verdict, "without": {}, "sentence": sentence}


def _needed_text(q: Mapping[str, Any], without: Mapping[str, Any], repeats: int) -> str:
    """`` Each change is needed: without x, ...`` or which are not, from the answer with each change put back."""
    if not without:
        return ""
    needed = {k: t for k, t in without.items() if not t.escapes(repeats)}
    spare = {k: t for k, t in without.items() if k not in needed}
    parts = []
    if needed:
        parts.append(("Each change is needed" if not spare else f"It needs {_settings(needed)}") + ": "
                     + "; ".join(f"without {k}, {t.modes_text()}" for k, t in needed.items()) + ".")
    if spare:
        parts.append(f"It does not need {_settings(spare)}: "
                     + "; ".join(f"with {k}={show(q[k], k)} kept, {t.fit_text()}" for k, t in spare.items()) + ".")
    return " " + " ".join(parts)


def _settings(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
