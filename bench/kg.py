"""Knowledge-graph embedding on WN18RR: negkit beside PyKEEN (its peer), same settings.

For each model (TransE, then RotatE) both train the same dimension, negatives per positive,
loss (self-adversarial negative sampling, Sun et al. 2019: γ inside the score for negkit,
PyKEEN's ``NSSALoss(margin=γ)``), batch size, Adam learning rate and epochs, with head/tail
corruption filtered against the training triples (negkit: exact on the device; PyKEEN: its
Bloom filterer).  Each (framework, model) runs in its own subprocess so that its peak memory
(``ru_maxrss``; ``torch.cuda.max_memory_allocated`` on a GPU) is its own.  Both models are
scored by negkit's filtered evaluator (:func:`negkit.kg.evaluate.link_prediction`), on
``--test-max`` test triples (all: 3,134) over head and tail prediction.

    python bench/kg.py --epochs 2 --dim 100 --negs 64 --threads 1 --test-max 500
    python bench/kg.py --device cuda --epochs 50 ...   # when a GPU is lent
    python bench/kg.py --interleave 3 --models transe  # epoch times only, alternated

``--interleave R`` measures epoch time only, in one process: R rounds, each one negkit epoch
then one PyKEEN epoch, and keeps each framework's fastest epoch after the first round, so that
both see the same load on a shared machine (separate processes, one after the other, can see
very different loads).

Prints, per run: seconds per epoch (the mean of the epochs after the first, which holds
PyKEEN's and torch's warm-up), the ratio PyKEEN / negkit (above 1: negkit is faster), peak
memory, filtered MRR and Hits@10; ``--out FILE`` also writes them as JSON.  PyKEEN comes with
``pip install negkit[bench]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch

GAMMA = {"transe": 6.0, "rotate": 6.0}


def _peak_mb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _evaluate(model_like, kg, args) -> dict:
    from negkit.kg.evaluate import link_prediction

    test = kg.test
    if args.test_max and args.test_max < len(test):
        test = test[np.sort(np.random.default_rng(0).choice(len(test), args.test_max, False))]
    out = link_prediction(model_like, test, kg.all_true(), batch_size=16)
    return {"mrr": out["mrr"], "hits@10": out["hits@10"], "test_triples": int(len(test))}


def run_negkit(kg, args) -> dict:
    from negkit.kg.train import KGSettings, train_kg
    from negkit.samplers import get_kg

    s = KGSettings(model=args.model, dim=args.dim, gamma=GAMMA[args.model], loss="logistic",
                   n_negs=args.negs, batch_size=args.batch, lr=args.lr, epochs=args.epochs,
                   device=args.device, threads=args.threads)  # fmt: skip
    sampler = get_kg("self_adversarial", alpha=args.alpha, filter="exact", seed=0)
    res = train_kg(kg, s, sampler, seed=0)
    secs = [h["seconds"] for h in res["history"]]
    torch.set_num_threads(args.threads)
    return {"epoch_seconds": secs, **_evaluate(res["model"], kg, args)}


class _PykeenAdapter(torch.nn.Module):
    """A PyKEEN model behind negkit's ``score_all`` (for the same evaluator)."""

    def __init__(self, model, n_entities, n_relations):
        super().__init__()
        self.m, self.n_entities, self.n_relations = model, n_entities, n_relations

    def score_all(self, anchor, r, side):
        hr = torch.stack([anchor, r], dim=1)
        if side == "tail":
            return self.m.score_t(hr)
        return self.m.score_h(torch.stack([r, anchor], dim=1))


