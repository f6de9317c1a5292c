"""λ sweep and refresh-interval sweep of the adaptive sampler (out of CI).

Chen et al. (WSDM 2018) draw a rank r with p(r) ∝ exp(-r/λ) from the sorted
lists of one dimension; λ sets how hard the negatives are (small λ: only the top
of the list).  negkit sets λ = lam_fraction · |V| unless ``lam`` is given.  The
sorted lists go stale as the model trains; they are rebuilt every
``refresh_every`` draws (default |V| ln |V|).

Each sweep is one ``negkit.study`` run (same settings, unigram^0.75 as the
reference), so it resumes and writes its own report::

    python bench/adaptive_sweep.py --out runs/adaptive_sweep            # the demo corpus
    python bench/adaptive_sweep.py --corpus $NEGKIT_DATA/text_corpus_en/en_corpus_5m.txt.xz \\
        --epochs 3 --seeds 2 --out runs/adaptive_sweep_5m
    python bench/adaptive_sweep.py --only timing --timing uniform,unigram,adaptive   # cost

It prints the final metrics of every setting (mean over seeds) at the end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from negkit.study import resources, run_study
from negkit.study.summary import fmt_mean_std, summarise
from negkit.study.word2vec_family import Word2VecFamily


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=None, help="default: the demo corpus")
    ap.add_argument("--max-lines", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument(
        "--lam-fractions",
        type=_floats,
        default=[0.001, 0.003, 0.01, 0.03, 0.1],
        help="λ / |V| values (default: 0.001,0.003,0.01,0.03,0.1)",
    )
    ap.add_argument(
        "--refresh",
        type=_floats,
        default=[1e4, 1e5, 1e6, 1e7],
        help="refresh intervals in draws, besides the default |V| ln |V|",
    )
    ap.add_argument("--only", choices=("lam", "refresh", "timing"), default=None)
    ap.add_argument(
        "--timing",
        default="uniform,unigram,adaptive",
        help="samplers timed side by side (one epoch each, order A B C C B A)",
    )
    ap.add_argument("--out", type=Path, default=Path("runs/adaptive_sweep"))
    args = ap.parse_args(argv)

    family = Word2VecFamily(
        corpus=args.corpus or resources.demo_corpus(),
        similarity=resources.similarity_sets(),
        analogy=resources.analogy_set(),
        dim=args.dim,
        workers=args.workers,
        max_lines=args.max_lines,
    )
    sweeps = {
        "lam": ["unigram"] + [f"adaptive:lam_fraction={f:g}" for f in args.lam_fractions],
        "refresh": ["unigram", "adaptive"]
        + [f"adaptive:refresh_every={int(r)}" for r in args.refresh],
    }
    if args.only == "timing":
        return side_by_side(family, args.timing.split(","))
    for name, specs in sweeps.items():
        if args.only and name != args.only:
            continue
        out = args.out / name
        res = run_study(
            family,
            specs,
            list(range(args.seeds)),
            args.epochs,
            out,
            command=" ".join(["python", *sys.argv]),
        )
        metrics = family.metric_names()
        print(f"\n## {name} sweep ({out / 'report.md'})")
        print("| setting | " + " | ".join(metrics) + " | train s |")
        print("|---" * (len(metrics) + 2) + "|")
        for s in summarise(res.runs, specs, metrics):
            cells = [fmt_mean_std(*s.final[m]) for m in metrics]
            print(
                f"| {s.sampler} | "
                + " | ".join(cells)
                + f" | {fmt_mean_std(*s.train_seconds, digits=1)} |"
            )
        if res.stopped:
            return 130
    return 0


def side_by_side(family: Word2VecFamily, specs: list[str]) -> int:
    """Time one training epoch per sampler in one process, in the order A B C C B A.

    On a shared machine the load drifts; the mirrored order gives every sampler
    the same average position, so the ratios are fairer than across a long study.
    """
    family.progress = False
    family.prepare()
    times: dict[str, list[float]] = {s: [] for s in specs}
    for spec in specs + specs[::-1]:
        secs: list[float] = []
        family.train(spec, 0, 1, lambda rec, secs=secs: secs.append(rec["train_seconds"]))
        times[spec].append(secs[-1])
        print(f"{spec}: {secs[-1]:.1f} s", flush=True)
    base = sum(times[specs[0]]) / 2
    print("\n| sampler | epoch seconds (two measurements) | ratio to " + specs[0] + " |")
    print("|---|---|---|")
    for spec, t in times.items():
        print(f"| {spec} | {t[0]:.1f}, {t[1]:.1f} | ×{sum(t) / 2 / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