def run_pykeen(kg, args) -> dict:
    from pykeen.losses import NSSALoss
    from pykeen.models import RotatE, TransE
    from pykeen.training import SLCWATrainingLoop
    from pykeen.triples import CoreTriplesFactory

    torch.manual_seed(0)
    tf = CoreTriplesFactory.create(torch.as_tensor(kg.train), kg.n_entities, kg.n_relations)
    loss = NSSALoss(margin=GAMMA[args.model], adversarial_temperature=args.alpha)
    cls = {"transe": TransE, "rotate": RotatE}[args.model]
    kw = {"scoring_fct_norm": 1} if args.model == "transe" else {}
    model = cls(triples_factory=tf, embedding_dim=args.dim, loss=loss, random_seed=0, **kw)
    model = model.to(args.device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loop = SLCWATrainingLoop(model=model, triples_factory=tf, optimizer=opt,
                             negative_sampler="basic",
                             negative_sampler_kwargs={"num_negs_per_pos": args.negs,
                                                      "corruption_scheme": ("head", "tail"),
                                                      "filtered": True})  # fmt: skip
    secs = []
    for epoch in range(args.epochs):  # num_epochs counts from the start when continuing
        t = time.perf_counter()
        loop.train(triples_factory=tf, num_epochs=epoch + 1, batch_size=args.batch,
                   use_tqdm=False, use_tqdm_batch=False, continue_training=epoch > 0)  # fmt: skip
        secs.append(time.perf_counter() - t)
    model.eval()
    return {"epoch_seconds": secs,
            **_evaluate(_PykeenAdapter(model, kg.n_entities, kg.n_relations).to(args.device),
                        kg, args)}  # fmt: skip


def interleaved(args) -> None:
    """One negkit epoch, then one PyKEEN epoch, ``args.interleave`` times; fastest kept."""
    from pykeen.losses import NSSALoss
    from pykeen.models import RotatE, TransE
    from pykeen.training import SLCWATrainingLoop
    from pykeen.triples import CoreTriplesFactory

    from negkit.data import registry
    from negkit.kg.train import KGSettings, train_kg
    from negkit.samplers import get_kg

    torch.set_num_threads(args.threads)
    kg = registry.load("wn18rr")
    for model_name in args.models.split(","):
        tf = CoreTriplesFactory.create(torch.as_tensor(kg.train), kg.n_entities, kg.n_relations)
        cls = {"transe": TransE, "rotate": RotatE}[model_name]
        kw = {"scoring_fct_norm": 1} if model_name == "transe" else {}
        loss = NSSALoss(margin=GAMMA[model_name], adversarial_temperature=args.alpha)
        pk = cls(triples_factory=tf, embedding_dim=args.dim, loss=loss, random_seed=0, **kw)
        loop = SLCWATrainingLoop(model=pk, triples_factory=tf,
                                 optimizer=torch.optim.Adam(pk.parameters(), lr=args.lr),
                                 negative_sampler="basic",
                                 negative_sampler_kwargs={"num_negs_per_pos": args.negs,
                                                          "corruption_scheme": ("head", "tail"),
                                                          "filtered": True})  # fmt: skip
        s = KGSettings(model=model_name, dim=args.dim, gamma=GAMMA[model_name],
                       n_negs=args.negs, batch_size=args.batch, lr=args.lr, epochs=1,
                       threads=args.threads)  # fmt: skip
        times: dict[str, list[float]] = {"negkit": [], "pykeen": []}
        for r in range(args.interleave):
            sampler = get_kg("self_adversarial", alpha=args.alpha, filter="exact", seed=r)
            times["negkit"].append(train_kg(kg, s, sampler, seed=r)["history"][0]["seconds"])
            t = time.perf_counter()
            loop.train(triples_factory=tf, num_epochs=r + 1, batch_size=args.batch,
                       use_tqdm=False, use_tqdm_batch=False, continue_training=r > 0)  # fmt: skip
            times["pykeen"].append(time.perf_counter() - t)
            print(f"{model_name} round {r}: negkit {times['negkit'][-1]:.1f} s, "
                  f"PyKEEN {times['pykeen'][-1]:.1f} s", flush=True)  # fmt: skip
        best = {k: min(v[1:] if len(v) > 1 else v) for k, v in times.items()}
        print(f"{model_name}: fastest epoch negkit {best['negkit']:.1f} s, PyKEEN "
              f"{best['pykeen']:.1f} s; PyKEEN / negkit = {best['pykeen'] / best['negkit']:.2f}",
              flush=True)  # fmt: skip


def worker(args) -> None:
    from negkit.data import registry

    torch.set_num_threads(args.threads)
    kg = registry.load("wn18rr")
    res = (run_negkit if args.framework == "negkit" else run_pykeen)(kg, args)
    res["peak_mb"] = _peak_mb(args.device)
    print("RESULT " + json.dumps(res))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="transe,rotate")
    p.add_argument("--frameworks", default="negkit,pykeen")
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--negs", type=int, default=64)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--test-max", type=int, default=500)
    p.add_argument("--out", default=None)
    p.add_argument("--interleave", type=int, default=0, metavar="R",
                   help="epoch times only: R alternating rounds in one process")  # fmt: skip
    p.add_argument("--framework", default=None, help=argparse.SUPPRESS)
    p.add_argument("--model", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.framework:
        return worker(args)
    if args.interleave:
        return interleaved(args)
    rows = []
    for model in args.models.split(","):
        for fw in args.frameworks.split(","):
            cmd = [sys.executable, __file__, "--framework", fw, "--model", model]
            for k in ("dim", "negs", "batch", "lr", "alpha", "epochs", "threads", "device",
                      "test_max"):  # fmt: skip
                cmd += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode or not lines:
                print(f"{fw} {model}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            r = {"framework": fw, "model": model, **json.loads(lines[-1][7:])}
            s = r["epoch_seconds"]
            r["seconds_per_epoch"] = float(np.mean(s[1:] if len(s) > 1 else s))
            rows.append(r)
            print(f"{fw:7s} {model:7s} {r['seconds_per_epoch']:8.1f} s/epoch  "
                  f"peak {r['peak_mb']:7.0f} MB  MRR {r['mrr']:.4f}  Hits@10 {r['hits@10']:.4f}",
                  flush=True)  # fmt: skip
    for model in args.models.split(","):
        by = {r["framework"]: r for r in rows if r["model"] == model}
        if "negkit" in by and "pykeen" in by:
            ratio = by["pykeen"]["seconds_per_epoch"] / by["negkit"]["seconds_per_epoch"]
            print(f"{model}: PyKEEN / negkit epoch time = {ratio:.2f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"settings": vars(args), "runs": rows}, f, indent=1)


if __name__ == "__main__":
    main()
